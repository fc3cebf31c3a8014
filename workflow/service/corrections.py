"""Corrections, append-only: an infusion day, assessment or measurement entered by
mistake is voided with a reason, never deleted or edited.

The voided row stays (``voided_at``, ``voided_by``, ``void_reason``) and is shown,
marked, in the history. Everything derived from it is recomputed from the live rows
as if it had never been recorded: follow-up completion, the suspected-relapse flag,
the course's infusion dates and state, and (because every read filters
``voided_at IS NULL``) response, reports and the dose given.

Numbering: ``--day N`` is the day number ``course show`` prints for a live infusion
(the live days of a course are numbered 1, 2, … in date order; voiding one renumbers
the later live days). ``--assessment N`` and ``--measurement N`` are the record ids
``course show`` and ``patient show`` print.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.catalogue import Actor, VoidMeasurementBody
from workflow.clock import Clock
from workflow.errors import NotFound, TransitionRefused
from workflow.followups import (
    BY_KIND,
    COMPLETION_WINDOW_DAYS,
    OPEN_STATUSES,
    Status,
    next_due_date,
)
from workflow.machine import require
from workflow.models import Assessment, Course, Event, FollowUp, Infusion, Measurement, Patient
from workflow.relapse_signal import Rise, pain_rise
from workflow.review.policy import RelapseSignal
from workflow.service.common import (
    course_by_id,
    patient_by_mrn,
    record,
    required_text,
    transition,
)
from workflow.service.followups import has_diabetes
from workflow.service.response import responded
from workflow.states import CourseState

#: Course states whose follow-ups were cancelled: a re-opened one is cancelled instead.
_CLOSED_COURSE = (CourseState.COMPLETED, CourseState.DISCONTINUED, CourseState.CANCELLED)


def live_infusions(session: Session, course_id: int) -> list[Infusion]:
    """The course's infusion days that stand (not voided), in date order."""
    return list(
        session.scalars(
            select(Infusion)
            .where(Infusion.course_id == course_id, Infusion.voided_at.is_(None))
            .order_by(Infusion.date)
        )
    )


def _void(row: Infusion | Assessment | Measurement, *, reason: str, by: str, clock: Clock) -> None:
    row.voided_at = clock.now()
    row.voided_by = by
    row.void_reason = reason


# -- infusions ---------------------------------------------------------------


def _infusion_dependents(session: Session, course: Course) -> list[str]:
    """What rests on a course's monitoring, so that undoing it would lose records."""
    found: list[str] = []
    assessed = session.scalars(
        select(Assessment.id).where(
            Assessment.course_id == course.id, Assessment.voided_at.is_(None)
        )
    ).all()
    if assessed:
        found.append("assessment " + ", ".join(str(i) for i in assessed))
    done = session.scalars(
        select(FollowUp.id).where(
            (FollowUp.course_id == course.id) | (FollowUp.origin_course_id == course.id),
            FollowUp.status == Status.DONE.value,
        )
    ).all()
    if done:
        found.append("completed follow-up " + ", ".join(str(i) for i in done))
    if course.suspected_relapse is not None:
        found.append("a suspected-relapse flag")
    return found


def _find_infusion(session: Session, course: Course, day: int) -> Infusion:
    rows = session.scalars(
        select(Infusion)
        .where(Infusion.course_id == course.id, Infusion.day_number == day)
        .order_by(Infusion.voided_at.is_not(None), Infusion.id)
    ).all()
    if not rows:
        raise NotFound(f"day: course {course.id} has no infusion day {day}.")
    if rows[0].voided_at is not None:
        raise TransitionRefused(f"day: infusion day {day} of course {course.id} is already voided.")
    return rows[0]


def _infusion_trigger(session: Session, course: Course, remaining: int) -> str:
    state = CourseState(course.state)
    if state is CourseState.MONITORING:
        dependents = _infusion_dependents(session, course)
        if dependents:
            raise TransitionRefused(
                f"course {course.id} is in monitoring and "
                + " and ".join(dependents)
                + " rest on it; void those first, then the infusion day."
            )
        return "reopen_infusions" if remaining else "unstart_infusions"
    if state is CourseState.INFUSING and not remaining:
        return "unstart_infusions"
    if state in (CourseState.INFUSING, CourseState.DISCONTINUED):
        return "void_infusion"
    raise TransitionRefused(
        f"course {course.id} is {course.state}: its infusion days can be voided only while "
        "infusing, in monitoring before anything rests on it, or once discontinued."
    )


