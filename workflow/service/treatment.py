"""Use-cases of the infusion days: record one, or stop the course early."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.clock import Clock
from workflow.errors import InvalidInput, TransitionRefused
from workflow.machine import require
from workflow.models import Course, Infusion, Patient
from workflow.review import Policy, load_policy
from workflow.service.common import (
    clinical_date,
    course_by_id,
    not_before,
    optional_text,
    required_text,
    transition,
)
from workflow.service.followups import cancel_for_course, lock_patient, schedule_for_course

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


def approval_valid_until(course: Course, policy: Policy) -> date | None:
    """The last day the course's approval may start or continue infusions."""
    if course.approved_on is None:
        return None
    return course.approved_on + timedelta(days=policy.safety.approval_valid_days)


def _check_dates(course: Course, on: date, override: str | None, policy: Policy) -> None:
    """Infusions after the approval, within its validity, in order and close together."""
    if course.approved_on is not None and on < course.approved_on:
        raise TransitionRefused(
            f"date: {on.isoformat()} is before the approval ({course.approved_on.isoformat()})."
        )
    until = approval_valid_until(course, policy)
    if until is not None and on > until:
        raise TransitionRefused(
            f"date: the approval of {course.approved_on} lapsed on {until.isoformat()} "
            f"({policy.safety.approval_valid_days} days); the course needs a new request."
        )
    last = course.last_infusion_date
    if last is not None and on <= last:
        raise TransitionRefused(
            f"date: an infusion is already recorded on {last.isoformat()}; "
            "infusion days are recorded in order, one a day."
        )
    gap = policy.safety.max_infusion_gap_days
    if last is not None and (on - last).days > gap and override is None:
        raise TransitionRefused(
            f"date: {on.isoformat()} is {(on - last).days} days after the last infusion "
            f"({last.isoformat()}), more than {gap}; recording it needs --override-reason."
        )


def _check_ceiling(
    session: Session, course: Course, grams: float, override: str | None, policy: Policy
) -> None:
    """A day above the daily ceiling, or a course above its total, needs an override."""
    if override is not None:
        return
    ceiling = policy.rules.dose_ceiling
    weight = course.dosing_weight_kg
    daily = ceiling.max_g_per_kg_per_day * weight
    if grams > daily + 1e-9:
        raise TransitionRefused(
            f"grams: {grams:g} g is above the daily ceiling of {daily:g} g "
            f"({ceiling.max_g_per_kg_per_day:g} g/kg of {weight:g} kg, dose.ceiling); "
            "recording it needs --override-reason."
        )
    given = session.scalar(
        select(func.coalesce(func.sum(Infusion.grams), 0.0)).where(
            Infusion.course_id == course.id, Infusion.voided_at.is_(None)
        )
    )
    total = ceiling.max_course_g_per_kg * weight
    if float(given or 0) + grams > total + 1e-9:
        raise TransitionRefused(
            f"grams: {float(given or 0) + grams:g} g in all would pass the course ceiling of "
            f"{total:g} g ({ceiling.max_course_g_per_kg:g} g/kg of {weight:g} kg, dose.ceiling); "
            "recording it needs --override-reason."
        )


def _check_same_day(session: Session, course: Course, on: date) -> None:
    """Two courses of one patient never both record an infusion on one day.

    The patient's row lock makes two courses' infusions take turns (each holds only its
    own course's lock), so the second sees the first's day and is refused."""
    lock_patient(session, session.get_one(Patient, course.patient_id))
    other = session.scalar(
        select(Infusion.course_id)
        .join(Course, Course.id == Infusion.course_id)
        .where(
            Course.patient_id == course.patient_id,
            Course.id != course.id,
            Infusion.date == on,
            Infusion.voided_at.is_(None),
        )
        .limit(1)
    )
    if other is not None:
        raise TransitionRefused(
            f"date: course {other} of this patient already records an infusion on "
            f"{on.isoformat()}; one patient gets one course's infusion a day."
        )


def _lot(value: str | None) -> str | None:
    if value is not None and not value.strip():
        # A recall finds patients by lot: a blank one given is a mistake, not "unknown".
        raise InvalidInput("lot: is empty; leave it out when the lot is not known.")
    lot = optional_text(value, "lot")
    if lot is not None and len(lot) > 100:
        raise InvalidInput("lot: is longer than 100 characters.")
    return lot


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
    lot: str | None = None,
    policy: Policy | None = None,
) -> Course:
    """Records one infusion day. The first starts the course; the last planned day
    moves it to monitoring and creates its follow-ups.

    Refused: a date before the approval or after it lapsed, or on a day another
    course of the patient has an infusion; without an override reason, grams more
    than 10 % from the plan, above the policy's ceiling, or a gap of more than the
    policy's days since the last infusion.
    """
    policy = policy or load_policy()
    clinical_date(on, today=clock.today())
    override = optional_text(override_reason, "override-reason")
    lot = _lot(lot)
    course = course_by_id(session, course_id)
    require(course, "infuse")
    _check_grams(course, grams, override)
    _check_ceiling(session, course, grams, override, policy)
    _check_dates(course, on, override, policy)
    _check_same_day(session, course, on)
    day = _days_given(session, course.id) + 1
    finishing = day >= course.days
    reason = f"day {day} of {course.days}: {grams:g} g"
    if lot is not None:
        reason += f", lot {lot}"
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
            lot=lot,
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
    *,
    session: Session,
    course_id: int,
    on: date,
    reason: str,
    by: str,
    clock: Clock,
    policy: Policy | None = None,
) -> Course:
    """Stops a course during its infusions (adverse effect, patient's choice…).

    The course's follow-ups are cancelled; a course with a recorded adverse event gets
    the policy's safety follow-up instead, for a patient at risk.
    """
    from workflow.service.safety import schedule_safety_followup

    clinical_date(on, today=clock.today())
    reason = required_text(reason, "reason")
    course = course_by_id(session, course_id)
    require(course, "stop")
    not_before(on, course.last_infusion_date, field="date", what="the last infusion")
    transition(session, course, "stop", by=by, clock=clock, on=on, reason=reason)
    course.ended_on = on
    cancel_for_course(session, course=course, clock=clock)
    schedule_safety_followup(session, course=course, policy=policy or load_policy(), clock=clock)
    return course
