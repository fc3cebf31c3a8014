"""``ivig report …``: programme-level figures over many courses (read only)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from workflow.cli.common import RUNTIME, JsonOpt, emit_json, parse_date, read, wants_json
from workflow.cli.render import Table, console
from workflow.errors import InvalidInput
from workflow.reports.completeness import CompletenessReport, completeness_report
from workflow.reports.figures import ALL, FIGURE_NAMES
from workflow.reports.relapse import RelapseReport, csv_text, relapse_report
from workflow.review.policy import load_policy

app = typer.Typer(
    help="Reports: response, relapse, outcome completeness, safety and product lots.",
    no_args_is_help=True,
)

AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Report as things stood on this date (default: today)."),
]
CsvOpt = Annotated[
    Path | None, typer.Option("--csv", help="Also write the figures to this CSV file.")
]
PlotOpt = Annotated[
    Path | None,
    typer.Option("--plot", help="Also write a Kaplan-Meier plot of time to relapse (PNG)."),
]


def _as_of(value: str | None) -> date:
    return parse_date(value, "as-of") if value else RUNTIME.clock.today()


def _write(path: Path, option: str, writer: Callable[[Path], object]) -> None:
    try:
        writer(path)
    except OSError as exc:
        raise InvalidInput(f"{option}: cannot write {path} ({exc.strerror}).") from None


@app.command("relapse")
def relapse(
    as_of: AsOfOpt = None, csv: CsvOpt = None, plot: PlotOpt = None, json_out: JsonOpt = False
) -> None:
    """Response, relapse and time to relapse, overall and by indication."""
    when = _as_of(as_of)
    motor = load_policy().motor_response
    report = read(lambda s: relapse_report(s, when, motor))
    if csv is not None:
        _write(csv, "csv", lambda p: p.write_text(csv_text(report), encoding="utf-8"))
    if plot is not None:
        from workflow.reports.plot import write_km_plot

        _write(plot, "plot", lambda p: write_km_plot(report.times, p, as_of=when))
    if wants_json(json_out):
        emit_json(report.as_json())
        return
    _print_relapse(report)
    for path in (csv, plot):
        if path is not None:
            console.print(f"wrote {path}", style="dim")


FIGURE_LABELS = {
    "courses_monitored": "courses monitored",
    "assessed": "VAS within 60 d",
    "responders": "responders (-30 %)",
    "motor_responders": "motor responders",
    "relapses": "relapses",
    "relapse_rate": "relapse rate",
    "median_months_to_relapse": "median months (KM)",
    "median_months_to_relapse_ci95_lower": "  95 % CI lower",
    "median_months_to_relapse_ci95_upper": "  95 % CI upper",
    "response_rate_30": "response rate -30 %",
    "responders_50": "responders (-50 %)",
    "response_rate_50": "response rate -50 %",
    "retreatments": "re-treatments",
    "retreatment_responders": "re-treat. responders",
    "retreatment_response_rate": "re-treat. resp. rate",
}
#: Column headers short enough for an 80-column terminal.
SHORT_INDICATION = {
    "diabetic_symmetric_polyneuropathy": "sym. DPN",
    "lumbosacral_plexus_neuritis": "plexus neuritis",
    "ici_neuropathy": "ICI",
}


def _cell(name: str, value: object) -> str:
    if value is None:
        return "n.r." if "months" in name else "-"
    if isinstance(value, float):
        return f"{value:.1f}" if "months" in name else f"{value:.0%}"
    return str(value)


def _print_relapse(report: RelapseReport) -> None:
    groups = {ALL: report.overall.as_json()} | {
        name: f.as_json() for name, f in report.by_indication.items()
    }
    table = Table(title=f"Relapse report as of {report.as_of}", title_justify="left")
    table.add_column("", no_wrap=True)
    for name in groups:
        table.add_column(SHORT_INDICATION.get(name, name), justify="right")
    for name in FIGURE_NAMES:
        table.add_row(FIGURE_LABELS[name], *(_cell(name, g[name]) for g in groups.values()))
    console.print(table)
    console.print(
        "Responder: lowest VAS within 60 days after the last infusion at most 70 % of "
        "baseline. Motor responder: MRC sum or walking distance improved by the policy's "
        "thresholds in the same window. Time to relapse counts from the last infusion; "
        "courses closed or still in remission are censored. KM: Kaplan-Meier; "
        "CI: confidence interval; n.r.: not reached.",
        style="dim",
    )


@app.command("completeness")
def completeness(as_of: AsOfOpt = None, json_out: JsonOpt = False) -> None:
    """Share of due reassessments actually recorded, by coordinator, with the missing ones."""
    when = _as_of(as_of)
    report = read(lambda s: completeness_report(s, when))
    if wants_json(json_out):
        emit_json(report.as_json())
        return
    _print_completeness(report)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _print_completeness(report: CompletenessReport) -> None:
    table = Table(
        "coordinator",
        "due",
        "recorded",
        "by patient",
        "by clinician",
        "missing",
        "completeness",
        title=f"Reassessments due by {report.as_of}",
        title_justify="left",
    )
    for name, tally in [*report.by_coordinator.items(), ("all", report.overall)]:
        table.add_row(
            name,
            str(tally.due),
            str(tally.recorded),
            str(tally.by_patient),
            str(tally.by_clinician),
            str(tally.missing),
            _share(tally.completeness),
        )
    console.print(table)
    if not report.missing:
        console.print("No reassessment is missing.", style="dim")
        return
    missing = Table(title="Missing reassessments", title_justify="left")
    for header in ("follow-up", "course", "mrn", "kind", "due", "overdue", "coordinator"):
        # Fold rather than cut: an id or a name must never be shown truncated.
        missing.add_column(header, overflow="fold")
    for m in report.missing:
        missing.add_row(
            str(m.followup_id),
            str(m.course_id),
            m.mrn,
            m.kind,
            str(m.due_date),
            f"{m.days_overdue} d" + (" (patient answered)" if m.answered_by_patient else ""),
            m.coordinator,
        )
    console.print(missing)


@app.command("safety")
def safety(as_of: AsOfOpt = None, json_out: JsonOpt = False) -> None:
    """Adverse events per 100 treated courses, by kind and CTCAE grade."""
    from workflow.reports.safety import GRADES, safety_report

    when = _as_of(as_of)
    report = read(lambda s: safety_report(s, when))
    if wants_json(json_out):
        emit_json(report)
        return
    per = "-" if report.per_100_courses is None else f"{report.per_100_courses:g}"
    console.print(
        f"Adverse events by {report.as_of}: {report.events} in {report.courses_treated} "
        f"treated courses ({per} per 100 courses; {report.courses_with_event} courses with one)"
    )
    table = Table(
        "kind", "events", "per 100", *(f"grade {g}" for g in GRADES), title_justify="left"
    )
    for kind, rate in report.by_kind.items():
        table.add_row(
            kind,
            str(rate.events),
            "-" if rate.per_100_courses is None else f"{rate.per_100_courses:g}",
            *(str(rate.by_grade[str(g)].events) for g in GRADES),
        )
    console.print(table)


@app.command("lot")
def lot(
    lot: Annotated[str, typer.Argument(metavar="LOT", help="The product lot number.")],
    json_out: JsonOpt = False,
) -> None:
    """Every patient, course and day that received a product lot (for a recall)."""
    from workflow.reports.safety import lot_report

    if not lot.strip():
        raise InvalidInput("lot: must not be empty.")
    report = read(lambda s: lot_report(s, lot))
    if wants_json(json_out):
        emit_json(report)
        return
    console.print(
        f"Lot {report.lot}: {len(report.infusions)} infusion days, {report.courses} courses, "
        f"{report.patients} patients"
    )
    if report.infusions:
        table = Table("date", "mrn", "name", "course", "day", "grams", "course state")
        for r in report.infusions:
            table.add_row(
                str(r.date),
                r.mrn,
                r.name,
                str(r.course_id),
                str(r.day),
                f"{r.grams:g}",
                r.course_state,
            )
        console.print(table)
