"""``ivig course …``: a course from request to re-treatment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from workflow.cli import render
from workflow.cli.common import (
    RUNTIME,
    ActorOpt,
    JsonOpt,
    emit_json,
    parse_date,
    read,
    read_document,
    run,
    wants_json,
)
from workflow.models import Course
from workflow.review import load_policy
from workflow.schemas import CourseRead, CourseRequestIn
from workflow.service import corrections, courses, monitoring, queries, treatment
from workflow.validation import validate

app = typer.Typer(help="Request, review, infuse and follow an IVIG course.", no_args_is_help=True)

FileOpt = Annotated[str, typer.Option("--file", help="The request document (JSON); - for stdin.")]
DateOpt = Annotated[str, typer.Option("--date", help="Clinical date, YYYY-MM-DD.")]
WhenOpt = Annotated[
    str | None, typer.Option("--date", help="Clinical date, YYYY-MM-DD (default: today).")
]


def _on(value: str | None) -> date | None:
    return parse_date(value) if value is not None else None


class Decision(StrEnum):
    APPROVE = "approve"
    DENY = "deny"
    INFO = "info"


def _show(course_id: int, json_out: bool) -> None:
    clock = RUNTIME.clock
    result = read(
        lambda s: queries.show_course(session=s, course_id=course_id, today=clock.today())
    )
    _print(result, json_out)


def _print(result: CourseRead, json_out: bool) -> None:
    if wants_json(json_out):
        emit_json(result)
    else:
        render.course(result, RUNTIME.settings.zone)


def _change(action: Callable[[Session], Course], json_out: bool, *, whole: bool = False) -> None:
    """Runs one use-case and prints the course (JSON: as ``course show``), read in the
    same transaction, so what is printed is exactly what was committed."""
    today = RUNTIME.clock.today()
    result = run(lambda s: queries.course_read(s, action(s), today=today))
    if whole or wants_json(json_out):
        _print(result, json_out)
    else:
        render.change(result, RUNTIME.settings.zone)


def _request_document(path: str) -> CourseRequestIn:
    document = read_document(path)
    if not isinstance(document, dict):
        from workflow.errors import InvalidInput

        raise InvalidInput("file: the request document must be a JSON object.")
    return validate(CourseRequestIn, document)  # type: ignore[no-any-return]


@app.command("request")
def request(file: FileOpt, actor: ActorOpt = None, json_out: JsonOpt = False) -> None:
    """Record a request for an IVIG course (state: requested)."""
    data = _request_document(file)
    by, clock, policy = RUNTIME.actor(actor), RUNTIME.clock, load_policy()
    _change(
        lambda s: courses.request_course(session=s, data=data, by=by, clock=clock, policy=policy),
        json_out,
        whole=True,
    )


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


_LIST_FIELDS = {"id", "mrn", "state", "indication", "requested_at"}
_FLAGS = {"awaiting_information", "suspected_relapse"}


@app.command("show")
def show(
    course_id: Annotated[int, typer.Argument(metavar="ID")], json_out: JsonOpt = False
) -> None:
    """Show a course: dose, recommendation, history, infusions, assessments, follow-ups."""
    _show(course_id, json_out)


@app.command("review")
def review(
    course_id: Annotated[int, typer.Argument(metavar="ID")],
    decision: Annotated[
        Decision,
        typer.Option(help="approve, deny, or info (ask the requester for more information)."),
    ],
    reviewer: Annotated[str, typer.Option(help="The reviewer (not the requester).")],
    note: Annotated[str, typer.Option(help="Why; for 'info', the question to answer.")],
    override_reason: Annotated[
        str | None, typer.Option(help="Needed to approve against the recommendation.")
    ] = None,
    date: WhenOpt = None,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Decide on a request: approve, deny, or ask for information."""
    on, by, clock = _on(date), RUNTIME.actor(actor), RUNTIME.clock
    _change(
        lambda s: courses.review(
            session=s,
            course_id=course_id,
            decision=decision.value,
            reviewer=reviewer,
            note=note,
            override_reason=override_reason,
            on=on,
            by=by,
            clock=clock,
        ),
        json_out,
    )


