"""Follow-up rows: made, completed and cancelled inside the transaction that causes it."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.clock import Clock
from workflow.followups import (
    COMPLETION_WINDOW_DAYS,
    OPEN_STATUSES,
    PLAN,
    Level,
    Status,
    first_due_date,
    next_due_date,
    plan_for,
    satisfied_kinds,
)
from workflow.models import Course, FollowUp, Patient
from workflow.states import CourseState

#: States of a course whose follow-up plan was made (it entered monitoring).
_PLANNED = (
    CourseState.MONITORING.value,
    CourseState.RELAPSED.value,
    CourseState.RETREATED.value,
    CourseState.COMPLETED.value,
)


def has_diabetes(patient: Patient) -> bool:
    return patient.diabetes not in (None, "", "none")


def lock_patient(session: Session, patient: Patient) -> None:
    """Takes the patient's row lock on PostgreSQL (SQLite's write transaction already
    holds the whole database), as every writer of patient-level follow-ups does.

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: by now the transaction has inserted rows
    that point at the patient (history), each taking a ``KEY SHARE`` lock on the row, as
    has a second course of the same patient finishing at once. Two ``FOR UPDATE`` locks
    would each wait for the other's ``KEY SHARE``: a deadlock. ``NO KEY UPDATE`` does not
    conflict with ``KEY SHARE`` but does with itself, so the two still take turns."""
    query = select(Patient.id).where(Patient.id == patient.id)
    session.execute(query.with_for_update(key_share=True))


def schedule_for_course(
    session: Session, *, course: Course, patient: Patient, last_infusion: date, clock: Clock
) -> list[FollowUp]:
    """Creates the plan's follow-ups as the course enters monitoring.

    Patient-level kinds are created only when the patient has none open, so a
    second course never doubles the HbA1c or monofilament reminders. The patient's row
    lock makes two courses of one patient finishing at once take turns: the second
    sees what the first made (else both would insert, and the one-open-per-kind index
    would fail the second with an internal error).
    """
    lock_patient(session, patient)
    now = clock.now()
    open_patient_kinds = set(
        session.scalars(
            select(FollowUp.kind).where(
                FollowUp.patient_id == patient.id,
                FollowUp.course_id.is_(None),
                FollowUp.status.in_(OPEN_STATUSES),
            )
        )
    )
    made: list[FollowUp] = []
    for kind in plan_for(has_diabetes=has_diabetes(patient)):
        if kind.level is Level.PATIENT and kind.kind in open_patient_kinds:
            continue
        made.append(
            FollowUp(
                patient_id=patient.id,
                course_id=course.id if kind.level is Level.COURSE else None,
                origin_course_id=course.id,
                kind=kind.kind,
                due_date=first_due_date(kind, last_infusion),
                status=Status.SCHEDULED.value,
                created_at=now,
            )
        )
    session.add_all(made)
    return made


def diabetes_changed(
    session: Session, *, patient: Patient, had_diabetes: bool, clock: Clock
) -> str | None:
    """Plans or cancels the diabetes follow-ups after a correction of diabetes status.

    Diabetes on: the patient's newest course whose plan was made (it entered
    monitoring) gets the diabetes kinds it would have had, due as planned from its
    last infusion date L, or today when that date has passed; kinds already open are
    left alone. Diabetes off: the open diabetes follow-ups are cancelled (kept, with
    ``closed_at``). Answers a note for the history row, or None when nothing changed.
    The caller holds the patient's row lock.
    """
    now, today = clock.now(), clock.today()
    if has_diabetes(patient) == had_diabetes:
        return None
    diabetes_kinds = [k for k in PLAN if k.diabetes_only]
    open_rows = {
        row.kind: row
        for row in session.scalars(
            select(FollowUp).where(
                FollowUp.patient_id == patient.id,
                FollowUp.course_id.is_(None),
                FollowUp.kind.in_([k.kind for k in diabetes_kinds]),
                FollowUp.status.in_(OPEN_STATUSES),
            )
        )
    }
    if not has_diabetes(patient):
        rows = sorted(open_rows.values(), key=lambda r: r.id)
        for row in rows:
            row.status = Status.CANCELLED.value
            row.closed_at = now
        return _note(rows, "cancelled: the patient has no diabetes") if rows else None
    course = session.scalars(
        select(Course)
        .where(
            Course.patient_id == patient.id,
            Course.state.in_(_PLANNED),
            Course.last_infusion_date.is_not(None),
        )
        .order_by(Course.last_infusion_date.desc(), Course.id.desc())
        .limit(1)
    ).one_or_none()
    if course is None or course.last_infusion_date is None:
        return None  # planned when a course enters monitoring
    made = [
        FollowUp(
            patient_id=patient.id,
            course_id=None,
            origin_course_id=course.id,
            kind=kind.kind,
            due_date=max(first_due_date(kind, course.last_infusion_date), today),
            status=Status.SCHEDULED.value,
            created_at=now,
        )
        for kind in diabetes_kinds
        if kind.kind not in open_rows
    ]
    session.add_all(made)
    session.flush()
    return _note(made, f"planned from course {course.id}") if made else None


def _note(rows: list[FollowUp], what: str) -> str:
    listed = ", ".join(f"{r.id} ({r.kind}, due {r.due_date.isoformat()})" for r in rows)
    return f"follow-up{'s' if len(rows) > 1 else ''} {listed} {what}"


def cancel_for_course(session: Session, *, course: Course, clock: Clock) -> int:
    """Cancels the course's own open follow-ups (closed, discontinued or cancelled course)."""
    rows = session.scalars(
        select(FollowUp).where(FollowUp.course_id == course.id, FollowUp.status.in_(OPEN_STATUSES))
    ).all()
    for row in rows:
        row.status = Status.CANCELLED.value
        row.closed_at = clock.now()
    return len(rows)


