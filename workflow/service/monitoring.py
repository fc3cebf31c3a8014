"""Use-cases after the infusions: assessments, relapse and closing the course."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.clock import Clock
from workflow.errors import InvalidInput, TransitionRefused
from workflow.machine import require
from workflow.models import Assessment, Course
from workflow.relapse_signal import pain_rise
from workflow.review.policy import MotorResponseCriteria, Policy, RelapseSignal
from workflow.service.common import (
    clinical_date,
    course_by_id,
    not_before,
    optional_text,
    required_text,
    transition,
)
from workflow.service.followups import cancel_for_course, complete_with_assessment
from workflow.service.response import responded
from workflow.states import CourseState


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
    policy: Policy,
    source: str = "clinician",
) -> Assessment:
    """Records an outcome assessment; completes the follow-ups it satisfies.

    ``source`` says who gave the values: ``clinician`` (staff entry) or ``patient``
    (the self-report form); a patient's values are named as such in the history.

    On a course in monitoring, pain back up from its lowest post-course VAS (the
    policy's ``relapse_signal``) flags a suspected relapse for the coordinator.
    """
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
        source=source,
        actor=by,
        recorded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    done = complete_with_assessment(
        session, course=course, on=on, fields=fields, ref=f"assessment:{row.id}", clock=clock
    )
    scores = ", ".join(f"{name} {value:g}" for name, value in _values(row))
    if source == "patient":
        scores = "reported by the patient: " + scores
    if done:
        scores += "; completes follow-up " + ", ".join(str(f.id) for f in done)
    flag = _suspect_relapse(
        session, course, row, policy.relapse_signal, clock, policy.motor_response
    )
    if flag:
        scores += f"; suspected relapse: {flag}"
    transition(session, course, "assess", by=by, clock=clock, on=on, reason=scores)
    return row


def _suspect_relapse(
    session: Session,
    course: Course,
    row: Assessment,
    signal: RelapseSignal,
    clock: Clock,
    motor: MotorResponseCriteria,
) -> str | None:
    """Flags the course when this assessment's VAS is back up enough; returns the evidence."""
    if (
        row.vas is None
        or course.state != CourseState.MONITORING
        or course.suspected_relapse is not None
        or course.last_infusion_date is None
    ):
        return None
    earlier = session.execute(
        select(Assessment.date, Assessment.vas).where(
            Assessment.course_id == course.id,
            Assessment.id != row.id,
            Assessment.voided_at.is_(None),
        )
    ).all()
    rise = pain_rise(
        earlier=[(d, v) for d, v in earlier],
        latest=(row.date, row.vas),
        last_infusion=course.last_infusion_date,
        rise_points=signal.rise_points,
        rise_fraction=signal.rise_fraction,
        responder=responded(session, course, motor),
    )
    if rise is None:
        return None
    course.suspected_relapse = {
        "evidence": rise.evidence(),
        "assessment_id": row.id,
        "date": rise.on.isoformat(),
        "vas": rise.vas,
        "lowest_vas": rise.lowest_vas,
        "lowest_vas_date": rise.lowest_on.isoformat(),
        "rise_points": rise.points,
        "rise_fraction": rise.fraction,
        "flagged_at": clock.now().isoformat(),
        "source": signal.source,
    }
    return rise.evidence()


def dismiss_relapse(
    *,
    session: Session,
    course_id: int,
    reason: str,
    by: str,
    clock: Clock,
    on: date | None = None,
) -> Course:
    """The coordinator judges a suspected relapse not to be one; the flag is cleared
    (``on``: the clinical date of that judgement, default today)."""
    when = clinical_date(on, today=clock.today()) if on is not None else clock.today()
    reason = required_text(reason, "reason")
    course = course_by_id(session, course_id)
    require(course, "dismiss_relapse")
    not_before(when, course.last_infusion_date, field="date", what="the last infusion")
    if course.suspected_relapse is None:
        raise TransitionRefused(f"course {course.id} has no suspected relapse to dismiss.")
    evidence = course.suspected_relapse.get("evidence", "")
    transition(
        session,
        course,
        "dismiss_relapse",
        by=by,
        clock=clock,
        on=when,
        reason=f"suspected relapse dismissed ({evidence}): {reason}",
    )
    course.suspected_relapse = None
    return course


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
    course.suspected_relapse = None  # closing is the coordinator's judgement of it
    cancel_for_course(session, course=course, clock=clock)
    return course
