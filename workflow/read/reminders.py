"""Read side of the outbox: what ``ivig reminders list`` prints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.errors import InvalidInput
from workflow.models import Reminder
from workflow.outbox import STATUSES


class ReminderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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
    return [ReminderRead.model_validate(r) for r in session.scalars(query)]