def complete_with_assessment(
    session: Session, *, course: Course, on: date, fields: set[str], ref: str, clock: Clock
) -> list[FollowUp]:
    """An assessment completes the course's open follow-ups it satisfies, due within 7 days."""
    kinds = [k.kind for k in satisfied_kinds(fields, Level.COURSE)]
    if not kinds:
        return []
    rows = session.scalars(
        select(FollowUp).where(
            FollowUp.course_id == course.id,
            FollowUp.kind.in_(kinds),
            FollowUp.status.in_(OPEN_STATUSES),
            FollowUp.due_date <= on + timedelta(days=COMPLETION_WINDOW_DAYS),
        )
    ).all()
    for row in rows:
        _complete(row, on=on, ref=ref, clock=clock)
    return list(rows)


def complete_with_measurement(
    session: Session, *, patient: Patient, on: date, fields: set[str], ref: str, clock: Clock
) -> list[FollowUp]:
    """A measurement completes the patient's open follow-ups it satisfies, due within 7 days,
    and schedules the next one from the measurement date."""
    completed: list[FollowUp] = []
    for kind in satisfied_kinds(fields, Level.PATIENT):
        rows = session.scalars(
            select(FollowUp).where(
                FollowUp.patient_id == patient.id,
                FollowUp.course_id.is_(None),
                FollowUp.kind == kind.kind,
                FollowUp.status.in_(OPEN_STATUSES),
                FollowUp.due_date <= on + timedelta(days=COMPLETION_WINDOW_DAYS),
            )
        ).all()
        for row in rows:
            _complete(row, on=on, ref=ref, clock=clock)
            completed.append(row)
        due = next_due_date(kind, on)
        if rows and due is not None and has_diabetes(patient):
            # Flush first: the partial unique index allows one open row per kind.
            session.flush()
            session.add(
                FollowUp(
                    patient_id=patient.id,
                    course_id=None,
                    origin_course_id=rows[0].origin_course_id,
                    kind=kind.kind,
                    due_date=due,
                    status=Status.SCHEDULED.value,
                    created_at=clock.now(),
                )
            )
    return completed


def _complete(row: FollowUp, *, on: date, ref: str, clock: Clock) -> None:
    row.status = Status.DONE.value
    row.completed_on = on
    row.completed_by = ref
    row.closed_at = clock.now()
