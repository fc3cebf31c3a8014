"""Use-cases of course safety: approvals that lapse, adverse events, the safety
follow-up of a course stopped after one, and the reads behind the safety and lot
reports.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.catalogue import Actor, AdverseEventBody
from workflow.clock import Clock
from workflow.errors import InvalidInput
from workflow.followups import BY_KIND, OPEN_STATUSES, Status
from workflow.machine import require
from workflow.models import AdverseEvent, Course, FollowUp, Measurement, Patient
from workflow.review import Policy, load_policy
from workflow.schemas import AdverseEventKind
from workflow.service.common import (
    clinical_date,
    course_by_id,
    not_before,
    optional_text,
    transition,
)
from workflow.service.followups import lock_patient
from workflow.states import CourseState

#: Who fires the transitions nobody asked for by hand (``expire``).
SYSTEM_ACTOR = "system"


# --- approvals that lapse -------------------------------------------------------------


def lapse_cutoff(as_of: date, policy: Policy) -> date:
    """Approvals dated before this day have lapsed by ``as_of``."""
    return as_of - timedelta(days=policy.safety.approval_valid_days)


def lapsed_approvals(session: Session, *, as_of: date, policy: Policy) -> list[Course]:
    """Courses still ``reviewed`` whose approval lapsed on or before ``as_of``."""
    return list(
        session.scalars(
            select(Course)
            .where(
                Course.state == CourseState.REVIEWED.value,
                Course.approved_on < lapse_cutoff(as_of, policy),
            )
            .order_by(Course.approved_on, Course.id)
        )
    )


def expire_lapsed(
    *, session: Session, as_of: date, clock: Clock, policy: Policy, by: str = SYSTEM_ACTOR
) -> list[Course]:
    """Moves every course whose approval lapsed by ``as_of`` to ``expired`` (one history
    row each). Running it again expires nothing new."""
    expired = []
    for listed in lapsed_approvals(session, as_of=as_of, policy=policy):
        course = course_by_id(session, listed.id)  # locked; re-read under the lock
        if course.state != CourseState.REVIEWED.value:
            continue
        until = (course.approved_on or as_of) + timedelta(days=policy.safety.approval_valid_days)
        transition(
            session,
            course,
            "expire",
            by=by,
            clock=clock,
            on=until + timedelta(days=1),
            reason=f"approval of {course.approved_on} lapsed after "
            f"{policy.safety.approval_valid_days} days (valid through {until.isoformat()})",
        )
        course.ended_on = until + timedelta(days=1)
        expired.append(course)
    return expired


def lapsing_soon(session: Session, *, today: date, policy: Policy) -> list[tuple[Course, date]]:
    """Approved courses not yet infused whose approval lapses within the warning days:
    (course, last valid day), soonest first."""
    days = policy.safety.approval_valid_days
    warn = policy.safety.approval_lapse_warning_days
    rows = session.scalars(
        select(Course)
        .where(
            Course.state == CourseState.REVIEWED.value,
            Course.approved_on >= today - timedelta(days=days),
            Course.approved_on <= today - timedelta(days=days - warn),
        )
        .order_by(Course.approved_on, Course.id)
    )
    return [(c, (c.approved_on or today) + timedelta(days=days)) for c in rows]


# --- adverse events -------------------------------------------------------------------


__all__ = ["AdverseEventKind", "expire_lapsed", "record_adverse_event"]


def _kind(value: str) -> AdverseEventKind:
    try:
        return AdverseEventKind(value)
    except ValueError:
        known = ", ".join(k.value for k in AdverseEventKind)
        raise InvalidInput(f"kind: {value!r} is not one of {known}.") from None


def record_adverse_event(
    *,
    session: Session,
    course_id: int,
    on: date,
    kind: str,
    grade: int,
    note: str | None,
    by: str,
    clock: Clock,
    policy: Policy,
) -> AdverseEvent:
    """Records an adverse event of a course from its first infusion on (also after it
    was discontinued). A course discontinued with an event gets the safety follow-up."""
    clinical_date(on, today=clock.today())
    event_kind = _kind(kind)
    if isinstance(grade, bool) or not 1 <= grade <= 5:
        raise InvalidInput(f"grade: {grade} is not a CTCAE grade (1-5).")
    text = optional_text(note, "note")
    course = course_by_id(session, course_id)
    require(course, "adverse_event")
    not_before(on, course.first_infusion_date, field="date", what="the first infusion")
    row = AdverseEvent(
        course_id=course.id,
        patient_id=course.patient_id,
        date=on,
        kind=event_kind.value,
        grade=grade,
        note=text,
        actor=by,
        recorded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    reason = f"adverse event: {event_kind.value}, grade {grade}" + (f" ({text})" if text else "")
    transition(session, course, "adverse_event", by=by, clock=clock, on=on, reason=reason)
    if grade >= policy.safety.notify_adverse_event_grade:
        _alert(session, course=course, event=row, clock=clock)
    if course.state == CourseState.DISCONTINUED.value:
        schedule_safety_followup(session, course=course, policy=policy, clock=clock)
    return row


def _alert(session: Session, *, course: Course, event: AdverseEvent, clock: Clock) -> str:
    """A serious adverse event goes to the reminder channels (the outbox) in this same
    transaction; the note stays out of the message (it may name the patient)."""
    from workflow.outbox import ADVERSE_EVENT, enqueue

    mrn = session.get_one(Patient, course.patient_id).mrn
    return enqueue(
        session,
        kind=ADVERSE_EVENT,
        payload={
            "course_id": course.id,
            "mrn": mrn,
            "adverse_event_id": event.id,
            "kind": event.kind,
            "grade": event.grade,
            "date": event.date.isoformat(),
            "state": course.state,
            "product": course.product,
            "see": f"ivig course show {course.id}",
        },
        dedupe_key=f"adverse-event-{event.id}",
        course_id=course.id,
        patient_id=course.patient_id,
        now=clock.now(),
        subject=f"IVIG course {course.id}: grade {event.grade} adverse event ({event.kind})",
    )


def has_adverse_event(session: Session, course_id: int) -> bool:
    found = session.scalar(
        select(AdverseEvent.id).where(AdverseEvent.course_id == course_id).limit(1)
    )
    return found is not None


def renal_risk(session: Session, course: Course, patient: Patient, policy: Policy) -> list[str]:
    """Why the patient is at renal risk under the policy (empty: not at risk)."""
    from workflow.service.record import age_on, dated_measurements

    rule = policy.safety.followup
    reasons = []
    measured = sorted(
        dated_measurements(session, patient.id, Measurement.creatinine_clearance_ml_min)
    )
    # The newest measured clearance, else the one the request carried.
    clearance = measured[-1][1] if measured else course.request.get("creatinine_clearance_ml_min")
    if isinstance(clearance, int | float) and clearance < rule.max_creatinine_clearance_ml_min:
        reasons.append(
            f"creatinine clearance {clearance:g} mL/min below "
            f"{rule.max_creatinine_clearance_ml_min:g}"
        )
    age = age_on(patient.birth_date, course.ended_on or course.requested_on)
    if age >= rule.min_age:
        reasons.append(f"age {age}")
    if rule.diabetes and patient.diabetes not in ("", "none"):
        reasons.append("diabetes")
    return reasons


def schedule_safety_followup(
    session: Session, *, course: Course, policy: Policy, clock: Clock
) -> FollowUp | None:
    """The policy's safety follow-up for a course stopped after an adverse event, for a
    patient at renal risk; at most one open per patient. None when not called for."""
    rule = policy.safety.followup
    if not rule.enabled or course.state != CourseState.DISCONTINUED.value:
        return None
    if not has_adverse_event(session, course.id) or course.last_infusion_date is None:
        return None
    patient = session.get_one(Patient, course.patient_id)
    if not renal_risk(session, course, patient, policy):
        return None
    lock_patient(session, patient)  # one open per patient, even with two writers at once
    open_one = session.scalar(
        select(FollowUp.id).where(
            FollowUp.patient_id == patient.id,
            FollowUp.course_id.is_(None),
            FollowUp.kind == rule.kind,
            FollowUp.status.in_(OPEN_STATUSES),
        )
    )
    if open_one is not None:
        return None
    assert rule.kind in BY_KIND
    row = FollowUp(
        patient_id=patient.id,
        course_id=None,
        origin_course_id=course.id,
        kind=rule.kind,
        due_date=course.last_infusion_date + timedelta(days=rule.days_after_last_infusion),
        status=Status.SCHEDULED.value,
        created_at=clock.now(),
    )
    session.add(row)
    return row


# --- reports --------------------------------------------------------------------------


def courses_treated(session: Session, *, as_of: date) -> int:
    """Courses with at least one infusion on or before ``as_of`` (the safety denominator)."""
    count = session.scalar(
        select(func.count()).select_from(Course).where(Course.first_infusion_date <= as_of)
    )
    return int(count or 0)


def adverse_event_action(
    *, session: Session, target: int, data: AdverseEventBody, actor: Actor, clock: Clock
) -> Course:
    """The catalogue's ``adverse-event``: records it and answers the course."""
    row = record_adverse_event(
        session=session,
        course_id=target,
        on=data.date,
        kind=data.kind.value,
        grade=data.grade,
        note=data.note,
        by=actor.name,
        clock=clock,
        policy=load_policy(),
    )
    return session.get_one(Course, row.course_id)
