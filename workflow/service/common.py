"""What every use-case shares: loading rows, date checks, and the history row."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from workflow.clock import Clock
from workflow.errors import DateInFuture, InvalidInput, NotFound, TransitionRefused
from workflow.hostile import check_text
from workflow.machine import fire
from workflow.models import Course, Event, Patient, normalise_mrn

#: Ids are 32-bit on every database: a larger one names nothing (404, never a 500).
MAX_ID = 2**31 - 1


def patient_by_mrn(session: Session, mrn: str, *, lock: bool = False) -> Patient:
    query = select(Patient).where(Patient.mrn_key == normalise_mrn(mrn))
    if lock:
        query = query.with_for_update()
    patient = session.scalars(query).one_or_none()
    if patient is None:
        raise NotFound(f"mrn: no patient is registered with MRN {mrn}.")
    return patient


def course_by_id(session: Session, course_id: int, *, lock: bool = True) -> Course:
    """Loads a course; ``lock`` takes its row lock on PostgreSQL (SQLite locks the file).

    The version column still catches a concurrent change the lock could not.
    """
    if not 0 < course_id <= MAX_ID:
        raise NotFound(f"course: there is no course {course_id}.")
    query = select(Course).where(Course.id == course_id)
    if lock:
        query = query.with_for_update()
    course = session.scalars(query).one_or_none()
    if course is None:
        raise NotFound(f"course: there is no course {course_id}.")
    return course


def clinical_date(value: date, *, today: date, field: str = "date") -> date:
    """A clinical date may lie in the past, never in the future (contract: exit 2)."""
    if value > today:
        raise DateInFuture(
            f"{field}: {value.isoformat()} is in the future (today is {today.isoformat()})."
        )
    if value.year < 1900:
        raise InvalidInput(f"{field}: {value.isoformat()} is before 1900.")
    return value


def not_before(value: date, earliest: date | None, *, field: str, what: str) -> None:
    if earliest is not None and value < earliest:
        raise TransitionRefused(
            f"{field}: {value.isoformat()} is before {what} ({earliest.isoformat()})."
        )


def record(
    session: Session,
    *,
    patient_id: int,
    trigger: str,
    by: str,
    at: datetime,
    course_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    on: date | None = None,
    reason: str | None = None,
    changes: dict[str, Any] | None = None,
) -> Event:
    """Appends one history row (who, when, why; a correction's old and new values)."""
    event = Event(
        patient_id=patient_id,
        course_id=course_id,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        clinical_date=on,
        actor=by,
        reason=reason,
        at=at,
        changes=changes,
    )
    session.add(event)
    return event


#: The history table, for the Core write path (``history_row``).
EVENTS: Table = Event.__table__  # type: ignore[assignment]
_HISTORY = insert(EVENTS).inline()  # the row's id is not needed: no RETURNING


def history_row(
    connection: Connection,
    *,
    patient_id: int,
    course_id: int,
    trigger: str,
    from_state: str,
    to_state: str,
    on: date | None,
    reason: str | None,
    by: str,
    at: datetime,
) -> None:
    """``record`` of a transition as one Core ``INSERT`` on the transaction's connection
    (no unit of work): the same row, for use-cases that write without the ORM."""
    connection.execute(
        _HISTORY,
        {
            "patient_id": patient_id,
            "course_id": course_id,
            "trigger": trigger,
            "from_state": from_state,
            "to_state": to_state,
            "clinical_date": on,
            "actor": by,
            "reason": reason,
            "at": at,
            "changes": None,
        },
    )


def transition(
    session: Session,
    course: Course,
    trigger: str,
    *,
    by: str,
    clock: Clock,
    on: date | None = None,
    reason: str | None = None,
) -> Event:
    """Fires ``trigger`` through the one Machine and writes its history row.

    Touching ``updated_at`` makes every use-case bump the course's version, so two
    people changing one course at once cannot both succeed.
    """
    before, after = fire(course, trigger)
    now = clock.now()
    course.updated_at = now
    # Even at the very same instant (a fixed clock): the row is written, the version moves.
    flag_modified(course, "updated_at")
    return record(
        session,
        patient_id=course.patient_id,
        course_id=course.id,
        trigger=trigger,
        from_state=before.value,
        to_state=after.value,
        on=on,
        reason=reason,
        by=by,
        at=now,
    )


def required_text(value: str | None, field: str) -> str:
    text = check_text((value or "").strip(), field)
    if not text:
        raise InvalidInput(f"{field}: must not be empty.")
    if len(text) > 5000:
        raise InvalidInput(f"{field}: is longer than 5000 characters.")
    return text


def optional_text(value: str | None, field: str) -> str | None:
    return required_text(value, field) if value is not None and value.strip() else None


def id_in(column: Any, ids: list[int], dialect: str) -> Any:
    """``column IN (ids)`` with the ids as ONE bound parameter, however many there are:
    ``= ANY(array)`` on PostgreSQL, ``IN (SELECT value FROM json_each(?))`` on SQLite
    (an IN list elsewhere). A batch of a thousand ids is then one statement compiled
    and planned once, not a thousand binds rendered, sent and planned every batch."""
    import json

    from sqlalchemy import Integer, any_, bindparam, func, select

    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    if dialect == "sqlite":
        each = func.json_each(bindparam(None, json.dumps(list(ids)))).table_valued("value")
        return column.in_(select(each.c.value))
    return column.in_(ids)
