"""Who requested a course: the prescriber as recorded, and as corrected since.

``courses.requested_by`` is written once, with the request, and never changes. A
request attributed to the wrong prescriber is corrected by a history row of its own
(trigger ``correct_requester``, ``ivig course correct-requester``) whose ``changes``
name the recorded prescriber, the one before this correction and the corrected one;
the row also keeps who corrected it, when and why (docs/corrections.md). Reads show
the recorded and the corrected prescriber; separation of duties counts every name a
course has carried (none of them may review it).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from workflow.models import Course, Event

#: The trigger of a correction's history row (a record: the state does not change).
CORRECT_REQUESTER = "correct_requester"


def corrections(session: Session, course_id: int) -> list[Event]:
    """The course's requester corrections, oldest first."""
    return list(
        session.scalars(
            select(Event)
            .where(Event.course_id == course_id, Event.trigger == CORRECT_REQUESTER)
            .order_by(Event.id)
        )
    )


def corrected_to(event: Event) -> str:
    """The prescriber a correction row names."""
    return str((event.changes or {})["requested_by"]["new"])


def names(session: Session, course: Course) -> tuple[str, ...]:
    """The recorded prescriber, then each corrected one in order (the last is current)."""
    return (course.requested_by, *(corrected_to(e) for e in corrections(session, course.id)))


#: The corrections' ``changes``, oldest first (compiled once: ``names_of``).
_CORRECTED = (
    select(Event.changes)
    .where(Event.course_id == bindparam("course_id"), Event.trigger == CORRECT_REQUESTER)
    .order_by(Event.id)
)


def names_of(connection: Connection, course_id: int, requested_by: str) -> tuple[str, ...]:
    """``names`` from the course's id and recorded prescriber, in one Core statement on
    the transaction's connection (the lean path of ``service.courses.review``; the
    session must have been flushed)."""
    rows = connection.execute(_CORRECTED, {"course_id": course_id}).scalars()
    return (requested_by, *(str((changes or {})["requested_by"]["new"]) for changes in rows))


def current(session: Session, course: Course) -> str:
    """The prescriber the course is attributed to now."""
    return names(session, course)[-1]


def current_by_course(session: Session, course_ids: Iterable[int]) -> dict[int, str]:
    """The corrected prescriber of each of ``course_ids`` that has one (one query)."""
    ids = list(course_ids)
    if not ids:
        return {}
    rows = session.scalars(
        select(Event)
        .where(Event.course_id.in_(ids), Event.trigger == CORRECT_REQUESTER)
        .order_by(Event.id)
    )
    return {e.course_id: corrected_to(e) for e in rows if e.course_id is not None}
