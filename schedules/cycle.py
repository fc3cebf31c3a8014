"""Raise, then deliver: the one pass ``followups raise``, the web app's button and the
scheduler's catch-up all run, so they cannot drift apart.

Raising (and escalating, and patients' reminders) and the review-deadline notices
write outbox rows; delivery then sends whatever is pending. The scheduler's two
periodic jobs run the halves on their own timers; this function is both, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from schedules.delivery import DeliveryReport, deliver_due
from schedules.raising import RaiseResult, raise_and_escalate
from schedules.review_deadlines import notify_overdue
from workflow.clock import Clock
from workflow.config import PatientOutreach
from workflow.review import Policy
from workflow.schemas import FollowUpRead


@dataclass
class CycleReport:
    raising: RaiseResult
    #: Courses whose reviewers were told their request is past the review deadline.
    overdue_reviews: list[int]
    #: None when delivery was left to the scheduler.
    delivery: DeliveryReport | None


def raise_then_deliver(
    engine: Engine,
    *,
    as_of: date,
    clock: Clock,
    notify_urls: Sequence[str],
    policy: Policy,
    outreach: PatientOutreach,
    deliver: bool = True,
    each_raised: Callable[[list[FollowUpRead]], object] | None = None,
) -> CycleReport:
    """Raises what is due by ``as_of``, escalates, notices overdue reviews, then sends.

    ``each_raised``: gets each committed batch of raised rows, which are then not kept
    (see ``raise_and_escalate``)."""
    now = clock.now()
    raising = raise_and_escalate(
        engine,
        as_of=as_of,
        now=now,
        notify_urls=notify_urls,
        outreach=outreach,
        each_raised=each_raised,
    )
    overdue = notify_overdue(engine, as_of=as_of, now=now, policy=policy)
    delivery = (
        deliver_due(engine, clock=clock, configured=notify_urls, patient_channel=outreach.channel)
        if deliver
        else None
    )
    return CycleReport(raising, overdue, delivery)
