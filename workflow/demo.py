"""``ivig demo``: one realistic course walked from request to re-treatment.

It drives the real command line against a fresh SQLite file of its own (never the
database in IVIG_DATABASE_URL), printing each command and what a coordinator sees.
The clock is pinned so the output is the same on every run.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from workflow.config import get_settings, use_settings
from workflow.db import forget_engine
from workflow.errors import IvigError

DEMO_NOW = "2026-11-20T16:00:00+00:00"
#: The synthetic cohort's last day, and the date its relapse report is drawn up.
COHORT_END = date(2026, 11, 1)


class DemoFailed(IvigError):
    """A step of the demo did not do what the story needs (a regression)."""


REQUEST: dict[str, Any] = {
    "mrn": "DEMO-001",
    "indication": "dlrpn",
    "indication_detail": "painful asymmetric proximal weakness, right thigh",
    "severity_grade": 3,
    "product": "Octagam 10%",
    "dose_g_per_kg_per_day": 0.4,
    "days": 5,
    "repeat_every_weeks": None,
    "weight_kg": 82,
    "baseline": {"vas": 8, "mrc_sum": 46, "walking_distance_m": 120},
    "steroids": {"trial": "no_response", "intolerance": []},
    "medications": [{"name": "pregabalin", "mg_per_day": 300}],
    "creatinine_clearance_ml_min": 85,
    "hepatic_disease": False,
    "thromboembolic_risk_factors": [],
    "hba1c_percent": 6.9,
    "requested_by": "dr.okafor",
    "requested_on": "2025-09-01",
}


def _settings(**overrides: Any) -> Any:
    """The settings in force with ``overrides``: the demo installs them (use_settings)
    rather than changing the process's environment."""
    return use_settings(get_settings().model_copy(update=overrides))