def void_infusion(
    *, session: Session, course_id: int, day: int, reason: str, by: str, clock: Clock
) -> Course:
    """Voids infusion day ``day``; the course's dates, day numbers and state follow the
    live days (back from monitoring only when no assessment or completed follow-up
    rests on it: its open follow-ups are then cancelled)."""
    reason = required_text(reason, "reason")
    course = course_by_id(session, course_id)
    row = _find_infusion(session, course, day)
    remaining = [i for i in live_infusions(session, course.id) if i.id != row.id]
    trigger = _infusion_trigger(session, course, len(remaining))
    was_monitoring = course.state == CourseState.MONITORING
    _void(row, reason=reason, by=by, clock=clock)
    for number, live in enumerate(remaining, start=1):
        live.day_number = number
    course.first_infusion_date = remaining[0].date if remaining else None
    course.last_infusion_date = remaining[-1].date if remaining else None
    note = f"infusion day {day} ({row.date.isoformat()}, {row.grams:g} g) voided: {reason}"
    if was_monitoring:
        cancelled = _cancel_monitoring_followups(session, course, clock)
        if cancelled:
            note += "; follow-up " + ", ".join(str(i) for i in cancelled) + " cancelled"
    transition(session, course, trigger, by=by, clock=clock, on=clock.today(), reason=note)
    return course


def _cancel_monitoring_followups(session: Session, course: Course, clock: Clock) -> list[int]:
    rows = session.scalars(
        select(FollowUp).where(
            (FollowUp.course_id == course.id) | (FollowUp.origin_course_id == course.id),
            FollowUp.status.in_(OPEN_STATUSES),
        )
    ).all()
    for fu in rows:
        fu.status = Status.CANCELLED.value
        fu.closed_at = clock.now()
    return [fu.id for fu in rows]


# -- follow-ups a voided record had completed ---------------------------------


def _complete(fu: FollowUp, *, on: date, ref: str, clock: Clock) -> None:
    fu.status = Status.DONE.value
    fu.completed_on = on
    fu.completed_by = ref
    fu.closed_at = clock.now()


def _reopen(fu: FollowUp, *, cancel: bool, clock: Clock) -> None:
    fu.completed_on = None
    fu.completed_by = None
    if cancel:
        fu.status = Status.CANCELLED.value
        fu.closed_at = clock.now()
        return
    fu.status = (Status.RAISED if fu.raised_at is not None else Status.SCHEDULED).value
    fu.closed_at = None


def _completed_by(session: Session, ref: str) -> list[FollowUp]:
    return list(
        session.scalars(select(FollowUp).where(FollowUp.completed_by == ref).order_by(FollowUp.id))
    )


def _first_live_assessment(session: Session, fu: FollowUp) -> Assessment | None:
    """The first live assessment (in recording order) that would have completed ``fu``."""
    needed = BY_KIND[fu.kind].completed_by
    rows = session.scalars(
        select(Assessment)
        .where(
            Assessment.course_id == fu.course_id,
            Assessment.voided_at.is_(None),
            Assessment.recorded_at >= fu.created_at,
            Assessment.date >= fu.due_date - timedelta(days=COMPLETION_WINDOW_DAYS),
        )
        .order_by(Assessment.id)
    )
    for row in rows:
        fields = {
            name
            for name, value in (
                ("vas", row.vas),
                ("mrc_sum", row.mrc_sum),
                ("walking_distance_m", row.walking_distance_m),
            )
            if value is not None
        }
        if needed <= fields:
            return row
    return None


def _redo_assessment_followups(
    session: Session, course: Course, ref: str, clock: Clock
) -> list[str]:
    notes: list[str] = []
    for fu in _completed_by(session, ref):
        other = _first_live_assessment(session, fu)
        if other is not None:
            _complete(fu, on=other.date, ref=f"assessment:{other.id}", clock=clock)
            notes.append(f"follow-up {fu.id} now completed by assessment {other.id}")
        else:
            cancel = CourseState(course.state) in _CLOSED_COURSE
            _reopen(fu, cancel=cancel, clock=clock)
            notes.append(f"follow-up {fu.id} {'cancelled' if cancel else 're-opened'}")
    return notes


