"""The audit trails, read back: who viewed which patient's record (``access_log``) and
what was done to accounts (``user_audit``: tokens minted, passwords changed,
deactivations). Plain reads with no rule in them, newest first."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.models import AccessLog, Course, Patient, UserAudit
from workflow.service.common import patient_by_mrn


class AccessRead(BaseModel):
    id: int
    at: datetime
    actor: str
    what: str
    mrn: str | None
    course_id: int | None


class AccountEventRead(BaseModel):
    id: int
    at: datetime
    actor: str
    username: str
    action: str
    detail: str | None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def access_log(
    *,
    session: Session,
    mrn: str | None = None,
    actor: str | None = None,
    since: date | None = None,
    limit: int = 100,
) -> list[AccessRead]:
    """Views of patients' records, newest first. ``mrn`` keeps the views of that patient,
    of one of their courses, or both; lists and searches name no patient (their query is
    in ``what``)."""
    query = (
        select(AccessLog, Patient.mrn)
        .outerjoin(Course, Course.id == AccessLog.course_id)
        .outerjoin(Patient, Patient.id == AccessLog.patient_id)
    )
    if mrn is not None:
        patient = patient_by_mrn(session, mrn)
        query = query.where(
            (AccessLog.patient_id == patient.id) | (Course.patient_id == patient.id)
        )
    if actor is not None:
        query = query.where(AccessLog.actor == actor)
    if since is not None:
        query = query.where(AccessLog.at >= _start_of(since))
    rows = session.execute(query.order_by(AccessLog.at.desc(), AccessLog.id.desc()).limit(limit))
    return [
        AccessRead(
            id=row.id,
            at=row.at,
            actor=row.actor,
            what=row.what,
            mrn=patient_mrn,
            course_id=row.course_id,
        )
        for row, patient_mrn in rows
    ]


def account_events(
    *, session: Session, username: str | None = None, limit: int = 100
) -> list[AccountEventRead]:
    """What was done to accounts, newest first (optionally one account's)."""
    query = select(UserAudit)
    if username is not None:
        query = query.where(UserAudit.username == username)
    rows = session.scalars(query.order_by(UserAudit.at.desc(), UserAudit.id.desc()).limit(limit))
    return [
        AccountEventRead(
            id=r.id, at=r.at, actor=r.actor, username=r.username, action=r.action, detail=r.detail
        )
        for r in rows
    ]
