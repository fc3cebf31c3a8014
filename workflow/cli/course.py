"""``ivig course …``: a course from request to re-treatment."""

from __future__ import annotations

from typing import Annotated

import typer

from workflow.catalogue import Scope
from workflow.cli import render
from workflow.cli.actions import (
    FileOpt,
    add_commands,
    change_course,
    print_course,
    request_document,
)
from workflow.cli.common import (
    RUNTIME,
    ActorOpt,
    JsonOpt,
    emit_json,
    parse_date,
    read,
    run,
    wants_json,
)
from workflow.read import queries

app = typer.Typer(help="Request, review, infuse and follow an IVIG course.", no_args_is_help=True)


def _show(course_id: int, json_out: bool) -> None:
    clock = RUNTIME.clock
    result = read(
        lambda s: queries.show_course(session=s, course_id=course_id, today=clock.today())
    )
    print_course(result, json_out)


@app.command("request")
def request(file: FileOpt, actor: ActorOpt = None, json_out: JsonOpt = False) -> None:
    """Record a request for an IVIG course (state: requested)."""
    from workflow.review import load_policy
    from workflow.service import courses

    data = request_document(file)
    by, clock, policy = RUNTIME.actor(actor), RUNTIME.clock, load_policy()
    change_course(
        lambda s: courses.request_course(session=s, data=data, by=by, clock=clock, policy=policy),
        json_out,
        whole=True,
    )


@app.command("template")
def template(
    mrn: Annotated[str | None, typer.Option(help="The patient's MRN to fill in.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Print a filled-in example request document (see docs/request.md); edit it and
    pass it to ``course request --file``."""
    from workflow.request_doc import example

    weight = read(lambda s: queries.registered_weight(s, mrn)) if mrn else None
    emit_json(example(mrn=mrn, today=RUNTIME.clock.today(), weight_kg=weight))


@app.command("list")
def list_(
    mrn: Annotated[str | None, typer.Option(help="Only this patient's courses.")] = None,
    state: Annotated[str | None, typer.Option(help="Only courses in this state.")] = None,
    limit: Annotated[
        int | None, typer.Option(help="Only the newest N (default: all).", min=1)
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List courses, newest first."""
    rows = read(lambda s: queries.list_courses(session=s, mrn=mrn, state=state, limit=limit))
    if wants_json(json_out):
        emit_json([r.model_dump(mode="json", include=_LIST_FIELDS | _FLAGS) for r in rows])
    else:
        render.course_list(rows, RUNTIME.settings.zone)


_LIST_FIELDS = {"id", "mrn", "state", "indication", "requested_at", "requested_on", "patient_name"}
_FLAGS = {"awaiting_information", "suspected_relapse"}


@app.command("show")
def show(
    course_id: Annotated[int, typer.Argument(metavar="ID")], json_out: JsonOpt = False
) -> None:
    """Show a course: dose, recommendation, history, infusions, assessments, follow-ups."""
    _show(course_id, json_out)


@app.command("expire-lapsed")
def expire_lapsed(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Expire as of this date (default: today).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Expire every approval that lapsed (the scheduler does this daily).

    Not a catalogue action: it has no one target, it acts on every lapsed course.
    """
    from workflow.review import load_policy
    from workflow.service import safety

    clock, policy = RUNTIME.clock, load_policy()
    when = parse_date(as_of, "as-of") if as_of else clock.today()
    rows = run(
        lambda s: [
            {
                "id": c.id,
                "mrn": c.patient.mrn,
                "approved_on": c.approved_on.isoformat() if c.approved_on else None,
                "state": c.state,
            }
            for c in safety.expire_lapsed(session=s, as_of=when, clock=clock, policy=policy)
        ]
    )
    if wants_json(json_out):
        emit_json(rows)
        return
    if not rows:
        typer.echo(f"No approval had lapsed by {when.isoformat()}.")
    for row in rows:
        typer.echo(
            f"course {row['id']} ({row['mrn']}): approval of {row['approved_on']} lapsed; expired"
        )


# Every other course action: one command per catalogue entry (workflow/catalogue.py).
add_commands(app, Scope.COURSE)
