"""Read-only views the web needs beside ``workflow.service.queries``.

The worklist is composed from the same queries ``course list`` and ``followups
list`` use; the patient list and measurements are plain reads with no rule in them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from workflow.models import Patient
from workflow.schemas import CourseSummary, FollowUpRead, PatientRead
from workflow.service import queries


def list_patients(
    *, session: Session, search: str | None = None, limit: int = 200
) -> list[PatientRead]:
    """Patients by MRN; ``search`` matches the start of the MRN or part of the name."""
    query = select(Patient).order_by(Patient.mrn).limit(limit)
    text = (search or "").strip()
    if text:
        like = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                Patient.mrn.like(f"{like}%", escape="\\"),
                func.lower(Patient.name).like(f"%{like.lower()}%", escape="\\"),
            )
        )
    return [queries.patient_read(p) for p in session.scalars(query)]


#: Follow-up rows the worklist page shows; filters narrow the rest.
PAGE_SIZE = 100


@dataclass(frozen=True)
class Worklist:
    """What a coordinator or reviewer has to act on."""

    pending_reviews: list[CourseSummary]
    awaiting_information: list[CourseSummary]
    suspected_relapses: list[CourseSummary]
    approved: list[CourseSummary]
    followups: list[FollowUpRead]  # the first PAGE_SIZE, soonest due first
    followups_total: int
    due_by: date


def worklist(
    *,
    session: Session,
    today: date,
    due_by: date | None = None,
    mrn: str | None = None,
    kind: str | None = None,
) -> Worklist:
    """Pending reviews, requests awaiting information, suspected relapses, approved
    courses waiting for infusions, and the first page of open follow-ups due by
    ``due_by`` (default today) with their total. Every list is filtered and bounded in
    SQL: a national programme has tens of thousands of open follow-ups."""
    until = due_by or today
    requested = queries.list_courses(session=session, mrn=mrn, state="requested")
    approved = queries.list_courses(session=session, mrn=mrn, state="reviewed")
    approved += queries.list_courses(session=session, mrn=mrn, state="infusing")
    before = until + timedelta(days=1)
    return Worklist(
        pending_reviews=[c for c in requested if not c.awaiting_information],
        awaiting_information=[c for c in requested if c.awaiting_information],
        suspected_relapses=queries.list_courses(
            session=session, mrn=mrn, state="monitoring", suspected=True
        ),
        approved=sorted(approved, key=lambda c: c.id),
        followups=queries.list_followups(
            session=session,
            mrn=mrn,
            kind=kind,
            due_before=before,
            today=today,
            open_only=True,
            limit=PAGE_SIZE,
        ),
        followups_total=queries.count_open_followups(
            session=session, due_before=before, mrn=mrn, kind=kind
        ),
        due_by=until,
    )