# -- assessments ---------------------------------------------------------------


def _find_assessment(session: Session, course: Course, assessment_id: int) -> Assessment:
    row = session.get(Assessment, assessment_id)
    if row is None or row.course_id != course.id:
        raise NotFound(f"assessment: course {course.id} has no assessment {assessment_id}.")
    if row.voided_at is not None:
        raise TransitionRefused(f"assessment: assessment {assessment_id} is already voided.")
    return row


def void_assessment(
    *,
    session: Session,
    course_id: int,
    assessment_id: int,
    reason: str,
    by: str,
    clock: Clock,
    signal: RelapseSignal,
) -> Course:
    """Voids an assessment: the follow-ups it completed are completed by another live
    assessment that would have done so, else re-opened; the suspected-relapse flag is
    worked out again from the live assessments."""
    reason = required_text(reason, "reason")
    course = course_by_id(session, course_id)
    require(course, "void_assessment")
    row = _find_assessment(session, course, assessment_id)
    _void(row, reason=reason, by=by, clock=clock)
    session.flush()
    notes = _redo_assessment_followups(session, course, f"assessment:{row.id}", clock)
    flag = recompute_relapse_flag(session, course, signal, clock)
    if flag:
        notes.append(flag)
    note = f"assessment {row.id} of {row.date.isoformat()} voided: {reason}"
    if notes:
        note += "; " + "; ".join(notes)
    transition(
        session, course, "void_assessment", by=by, clock=clock, on=clock.today(), reason=note
    )
    return course


def recompute_relapse_flag(
    session: Session, course: Course, signal: RelapseSignal, clock: Clock
) -> str | None:
    """Works the suspected-relapse flag out again from the live assessments recorded
    since it was last dismissed; says what changed (None: nothing)."""
    if course.state != CourseState.MONITORING or course.last_infusion_date is None:
        return None
    before = course.suspected_relapse
    rows = session.scalars(
        select(Assessment)
        .where(Assessment.course_id == course.id, Assessment.voided_at.is_(None))
        .order_by(Assessment.id)
    ).all()
    since = _last_dismissal(session, course)
    flag = None
    for index, latest in enumerate(rows):
        if latest.vas is None or (since is not None and latest.recorded_at <= since):
            continue
        rise = pain_rise(
            earlier=[(a.date, a.vas) for a in rows[:index]],
            latest=(latest.date, latest.vas),
            last_infusion=course.last_infusion_date,
            rise_points=signal.rise_points,
            rise_fraction=signal.rise_fraction,
            responder=responded(session, course),
        )
        if rise is not None:
            flag = _flag(rise, latest.id, signal, before, clock)
            break
    course.suspected_relapse = flag
    if before == flag:
        return None
    if flag is None:
        return "suspected relapse no longer flagged"
    return f"suspected relapse: {flag['evidence']}"


def _flag(
    rise: Rise,
    assessment_id: int,
    signal: RelapseSignal,
    before: dict[str, Any] | None,
    clock: Clock,
) -> dict[str, Any]:
    if isinstance(before, dict) and before.get("assessment_id") == assessment_id:
        return before
    return {
        "evidence": rise.evidence(),
        "assessment_id": assessment_id,
        "date": rise.on.isoformat(),
        "vas": rise.vas,
        "lowest_vas": rise.lowest_vas,
        "lowest_vas_date": rise.lowest_on.isoformat(),
        "rise_points": rise.points,
        "rise_fraction": rise.fraction,
        "flagged_at": clock.now().isoformat(),
        "source": signal.source,
    }


def _last_dismissal(session: Session, course: Course) -> datetime | None:
    return session.scalar(
        select(Event.at)
        .where(Event.course_id == course.id, Event.trigger == "dismiss_relapse")
        .order_by(Event.id.desc())
        .limit(1)
    )


# -- measurements --------------------------------------------------------------