def run_demo(
    database: Path, console: Console, invoke: Callable[[list[str]], int], *, report: bool = True
) -> None:
    """Walks the story; ``invoke`` runs one ``ivig`` command line and returns its exit code."""
    url = f"sqlite:///{database}"
    forget_engine(url)  # a pooled connection would still see the old file
    if database.exists():
        database.unlink()
    demo = {
        "database_url": url,
        "frozen_now": datetime.fromisoformat(DEMO_NOW),
        "actor": "coordinator.lee",
    }
    # The request files stay beside the database, so every printed command runs when pasted.
    with _settings(**demo):
        console.print("Every command below runs as printed, after:", style="dim")
        _command(console, ["export", f"IVIG_DATABASE_URL={url}"])
        first = database.with_name(database.stem + "-request.json")
        first.write_text(json.dumps(REQUEST, indent=2))
        again = {**REQUEST, "requested_on": "2026-07-01", "baseline": {"vas": 7, "mrc_sum": 50,
                 "walking_distance_m": 300}}  # fmt: skip
        second = database.with_name(database.stem + "-retreat.json")
        second.write_text(json.dumps(again, indent=2))

        def step(
            title: str, *argv: str, note: str = "", expect: int = 0, on: str | None = None
        ) -> None:
            if on is not None:  # the coordinator enters each event that evening
                demo["frozen_now"] = datetime.fromisoformat(f"{on}T17:30:00+00:00")
            console.rule(f"[bold]{title}")
            if note:
                console.print(note, style="italic")
            _command(console, ["ivig", *argv])
            with _settings(**demo):
                code = invoke(list(argv))
            if code != 0:
                console.print(f"(exit status {code}: refused, nothing was saved)", style="yellow")
            if code != expect:
                raise DemoFailed(f"demo: step '{title}' exited {code}, expected {expect}.")

        step("1. Create the database", "db", "upgrade", on="2025-09-01")
        step(
            "2. Register the patient",
            *("patient", "add", "--mrn", "DEMO-001", "--name", "Demo Patient"),
            *("--birth-date", "1961-05-14", "--sex", "male", "--weight-kg", "82"),
            *("--height-cm", "178", "--diabetes", "type2"),
            on="2025-09-01",
        )
        console.print(f"Request document ({first.name}):", style="dim")
        console.print_json(json.dumps(REQUEST))
        step(
            "3. Record the request: the rules recommend, a person decides",
            *("course", "request", "--file", str(first)),
            on="2025-09-01",
        )
        step(
            "4. The requester cannot approve their own request",
            *("course", "review", "1", "--decision", "approve", "--reviewer", "dr.okafor"),
            *("--note", "self-approval"),
            expect=1,
        )
        step(
            "5. A second clinician approves it",
            *("course", "review", "1", "--decision", "approve", "--reviewer", "dr.marsh"),
            *("--note", "asymmetric DLRPN, steroids failed; meets the guidance"),
            *("--date", "2025-09-03"),
            on="2025-09-03",
        )
        for day in range(1, 5):
            when = f"2025-09-{day + 7:02d}"
            step(f"6.{day} Infusion day {day}", "course", "infuse", "1",
                 "--date", when, "--grams", "32.8", on=when)  # fmt: skip
        step(
            "7. The fifth day ends the infusions: monitoring starts, follow-ups are planned",
            *("course", "infuse", "1", "--date", "2025-09-12", "--grams", "32.8"),
            on="2025-09-12",
        )
        step("8. Reassessment at two weeks", "course", "assess", "1",
             "--date", "2025-09-26", "--vas", "4", on="2025-09-26")  # fmt: skip
        step("9. Reassessment at one month", "course", "assess", "1", "--date", "2025-10-13",
             "--vas", "2", "--mrc-sum", "54", "--walking-distance-m", "600",
             on="2025-10-13")  # fmt: skip
        step("10. HbA1c three months on", "patient", "measure", "DEMO-001",
             "--date", "2025-12-10", "--hba1c", "6.8", on="2025-12-10")  # fmt: skip
        step("11. Nine months later the pain returns: a relapse", "course", "relapse", "1",
             "--date", "2026-06-20", "--note", "VAS back to 7, right thigh",
             on="2026-06-22")  # fmt: skip
        step(
            "12. Re-treatment: a new request linked to the first course",
            *("course", "retreat", "1", "--file", str(second)),
            note="The prior course's response is computed from its assessments.",
            on="2026-07-01",
        )
        step("13. Approved again", "course", "review", "2", "--decision", "approve",
             "--reviewer", "dr.marsh", "--note", "responded before (VAS 8 to 2)",
             "--date", "2026-07-02", on="2026-07-02")  # fmt: skip
        step("14. The coordinator's worklist of follow-ups", "followups", "list", on="2026-07-02")
        step("15. The first course, whole", "course", "show", "1")
        if report:
            _report_section(console, invoke, database)
    console.rule("[bold]What to try next")
    console.print(
        f"Everything above is in {database}. Look around with, for example:\n"
        f"  {shlex.join(['export', f'IVIG_DATABASE_URL={url}'])}\n"
        "  ivig course list\n"
        "  ivig course show 2 --json\n"
        "  ivig course infuse 2 --date 2026-07-06 --grams 32.8\n"
        "  ivig followups list --mrn DEMO-001\n"
        "Your own patients go in a database of your own: with IVIG_DATABASE_URL unset,\n"
        "ivig.db in the current directory. `ivig --help` lists every command."
    )


def _command(console: Console, argv: list[str]) -> None:
    """Prints a command line shell-quoted, unwrapped and without markup: it runs when pasted."""
    console.print(
        "$ " + shlex.join(argv),
        style="bold cyan",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _report_section(console: Console, invoke: Callable[[list[str]], int], database: Path) -> None:
    """Ends the demo with the relapse report over a synthetic cohort, when reports exist."""
    try:
        from workflow.synthetic import make_cohort  # noqa: F401
    except ImportError:
        return
    cohort_db = database.with_name(database.stem + "-cohort.db")
    plot = database.with_name(database.stem + "-relapse.png")
    url = f"sqlite:///{cohort_db}"
    forget_engine(url)
    if cohort_db.exists():
        cohort_db.unlink()
    with _settings(database_url=url) as settings:
        console.rule("[bold]16. A programme's view: the relapse report over a synthetic cohort")
        from workflow.db import EngineOptions, engine_for, upgrade
        from workflow.synthetic import make_cohort as build

        engine = engine_for(url, EngineOptions.from_settings(settings))
        upgrade(engine)
        build(engine, patients=60, seed=7, clock_end=COHORT_END)
        as_of = COHORT_END.isoformat()
        _command(console, ["export", f"IVIG_DATABASE_URL={url}"])
        _command(console, ["ivig", "report", "relapse", "--as-of", as_of, "--plot", str(plot)])
        invoke(["report", "relapse", "--as-of", as_of, "--plot", str(plot)])
        console.print(f"(cohort in {cohort_db}; Kaplan-Meier plot in {plot})", style="dim")
