"""Output for people: tables and short summaries (colour only on a terminal).

Severity and status are always spelled out in words, so nothing depends on colour.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from workflow.config import terminal_columns
from workflow.schemas import (
    CourseRead,
    CourseSummary,
    FollowUpRead,
    MeasurementRead,
    PatientEventRead,
    PatientRead,
    SuspectedRelapse,
    VoidRead,
)


def _width() -> int | None:
    """Piped output is as wide as its content needs (COLUMNS, else 160), not 80 columns;
    a terminal's own width stands."""
    if sys.stdout.isatty():
        return None
    return terminal_columns() or 160


class Table(RichTable):
    """A rich table whose cells fold onto more lines instead of being cut with '…'."""

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("overflow", "fold")
        super().add_column(*args, **kwargs)


console = Console(highlight=False, width=_width())

SEVERITY_STYLE = {"block": "bold red", "warn": "yellow", "info": "cyan"}
OUTCOME_STYLE = {"supported": "green", "not_supported": "bold red", "needs_information": "yellow"}


def local(instant: datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def patient(p: PatientRead) -> None:
    height = f", {p.height_cm:g} cm" if p.height_cm else ""
    console.print(
        f"Patient [bold]{p.mrn}[/] {p.name}, born {p.birth_date}, {p.sex.value}, "
        f"{p.weight_kg:g} kg{height}, diabetes: {p.diabetes.value}"
    )
    if p.self_report != "none":
        console.print(
            f"Reports own outcomes by {p.self_report} (consent {p.self_report_consent_on})",
            style="dim",
        )


def patients(rows: list[PatientRead]) -> None:
    table = Table("MRN", "name", "born", "sex", "diabetes", title="Patients", title_justify="left")
    for p in rows:
        table.add_row(p.mrn, p.name, str(p.birth_date), p.sex.value, p.diabetes.value)
    console.print(table)


def voided(row: VoidRead) -> str:
    """A voided record's mark: who voided it and why."""
    return f"voided by {row.voided_by}: {row.void_reason}" if row.voided else ""


def measurements(rows: list[MeasurementRead]) -> None:
    if not rows:
        return
    table = Table(
        "id",
        "date",
        "HbA1c %",
        "monofilament",
        "by",
        "voided",
        title="Measurements",
        title_justify="left",
    )
    for m in rows:
        table.add_row(
            str(m.id),
            str(m.date),
            _num(m.hba1c_percent),
            _num(m.monofilament_sites_felt),
            m.actor,
            voided(m),
            style="dim" if m.voided else None,
        )
    console.print(table)


def _lab_text(lab: dict[str, Any] | None, key: str, unit: str) -> str:
    if lab is None:
        return "not recorded"
    when = f"of {lab['date']}" if lab.get("date") else "undated"
    note = f", {lab['note']}" if lab.get("note") else ""
    where = "request" if lab.get("from") == "request" else "measurements"
    return f"{lab[key]:g} {unit} ({when}, from the {where}{note})"


def _as_written(lab: dict[str, Any] | None, used: dict[str, Any] | None) -> str:
    """ "; the request said 60 mL/min of 2026-10-01" when the rules used another value."""
    if lab is None or (used is not None and used.get("from") == "request"):
        return ""
    unit, value = next((k, v) for k, v in lab.items() if k != "date")
    shown = {"ml_min": "mL/min", "percent": "%", "mmol_mol": "mmol/mol"}[unit]
    when = f"of {lab['date']}" if lab.get("date") else "undated"
    return f"; the request said {value:g} {shown} ({when})"


def request_lines(details: dict[str, Any] | None) -> list[str]:
    """The request as the reviewer needs it, whether or not a finding quotes it."""
    if details is None:
        return []
    meds = [
        f"{m['name']}"
        + (f" {m['mg_per_day']:g} mg/day" if m.get("mg_per_day") is not None else "")
        + (
            f" (not recognised: read as {m['matched']}, check the spelling)"
            if m.get("guessed")
            else (f" = {m['matched']}" if m.get("matched") and m["matched"] != m["name"] else "")
            + ("" if m.get("matched") else " (not recognised)")
        )
        for m in details["medications"]
    ]
    steroids = details.get("steroids") or {}
    intolerance = ", ".join(steroids.get("intolerance") or []) or "none"
    product = details["product"]
    matched = product.get("matched")
    bmi = details.get("bmi")
    hepatic = details.get("hepatic_disease")
    lines = [
        "  Request:",
        "    medications: " + ("; ".join(meds) or "none listed"),
        f"    steroids: trial {steroids.get('trial', 'not recorded')}; intolerance {intolerance}",
        "    creatinine clearance: "
        + _lab_text(details.get("creatinine_clearance"), "ml_min", "mL/min")
        + _as_written(
            details.get("creatinine_clearance_in_request"), details.get("creatinine_clearance")
        )
        + "; hepatic disease: "
        + ("not recorded" if hepatic is None else ("yes" if hepatic else "no")),
        "    HbA1c: "
        + _lab_text(details.get("hba1c"), "percent", "%")
        + _as_written(details.get("hba1c_in_request"), details.get("hba1c"))
        + f"; diabetes: {details.get('diabetes')}",
        "    thromboembolic risk factors: "
        + (", ".join(details["thromboembolic_risk_factors"]) or "none listed"),
        "    product: "
        + (
            f"{matched} ({product['stabiliser']}, {product['route']})"
            if matched
            else f"{product['name']} (not in the product vocabulary)"
        ),
        f"    weight: dosing {details['dosing_weight_kg']:g} kg, registered "
        f"{details['registered_weight_kg']:g} kg; height "
        + (f"{details['height_cm']:g} cm, BMI {bmi:g}" if bmi is not None else "not recorded"),
        f"    prescriber: {details['requested_by']}"
        + (
            f" (corrected to {details['corrected_requested_by']})"
            if details.get("corrected_requested_by")
            else ""
        )
        + f"; entered by: {details.get('entered_by')}",
    ]
    # Names are the user's own text: never read as console markup.
    return [escape(line) for line in lines]


def patient_history(rows: Iterable[PatientEventRead]) -> None:
    for e in rows:
        what = ", ".join(
            f"{k} {v['old']} -> {v['new']}" for k, v in sorted((e.changes or {}).items())
        )
        why = f" ({e.reason})" if e.reason else ""
        console.print(
            f"{e.at:%Y-%m-%d %H:%M} {e.trigger} by {e.actor}{': ' + what if what else ''}{why}"
        )


def requester(c: CourseRead) -> str:
    """The prescriber, and the recorded one when a correction named another."""
    if c.corrected_requested_by is None:
        return c.requested_by
    return f"{c.corrected_requested_by} (corrected; recorded as {c.requested_by})"


def course(c: CourseRead, zone: ZoneInfo) -> None:
    rec = c.recommendation
    lines = [
        f"[bold]Course {c.id}[/]  patient {c.mrn}  state [bold]{c.state}[/]",
        f"  {c.indication}"
        + (f" ({c.indication_detail})" if c.indication_detail else "")
        + f", CTCAE grade {c.severity_grade}; requested by {requester(c)} on {c.requested_on}",
        f"  {c.product}: {c.dose.g_per_kg_per_day:g} g/kg/day x {c.dose.days} days"
        f" = {c.dose.grams_per_day:g} g/day, {c.dose.total_grams:g} g in all"
        f" (dosing weight {c.dose.dosing_weight_kg:g} kg, {c.dose.weight_rule}"
        + (f", {c.dose.rounding}" if c.dose.rounding else "")
        + ")",
    ]
    lines += request_lines(c.request_details)
    if c.prior_course_id:
        lines.append(f"  re-treatment after course {c.prior_course_id}")
    if c.next_course_id:
        lines.append(f"  re-treated as course {c.next_course_id}")
    if c.awaiting_information:
        lines.append(f"  [yellow]waiting for information:[/] {c.awaiting_information}")
    if c.suspected_relapse:
        lines.append(f"  [yellow]suspected relapse:[/] {c.suspected_relapse.get('evidence', '')}")
    style = OUTCOME_STYLE.get(rec.outcome.value, "")
    lines.append(
        f"  Recommendation: [{style}]{rec.outcome.value}[/] "
        f"(policy {rec.policy_id} v{rec.policy_version}; a reviewer decides)"
    )
    for line in lines:
        console.print(line)
    for f in rec.findings:
        sev = SEVERITY_STYLE.get(f.severity.value, "")
        console.print(f"    [{sev}]{f.severity.value.upper():5}[/] {f.rule}: {f.message}")
        console.print(f"          source: {f.source}", style="dim")
        for advice in f.recommendations:
            console.print(f"          - {advice}")
    if c.infusions:
        title = f"Infusions ({c.dose.days_given} of {c.dose.days} days, {c.dose.grams_given:g} g)"
        table = Table(
            "day",
            "date",
            "grams",
            "lot",
            "by",
            "override",
            "voided",
            title=title,
            title_justify="left",
        )
        for i in c.infusions:
            table.add_row(
                str(i.day) if not i.voided else "",
                str(i.date),
                f"{i.grams:g}",
                i.lot or "",
                i.actor,
                i.override_reason or "",
                voided(i),
                style="dim" if i.voided else None,
            )
        console.print(table)
    if c.adverse_events:
        table = Table("date", "kind", "grade", "note", "by", title="Adverse events")
        for ae in c.adverse_events:
            table.add_row(str(ae.date), ae.kind, str(ae.grade), ae.note or "", ae.actor)
        console.print(table)
    # Patient-reported values are kept apart from what clinicians recorded.
    groups = (
        ("clinician", "Assessments (recorded by clinicians)"),
        ("patient", "Patient-reported outcomes (self-report form)"),
    )
    for source, title in groups:
        rows = [a for a in c.assessments if a.source == source]
        if not rows:
            continue
        table = Table(
            "id",
            "date",
            "VAS",
            "MRC sum",
            "walking m",
            "by",
            "voided",
            title=title,
            title_justify="left",
        )
        for a in rows:
            table.add_row(
                str(a.id),
                str(a.date),
                _num(a.vas),
                _num(a.mrc_sum),
                _num(a.walking_distance_m),
                a.actor,
                voided(a),
                style="dim" if a.voided else None,
            )
        console.print(table)
    if len(c.lineage) > 1:
        headers = ("course", "state", "last infusion", "baseline VAS", "lowest VAS (60 d)")
        table = Table(*headers, "response", "relapse", title="Lineage", title_justify="left")
        for e in c.lineage:
            table.add_row(
                f"{e.id}{' (this)' if e.current else ''}",
                e.state,
                str(e.last_infusion_date or ""),
                _num(e.baseline_vas),
                _num(e.lowest_vas),
                "responder" if e.responder else ("no response" if e.lowest_vas is not None else ""),
                str(e.relapse_date or ""),
            )
        console.print(table)
    if c.followups:
        followups(c.followups, title="Follow-ups")
    table = Table("entered", "date", "change", "by", "why", title="History", title_justify="left")
    for h in c.history:
        change = h.trigger if h.from_ == h.to else f"{h.from_ or '-'} -> {h.to}"
        table.add_row(local(h.at, zone), str(h.date or ""), change, h.actor, h.reason or "")
    console.print(table)
    if c.allowed_actions:
        console.print(f"  next possible: {', '.join(c.allowed_actions)}", style="dim")


def change(c: CourseRead, zone: ZoneInfo) -> None:
    """After a change: the course in one line, what just happened, and what may follow."""
    last = c.history[-1]
    moved = last.trigger if last.from_ == last.to else f"{last.from_} -> {last.to}"
    console.print(
        f"[bold]Course {c.id}[/] ({c.mrn}, {c.indication}) is now [bold]{c.state}[/]: {moved}"
        + (f" on {last.date}" if last.date else "")
        + (f" - {last.reason}" if last.reason else "")
    )
    open_followups = [f for f in c.followups if f.status in ("scheduled", "raised")]
    if open_followups and last.to == "monitoring" and last.from_ != "monitoring":
        followups(open_followups, title="Follow-ups planned")
    if c.allowed_actions:
        console.print(f"  next possible: {', '.join(c.allowed_actions)}", style="dim")


def _num(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


def course_list(rows: Iterable[CourseSummary], zone: ZoneInfo) -> None:
    table = Table("id", "mrn", "patient", "state", "indication", "requested on", "entered", "flags")
    count = 0
    for r in rows:
        flags = []
        if r.awaiting_information:
            flags.append("waiting for information")
        if r.suspected_relapse:
            flags.append("suspected relapse")
        table.add_row(
            str(r.id),
            r.mrn,
            r.patient_name or "",
            r.state,
            r.indication,
            str(r.requested_on or ""),
            local(r.requested_at, zone),
            ", ".join(flags),
        )
        count += 1
    console.print(table)
    console.print(f"{count} course(s)", style="dim")


def followups(rows: Iterable[FollowUpRead], title: str | None = None) -> None:
    # Imported here: the self-report service loads the review policy (YAML), which
    # ``patient show`` and ``course show`` do not need at start-up.
    from workflow.service.selfreport import SELF_REPORT_WORDS as self_report_words

    table = Table(
        "id",
        "due",
        "kind",
        "mrn",
        "course",
        "status",
        "overdue",
        "patient's report",
        title=title,
        title_justify="left",
    )
    count = 0
    for r in rows:
        overdue = f"{r.days_overdue} d" if r.days_overdue else ""
        table.add_row(
            str(r.id),
            str(r.due_date),
            r.kind,
            r.mrn,
            str(r.course_id or "patient"),
            r.status,
            overdue,
            self_report_words.get(r.self_report or "", ""),
        )
        count += 1
    console.print(table)
    if title is None:
        console.print(f"{count} follow-up(s)", style="dim")


def suspected(rows: Iterable[SuspectedRelapse]) -> None:
    title = "Suspected relapses: confirm (course relapse) or dismiss (course dismiss-relapse)"
    table = Table("course", "mrn", "indication", "evidence", title=title, title_justify="left")
    for r in rows:
        table.add_row(str(r.course_id), r.mrn, r.indication, r.evidence)
    console.print(table)