_MEASURED = {"hba1c": "hba1c_percent", "monofilament": "monofilament_sites_felt"}


def _find_measurement(session: Session, patient: Patient, measurement_id: int) -> Measurement:
    row = session.get(Measurement, measurement_id)
    if row is None or row.patient_id != patient.id:
        raise NotFound(f"measurement: patient {patient.mrn} has no measurement {measurement_id}.")
    if row.voided_at is not None:
        raise TransitionRefused(f"measurement: measurement {measurement_id} is already voided.")
    return row


def _first_live_measurement(session: Session, fu: FollowUp) -> Measurement | None:
    column = getattr(Measurement, _MEASURED[fu.kind])
    return session.scalars(
        select(Measurement)
        .where(
            Measurement.patient_id == fu.patient_id,
            Measurement.voided_at.is_(None),
            column.is_not(None),
            Measurement.recorded_at >= fu.created_at,
            Measurement.date >= fu.due_date - timedelta(days=COMPLETION_WINDOW_DAYS),
        )
        .order_by(Measurement.id)
        .limit(1)
    ).first()


def _open_of_kind(session: Session, patient_id: int, kind: str) -> FollowUp | None:
    return session.scalars(
        select(FollowUp).where(
            FollowUp.patient_id == patient_id,
            FollowUp.course_id.is_(None),
            FollowUp.kind == kind,
            FollowUp.status.in_(OPEN_STATUSES),
        )
    ).first()


def _redo_measurement_followup(
    session: Session, patient: Patient, fu: FollowUp, row: Measurement, clock: Clock
) -> str:
    kind = BY_KIND[fu.kind]
    successor = _open_of_kind(session, patient.id, fu.kind)
    if successor is not None and successor.due_date == next_due_date(kind, row.date):
        # The next one was scheduled from the voided measurement: it goes with it.
        successor.status = Status.CANCELLED.value
        successor.closed_at = clock.now()
        session.flush()
        successor = None
    other = _first_live_measurement(session, fu)
    if other is not None:
        _complete(fu, on=other.date, ref=f"measurement:{other.id}", clock=clock)
        due = next_due_date(kind, other.date)
        if successor is None and due is not None and has_diabetes(patient):
            session.flush()
            session.add(
                FollowUp(
                    patient_id=patient.id,
                    course_id=None,
                    origin_course_id=fu.origin_course_id,
                    kind=fu.kind,
                    due_date=due,
                    status=Status.SCHEDULED.value,
                    created_at=clock.now(),
                )
            )
        return f"follow-up {fu.id} now completed by measurement {other.id}"
    # A patient never has two open follow-ups of one kind: a later one stands instead.
    _reopen(fu, cancel=successor is not None, clock=clock)
    return f"follow-up {fu.id} {'cancelled' if successor is not None else 're-opened'}"


def void_measurement(
    *, session: Session, mrn: str, measurement_id: int, reason: str, by: str, clock: Clock
) -> Measurement:
    """Voids a measurement: a follow-up it completed is completed by another live
    measurement that would have done so, else re-opened; the next one it scheduled goes."""
    reason = required_text(reason, "reason")
    patient = patient_by_mrn(session, mrn, lock=True)
    row = _find_measurement(session, patient, measurement_id)
    _void(row, reason=reason, by=by, clock=clock)
    session.flush()
    notes = [
        _redo_measurement_followup(session, patient, fu, row, clock)
        for fu in _completed_by(session, f"measurement:{row.id}")
    ]
    note = f"measurement {row.id} of {row.date.isoformat()} voided: {reason}"
    if notes:
        note += "; " + "; ".join(notes)
    record(
        session,
        patient_id=patient.id,
        trigger="void_measurement",
        on=clock.today(),
        reason=note,
        by=by,
        at=clock.now(),
    )
    return row


def void_measurement_action(
    *, session: Session, target: str, data: VoidMeasurementBody, actor: Actor, clock: Clock
) -> Patient:
    """The catalogue's ``void-measurement`` (``target``: the MRN); answers the patient."""
    row = void_measurement(
        session=session,
        mrn=target,
        measurement_id=data.measurement,
        reason=data.reason,
        by=actor.name,
        clock=clock,
    )
    return session.get_one(Patient, row.patient_id)
