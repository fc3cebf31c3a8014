"""``ivig followups …``: the coordinator's worklist, the plan, and raising due follow-ups."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated, Any

import typer
from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import Session

from workflow.cli import render
from workflow.cli.common import RUNTIME, JsonOpt, emit_json, parse_date, read, wants_json
from workflow.followups import (
    COMPLETION_WINDOW_DAYS,
    ESCALATION_AFTER_DAYS,
    PLAN,
    WORKLIST_GROUPS,
    FollowUpKind,
    worklist_group,
)
from workflow.read import queries
from workflow.schemas import FollowUpRead, SuspectedRelapse

app = typer.Typer(help="Follow-ups due after a course, and their reminders.", no_args_is_help=True)

AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="The date to judge by (YYYY-MM-DD; default: today)."),
]
#: The worklist's groups, in the order a coordinator works through them.
GROUPS = WORKLIST_GROUPS


def _as_of(value: str | None) -> date:
    return parse_date(value, "as-of") if value else RUNTIME.clock.today()


def when(row: FollowUpRead, today: date) -> str:
    """Where a follow-up sits on the worklist on ``today``."""
    return worklist_group(row.status, row.due_date, today)


@app.command("list")
def list_(
    mrn: Annotated[str | None, typer.Option(help="Only this patient.")] = None,
    course: Annotated[int | None, typer.Option(help="Only this course.")] = None,
    status: Annotated[
        str | None, typer.Option(help="scheduled, raised, done or cancelled.")
    ] = None,
    due_before: Annotated[
        str | None, typer.Option(help="Only those due before this date (YYYY-MM-DD).")
    ] = None,
    as_of: AsOfOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The worklist: overdue, due today and upcoming follow-ups by due date."""
    before = parse_date(due_before, "due-before") if due_before else None
    today = _as_of(as_of)
    human = not wants_json(json_out)

    def query(s: Session) -> tuple[list[FollowUpRead], list[SuspectedRelapse]]:
        rows = queries.list_followups(
            session=s, mrn=mrn, course_id=course, status=status, due_before=before, today=today
        )
        # People also see the suspected relapses, read in the same transaction.
        flagged = queries.suspected_relapses(session=s, mrn=mrn, course_id=course) if human else []
        return rows, flagged

    rows, flagged = read(query)
    if not human:
        emit_json([{**r.model_dump(mode="json"), "when": when(r, today)} for r in rows])
        return
    if flagged:
        render.suspected(flagged)
    for group in GROUPS:
        members = [r for r in rows if when(r, today) == group]
        if members:
            render.followups(members, title=f"{group.capitalize()} ({len(members)}), as of {today}")
    render.console.print(f"{len(rows)} follow-up(s)", style="dim")


@app.command("raise")
def raise_(
    as_of: AsOfOpt = None,
    deliver: Annotated[
        bool,
        typer.Option(
            "--deliver/--no-deliver",
            help="Send the pending reminders now (default), or leave them to the scheduler.",
        ),
    ] = True,
    json_out: JsonOpt = False,
) -> None:
    """Raises every scheduled follow-up due on or before the date and sends its reminders."""
    from schedules.cycle import raise_then_deliver  # the channels (httpx, smtplib) load here
    from workflow.review import load_policy

    settings, clock = RUNTIME.settings, RUNTIME.clock
    day = _as_of(as_of)
    engine = RUNTIME.engine()
    as_json = wants_json(json_out)
    printed = 0

    def show(batch: list[FollowUpRead]) -> None:
        # Each batch is printed as soon as it is committed: a backlog of any size
        # streams out in the memory of one batch (JSON: one list, written piece by piece).
        nonlocal printed
        if as_json:
            for r in batch:
                record = json.dumps({**r.model_dump(mode="json"), "when": when(r, day)})
                sys.stdout.write(("[" if printed == 0 else ",\n") + record)
                printed += 1
            sys.stdout.flush()
        else:
            render.followups(batch, title=f"Raised, as of {day}" if printed == 0 else None)
            printed += len(batch)

    try:
        cycle = raise_then_deliver(
            engine,
            as_of=day,
            clock=clock,
            notify_urls=settings.notify_urls(),
            policy=load_policy(),
            outreach=settings.patient_outreach(),
            deliver=deliver,
            each_raised=show,
        )
    finally:
        if as_json and printed:  # what was committed is a whole JSON list, even on error
            sys.stdout.write("]\n")
    if as_json:
        if not printed:
            sys.stdout.write("[]\n")
        return
    result, overdue, report = cycle.raising, cycle.overdue_reviews, cycle.delivery
    summary = f"{result.raised_count} raised, {result.escalated_count} escalated"
    if overdue:
        summary += f", {len(overdue)} requests past the review deadline"
    if report is not None:
        summary += f"; reminders: {len(report.sent)} sent, {len(report.failed)} failed"
        if report.failed:
            summary += " (retried later; see 'ivig reminders list --status pending')"
    render.console.print(summary, style="dim")


def _describe(offset: relativedelta) -> str:
    # In months, as the contract writes them ("+12 months", not "+1 year").
    months = offset.years * 12 + offset.months
    parts = []
    for amount, unit in ((months, "month"), (offset.days, "day")):
        if amount:
            parts.append(f"{amount} {unit}{'s' if amount != 1 else ''}")
    return " ".join(parts) or "0 days"


def plan_entry(kind: FollowUpKind) -> dict[str, Any]:
    repeat = kind.repeat_every
    return {
        "kind": kind.kind,
        "level": kind.level.value,
        "due": f"L + {_describe(kind.first_due)}",
        "repeats": None if repeat is None else f"measurement date + {_describe(repeat)}",
        "completed_by": sorted(kind.completed_by),
        "diabetes_only": kind.diabetes_only,
        "safety_only": kind.safety_only,
        "what": kind.what,
        "source": kind.source,
    }


@app.command("plan")
def plan(json_out: JsonOpt = False) -> None:
    """The follow-up plan: each kind, when it falls due, and the statement it rests on."""
    entries = [plan_entry(k) for k in PLAN]
    if wants_json(json_out):
        emit_json(entries)
        return
    for e in entries:
        then = f", then {e['repeats']}" if e["repeats"] else ", once"
        who = "patients with diabetes" if e["diabetes_only"] else "every course"
        if e["safety_only"]:
            who = "a course stopped after an adverse event, patient at risk"
        render.console.print(f"[bold]{e['kind']}[/]: due {e['due']}{then} ({who})")
        render.console.print(f"  {e['what']}; completed by {', '.join(e['completed_by'])}")
        render.console.print(f"  source: {e['source']}", style="dim")
    render.console.print(
        "L is the course's last infusion date; months are calendar months clamped to the "
        f"month's end. A record completes follow-ups due up to {COMPLETION_WINDOW_DAYS} days "
        f"after it; one still open {ESCALATION_AFTER_DAYS} days after its due date is "
        "escalated once.",
        style="dim",
    )