@app.command("amend")
def amend(
    course_id: Annotated[int, typer.Argument(metavar="ID")],
    file: FileOpt,
    note: Annotated[str | None, typer.Option(help="The answer, or what changed.")] = None,
    date: WhenOpt = None,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Answer a reviewer's question or correct a request still awaiting review."""
    data = _request_document(file)
    on, by, clock, policy = _on(date), RUNTIME.actor(actor), RUNTIME.clock, load_policy()
    _change(
        lambda s: courses.amend(
            session=s,
            course_id=course_id,
            data=data,
            note=note,
            by=by,
            clock=clock,
            policy=policy,
            on=on,
        ),
        json_out,
    )


@app.command("infuse")
def infuse(
    course_id: Annotated[int, typer.Argument(metavar="ID")],
    date: DateOpt,
    grams: Annotated[float, typer.Option(help="Grams given that day.")],
    override_reason: Annotated[
        str | None, typer.Option(help="Needed when grams are >10 % from the plan.")
    ] = None,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record one infusion day."""
    on, by, clock = parse_date(date), RUNTIME.actor(actor), RUNTIME.clock
    _change(
        lambda s: treatment.infuse(
            session=s,
            course_id=course_id,
            on=on,
            grams=grams,
            override_reason=override_reason,
            by=by,
            clock=clock,
        ),
        json_out,
    )


@app.command("stop")
def stop(
    course_id: Annotated[int, typer.Argument(metavar="ID")],
    date: DateOpt,
    reason: Annotated[str, typer.Option(help="Why the infusions stopped.")],
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Stop a course during its infusions (infusing -> discontinued)."""
    on, by, clock = parse_date(date), RUNTIME.actor(actor), RUNTIME.clock
    _change(
        lambda s: treatment.stop(
            session=s, course_id=course_id, on=on, reason=reason, by=by, clock=clock
        ),
        json_out,
    )


@app.command("assess")
def assess(
    course_id: Annotated[int, typer.Argument(metavar="ID")],
    date: DateOpt,
    vas: Annotated[float | None, typer.Option(help="Pain, 0-10.")] = None,
    mrc_sum: Annotated[int | None, typer.Option(help="MRC sum score, 0-60.")] = None,
    walking_distance_m: Annotated[float | None, typer.Option(help="Metres walked.")] = None,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record an outcome assessment after the course."""
    on, by, clock = parse_date(date), RUNTIME.actor(actor), RUNTIME.clock
    policy = load_policy()

    def action(s: Session) -> Course:
        row = monitoring.assess(
            session=s,
            course_id=course_id,
            on=on,
            vas=vas,
            mrc_sum=mrc_sum,
            walking_distance_m=walking_distance_m,
            by=by,
            clock=clock,
            policy=policy,
        )
        return s.get_one(Course, row.course_id)

    _change(action, json_out)


@app.command("relapse")
def relapse(
    course_id: Annotated[int, typer.Argument(metavar="ID")],
    date: DateOpt,
    note: Annotated[str | None, typer.Option(help="What was seen.")] = None,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record a relapse (monitoring -> relapsed)."""
    on, by, clock = parse_date(date), RUNTIME.actor(actor), RUNTIME.clock
    _change(
        lambda s: monitoring.relapse(
            session=s, course_id=course_id, on=on, note=note, by=by, clock=clock
        ),
        json_out,
    )


@app.command("dismiss-relapse")
def dismiss_relapse(
    course_id: Annotated[int, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="Why this is not a relapse.")],
    date: WhenOpt = None,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Dismiss a suspected relapse flagged by an assessment (the course stays in monitoring)."""
    on, by, clock = _on(date), RUNTIME.actor(actor), RUNTIME.clock
    _change(
        lambda s: monitoring.dismiss_relapse(
            session=s, course_id=course_id, reason=reason, by=by, clock=clock, on=on
        ),
        json_out,
    )


@app.command("retreat")
def retreat(
    course_id: Annotated[int, typer.Argument(metavar="ID")],
    file: FileOpt,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Request a re-treatment after a relapse; prints the new course."""
    data = _request_document(file)
    by, clock, policy = RUNTIME.actor(actor), RUNTIME.clock, load_policy()
    _change(
        lambda s: courses.retreat(
            session=s, course_id=course_id, data=data, by=by, clock=clock, policy=policy
        ),
        json_out,
        whole=True,
    )


@app.command("close")
def close(
    course_id: Annotated[int, typer.Argument(metavar="ID")],
    date: DateOpt,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Close a course in monitoring (monitoring -> completed)."""
    on, by, clock = parse_date(date), RUNTIME.actor(actor), RUNTIME.clock
    _change(
        lambda s: monitoring.close(session=s, course_id=course_id, on=on, by=by, clock=clock),
        json_out,
    )


@app.command("cancel")
def cancel(
    course_id: Annotated[int, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="Why the request is withdrawn.")],
    date: WhenOpt = None,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Cancel a course before infusions start."""
    on, by, clock = _on(date), RUNTIME.actor(actor), RUNTIME.clock
    _change(
        lambda s: courses.cancel(
            session=s, course_id=course_id, reason=reason, on=on, by=by, clock=clock
        ),
        json_out,
    )


ReasonOpt = Annotated[str, typer.Option(help="Why the record is voided (kept with it).")]


@app.command("void-infusion")
def void_infusion(
    course_id: Annotated[int, typer.Argument(metavar="ID")],
    day: Annotated[int, typer.Option(help="The infusion day number `course show` prints.")],
    reason: ReasonOpt,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Void an infusion day entered by mistake (kept in the history, marked)."""
    by, clock = RUNTIME.actor(actor), RUNTIME.clock
    _change(
        lambda s: corrections.void_infusion(
            session=s, course_id=course_id, day=day, reason=reason, by=by, clock=clock
        ),
        json_out,
    )


@app.command("void-assessment")
def void_assessment(
    course_id: Annotated[int, typer.Argument(metavar="ID")],
    assessment: Annotated[int, typer.Option(help="The assessment id `course show` prints.")],
    reason: ReasonOpt,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Void an assessment entered by mistake (kept in the history, marked)."""
    by, clock, signal = RUNTIME.actor(actor), RUNTIME.clock, load_policy().relapse_signal
    _change(
        lambda s: corrections.void_assessment(
            session=s,
            course_id=course_id,
            assessment_id=assessment,
            reason=reason,
            by=by,
            clock=clock,
            signal=signal,
        ),
        json_out,
    )
