"""Notices about a request under review, written to the outbox in the transaction that
causes them (``workflow.outbox.enqueue``).

- The requester (as corrected, ``service.prescriber``) is told when a reviewer asks
  for information (``review_question``) and when the request is decided
  (``review_decision``).
- Reviewers are told, once per waiting period, when a request has waited longer than
  the policy's review deadline (``review.deadline_working_days``; kind
  ``escalation``). A request waits from its clinical request date, or from the
  requester's last answer to a question; while a question is open it waits on the
  requester, not on the reviewers.

Payloads carry ids, the MRN, names of staff and dates, never the patient's name.
Working days are Monday to Friday; public holidays are not known to the program.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.models import Course, Event, Patient
from workflow.outbox import ESCALATION, REVIEW_DECISION, REVIEW_QUESTION, enqueue
from workflow.service import prescriber
from workflow.states import CourseState


def working_days_between(start: date, end: date) -> int:
    """Working days (Monday-Friday) after ``start`` up to and including ``end``; 0 if
    ``end`` is not after ``start``."""
    if end <= start:
        return 0
    weeks, extra = divmod((end - start).days, 7)
    count = weeks * 5
    for offset in range(1, extra + 1):
        if (start + timedelta(days=weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


def notify_requester(
    session: Session,
    *,
    course_id: int,
    patient_id: int,
    state: str,
    review_id: int,
    decision: str,
    reviewer: str,
    on: date,
    now: datetime,
    mrn: str,
    to: str,
) -> str:
    """Tells the requester a reviewer asked a question or decided; returns the message id.

    ``state``: the course's state after the review; ``mrn`` and ``to`` (the current
    prescriber, ``prescriber.current``) as the caller read them in this transaction."""
    asked = decision == "info"
    kind = REVIEW_QUESTION if asked else REVIEW_DECISION
    payload = {
        "course_id": course_id,
        "mrn": mrn,
        "to": to,
        "decision": decision,
        "reviewer": reviewer,
        "date": on.isoformat(),
        "state": state,
        "see": f"ivig course show {course_id}",
    }
    what = "asks for information about" if asked else f"decided ({decision})"
    return enqueue(
        session,
        kind=kind,
        payload=payload,
        dedupe_key=f"review-{review_id}",
        course_id=course_id,
        patient_id=patient_id,
        now=now,
        subject=f"IVIG course {course_id}: the reviewer {what} the request",
    )


@dataclass(frozen=True)
class Waiting:
    """A request waiting for review: since when, and how many working days by ``today``."""

    course_id: int
    mrn: str
    requested_by: str
    since: date
    working_days: int


def waiting_since(session: Session, course_ids: list[int]) -> dict[int, date]:
    """When each course's last answer to a question was given (absent: never answered)."""
    if not course_ids:
        return {}
    rows = session.execute(
        select(Event.course_id, func.max(Event.clinical_date))
        .where(Event.course_id.in_(course_ids), Event.trigger == "amend_request")
        .group_by(Event.course_id)
    ).all()
    return {cid: on for cid, on in rows if cid is not None and on is not None}


def waiting_for_review(session: Session, *, today: date) -> list[Waiting]:
    """Requests waiting on the reviewers (no open question), longest first."""
    rows = session.execute(
        select(Course.id, Patient.mrn, Course.requested_by, Course.requested_on)
        .join(Patient, Patient.id == Course.patient_id)
        .where(Course.state == CourseState.REQUESTED.value, Course.awaiting_information.is_(None))
        .order_by(Course.requested_on, Course.id)
    ).all()
    answered = waiting_since(session, [r[0] for r in rows])
    corrected = prescriber.current_by_course(session, [r[0] for r in rows])
    waiting = [
        Waiting(
            cid,
            mrn,
            corrected.get(cid, by),
            max(on, answered.get(cid, on)),
            working_days_between(max(on, answered.get(cid, on)), today),
        )
        for cid, mrn, by, on in rows
    ]
    return sorted(waiting, key=lambda w: (-w.working_days, w.course_id))


def notify_overdue_reviews(
    session: Session, *, today: date, now: datetime, deadline_working_days: int
) -> list[int]:
    """Tells the reviewers about each request waiting longer than the deadline, once per
    waiting period (the message id names the course and the date it waits from);
    returns the courses newly overdue."""
    told: list[int] = []
    for w in waiting_for_review(session, today=today):
        if w.working_days <= deadline_working_days:
            continue
        enqueue(
            session,
            kind=ESCALATION,
            payload={
                "course_id": w.course_id,
                "mrn": w.mrn,
                "to": "reviewers",
                "requested_by": w.requested_by,
                "waiting_since": w.since.isoformat(),
                "working_days_waited": w.working_days,
                "deadline_working_days": deadline_working_days,
                "see": f"ivig course show {w.course_id}",
            },
            dedupe_key=f"review-overdue-{w.course_id}-{w.since.isoformat()}",
            course_id=w.course_id,
            now=now,
            subject=(
                f"IVIG course {w.course_id}: waiting {w.working_days} working days for review"
            ),
        )
        told.append(w.course_id)
    return told
