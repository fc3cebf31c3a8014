"""``ivig followups …``: the coordinator's worklist of due follow-ups."""

from __future__ import annotations

from typing import Annotated

import typer

from workflow.cli import render
from workflow.cli.common import RUNTIME, JsonOpt, emit_json, parse_date, run, wants_json
from workflow.service import queries

app = typer.Typer(help="Follow-ups due after a course, and their reminders.", no_args_is_help=True)


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
    json_out: JsonOpt = False,
) -> None:
    """The worklist: follow-ups sorted by due date, with days overdue."""
    before = parse_date(due_before, "due-before") if due_before else None
    today = RUNTIME.clock.today()
    rows = run(
        lambda s: queries.list_followups(
            session=s, mrn=mrn, course_id=course, status=status, due_before=before, today=today
        )
    )
    if wants_json(json_out):
        emit_json([r.model_dump(mode="json") for r in rows])
    else:
        render.followups(rows)
