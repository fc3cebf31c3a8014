"""The review-deadline pass: run by the scheduler's raising job and by ``followups raise``.

One transaction; the notices themselves are outbox rows that ``schedules.delivery``
sends like every other message.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine

from workflow.db import transaction
from workflow.review import Policy
from workflow.service.notices import notify_overdue_reviews


def notify_overdue(engine: Engine, *, as_of: date, now: datetime, policy: Policy) -> list[int]:
    """Tells the reviewers about requests waiting past the policy's deadline (once each)."""
    with transaction(engine) as session:
        return notify_overdue_reviews(
            session,
            today=as_of,
            now=now,
            deadline_working_days=policy.review.deadline_working_days,
        )
