"""Read side of the outbox: what ``ivig reminders list`` prints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from schedules.delivery import STATUSES
from workflow.errors import InvalidInput
from workflow.models import Reminder


class ReminderRead(BaseModel):
    id: int
    message_id: str
    followup_id: int | None
    course_id: int | None
    channel: str
    kind: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def list_reminders(
    *, session: Session, status: str | None = None, followup_id: int | None = None
) -> list[ReminderRead]:
    """Outbox rows (reminders and other messages), oldest first (then by id)."""
    query = select(Reminder).order_by(Reminder.created_at, Reminder.id)
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(
                f"status: {status!r} is not a reminder status ({', '.join(STATUSES)})."
            )
        query = query.where(Reminder.status == status)
    if followup_id is not None:
        query = query.where(Reminder.followup_id == followup_id)
    return [
        ReminderRead(
            id=r.id,
            message_id=r.message_id,
            followup_id=r.followup_id,
            course_id=r.course_id,
            channel=r.channel,
            kind=r.kind,
            status=r.status,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            last_error=r.last_error,
            created_at=r.created_at,
            sent_at=r.sent_at,
        )
        for r in session.scalars(query)
    ]
