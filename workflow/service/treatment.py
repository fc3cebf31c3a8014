"""Use-cases of the infusion days: record one, or stop the course early."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.clock import Clock
from workflow.errors import InvalidInput, TransitionRefused
from workflow.machine import require
from workflow.models import Course, Infusion, Patient
from workflow.service.common import (
    clinical_date,
    course_by_id,
    not_before,
    optional_text,
    required_text,
    transition,
)
from workflow.service.followups import cancel_for_course, schedule_for_course

#: Grams further than this from the planned daily dose need an override reason.
GRAMS_TOLERANCE = 0.10


def _check_grams(course: Course, grams: float, override: str | None) -> None:
    if not 0 < grams <= 2000:
        raise InvalidInput(f"grams: {grams} g is not a plausible daily dose (0-2000 g).")
    planned = course.grams_per_day
    if abs(grams - planned) > GRAMS_TOLERANCE * planned + 1e-9 and override is None:
        raise TransitionRefused(
            f"grams: {grams:g} g is more than 10 % away from the planned {planned:g} g a day; "
            "recording it needs --override-reason."
        )


def _days_given(session: Session, course_id: int) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(Infusion)
        .where(Infusion.course_id == course_id, Infusion.voided_at.is_(None))
    )
    return int(count or 0)


def infuse(
    *,
    session: Session,
    course_id: int,
    on: date,
    grams: float,
    override_reason: str | None,
    by: str,
    clock: Clock,
) -> Course:
    """Records one infusion day. The first starts the course; the last planned day
    moves it to monitoring and creates its follow-ups."""
    clinical_date(on, today=clock.today())
    override = optional_text(override_reason, "override-reason")
    course = course_by_id(session, course_id)
    require(course, "infuse")
    _check_grams(course, grams, override)
    if course.last_infusion_date is not None and on <= course.last_infusion_date:
        raise TransitionRefused(
            f"date: an infusion is already recorded on {course.last_infusion_date.isoformat()}; "
            "infusion days are recorded in order, one a day."
        )
    day = _days_given(session, course.id) + 1
    finishing = day >= course.days
    reason = f"day {day} of {course.days}: {grams:g} g"
    if override is not None:
        reason += f" (override: {override})"
    transition(
        session,
        course,
        "finish_infusions" if finishing else "infuse",
        by=by,
        clock=clock,
        on=on,
        reason=reason,
    )
    session.add(
        Infusion(
            course_id=course.id,
            day_number=day,
            date=on,
            grams=grams,
            override_reason=override,
            actor=by,
            recorded_at=clock.now(),
        )
    )
    course.first_infusion_date = course.first_infusion_date or on
    course.last_infusion_date = on
    if finishing:
        patient = session.get_one(Patient, course.patient_id)
        schedule_for_course(session, course=course, patient=patient, last_infusion=on, clock=clock)
    return course


def stop(
    *, session: Session, course_id: int, on: date, reason: str, by: str, clock: Clock
) -> Course:
    """Stops a course during its infusions (adverse effect, patient's choice…)."""
    clinical_date(on, today=clock.today())
    reason = required_text(reason, "reason")
    course = course_by_id(session, course_id)
    require(course, "stop")
    not_before(on, course.last_infusion_date, field="date", what="the last infusion")
    transition(session, course, "stop", by=by, clock=clock, on=on, reason=reason)
    course.ended_on = on
    cancel_for_course(session, course=course, clock=clock)
    return course
