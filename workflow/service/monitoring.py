"""Use-cases after the infusions: assessments, relapse and closing the course."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from workflow.clock import Clock
from workflow.errors import InvalidInput
from workflow.machine import require
from workflow.models import Assessment, Course
from workflow.service.common import (
    clinical_date,
    course_by_id,
    not_before,
    optional_text,
    transition,
)
from workflow.service.followups import cancel_for_course, complete_with_assessment


def _check_scores(vas: float | None, mrc_sum: int | None, walking: float | None) -> set[str]:
    if vas is None and mrc_sum is None and walking is None:
        raise InvalidInput(
            "assessment: give at least one of --vas, --mrc-sum, --walking-distance-m."
        )
    if vas is not None and not 0 <= vas <= 10:
        raise InvalidInput(f"vas: {vas:g} is outside the 0-10 pain scale.")
    if mrc_sum is not None and not 0 <= mrc_sum <= 60:
        raise InvalidInput(f"mrc-sum: {mrc_sum} is outside the MRC sum score's 0-60.")
    if walking is not None and not 0 <= walking <= 100_000:
        raise InvalidInput(f"walking-distance-m: {walking:g} m is outside 0-100000 m.")
    named = {"vas": vas, "mrc_sum": mrc_sum, "walking_distance_m": walking}
    return {name for name, value in named.items() if value is not None}


def assess(
    *,
    session: Session,
    course_id: int,
    on: date,
    vas: float | None,
    mrc_sum: int | None,
    walking_distance_m: float | None,
    by: str,
    clock: Clock,
) -> Assessment:
    """Records an outcome assessment; completes the follow-ups it satisfies."""
    clinical_date(on, today=clock.today())
    fields = _check_scores(vas, mrc_sum, walking_distance_m)
    course = course_by_id(session, course_id)
    require(course, "assess")
    not_before(on, course.last_infusion_date, field="date", what="the last infusion")
    row = Assessment(
        course_id=course.id,
        date=on,
        vas=vas,
        mrc_sum=mrc_sum,
        walking_distance_m=walking_distance_m,
        actor=by,
        recorded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    done = complete_with_assessment(
        session, course=course, on=on, fields=fields, ref=f"assessment:{row.id}", clock=clock
    )
    scores = ", ".join(f"{name} {value:g}" for name, value in _values(row))
    if done:
        scores += "; completes follow-up " + ", ".join(str(f.id) for f in done)
    transition(session, course, "assess", by=by, clock=clock, on=on, reason=scores)
    return row


def _values(row: Assessment) -> list[tuple[str, float]]:
    pairs = (
        ("vas", row.vas),
        ("mrc_sum", row.mrc_sum),
        ("walking_distance_m", row.walking_distance_m),
    )
    return [(name, float(value)) for name, value in pairs if value is not None]


def relapse(
    *, session: Session, course_id: int, on: date, note: str | None, by: str, clock: Clock
) -> Course:
    """Confirms a relapse of a course in monitoring."""
    clinical_date(on, today=clock.today())
    course = course_by_id(session, course_id)
    require(course, "relapse")
    not_before(on, course.last_infusion_date, field="date", what="the last infusion")
    reason = optional_text(note, "note") or "relapse"
    transition(session, course, "relapse", by=by, clock=clock, on=on, reason=reason)
    course.relapse_date = on
    course.suspected_relapse = None
    return course


def close(*, session: Session, course_id: int, on: date, by: str, clock: Clock) -> Course:
    """Ends monitoring without relapse; the course's open follow-ups are cancelled."""
    clinical_date(on, today=clock.today())
    course = course_by_id(session, course_id)
    require(course, "close")
    not_before(on, course.last_infusion_date, field="date", what="the last infusion")
    transition(session, course, "close", by=by, clock=clock, on=on, reason="course closed")
    course.ended_on = on
    cancel_for_course(session, course=course, clock=clock)
    return course
