"""Raising: claim due follow-ups exactly once and write their reminders (the outbox).

The claim is a compare-and-set, ``UPDATE followups SET status='raised' … WHERE id IN
(…) AND status='scheduled' RETURNING id``: only the rows this statement changed are
acted on, so two raisers running at once never raise one follow-up twice. On
PostgreSQL the candidate batch is also locked ``FOR UPDATE SKIP LOCKED`` so raisers
take disjoint batches instead of queueing; SQLite ignores that clause (its writers
are serialised by ``BEGIN IMMEDIATE``), which is why the CAS must be right on its own.

The reminder rows are inserted in the same transaction as the claim: a raised
follow-up always has its reminders, and a crash before commit leaves it scheduled.
Work goes in batches (``BATCH_SIZE``) so a large backlog is neither one transaction
per row nor one giant transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, select, update
from sqlalchemy.orm import Session

from workflow import outbox
from workflow.db import transaction
from workflow.followups import ESCALATION_AFTER_DAYS, Status
from workflow.models import FollowUp, Patient
from workflow.outbox import ESCALATION, REMINDER, channel_names, parse_notify
from workflow.schemas import FollowUpRead
from workflow.service import selfreport

T = TypeVar("T")

log = logging.getLogger("ivig.schedules.raising")

BATCH_SIZE = 1000
__all__ = ["ESCALATION", "REMINDER", "escalate_overdue", "raise_and_escalate", "raise_due"]


def raise_due(
    engine: Engine,
    *,
    as_of: date,
    now: datetime,
    channels: Sequence[str],
    batch_size: int = BATCH_SIZE,
) -> list[FollowUpRead]:
    """Raises every scheduled follow-up due on or before ``as_of``; returns those raised here."""
    return _in_batches(
        engine, lambda session: _raise_batch(session, as_of, now, channels, batch_size), batch_size
    )


def escalate_overdue(
    engine: Engine,
    *,
    as_of: date,
    now: datetime,
    channels: Sequence[str],
    batch_size: int = BATCH_SIZE,
) -> list[int]:
    """Escalates, once, each raised follow-up still open ESCALATION_AFTER_DAYS after it was due."""
    return _in_batches(
        engine,
        lambda session: _escalate_batch(session, as_of, now, channels, batch_size),
        batch_size,
    )


def _in_batches(
    engine: Engine, step: Callable[[Session], tuple[list[T], int]], batch_size: int
) -> list[T]:
    """Runs ``step`` (claim one batch) a transaction at a time until a batch comes up short.

    A batch per transaction: 100k due rows are neither 100k commits nor one lock held
    for the whole run."""
    done: list[T] = []
    while True:
        with transaction(engine) as session:
            batch, seen = step(session)
        done.extend(batch)
        if seen < batch_size:
            return done


@dataclass(frozen=True)
class RaiseResult:
    raised: list[FollowUpRead]
    escalated: list[int]
    #: Reminder e-mails to patients who have not answered their invitation.
    patient_reminders: int = 0


def raise_and_escalate(
    engine: Engine, *, as_of: date, now: datetime, notify_urls: Sequence[str]
) -> RaiseResult:
    """One raising pass, as ``followups raise``, the web app and the scheduler all run it:
    raise what is due by ``as_of``, then escalate what is a week overdue, writing the
    reminders for the channels of ``IVIG_NOTIFY`` (refused, before any write, if bad)."""
    channels = parse_notify(list(notify_urls))
    raised = raise_due(engine, as_of=as_of, now=now, channels=channels)
    escalated = escalate_overdue(engine, as_of=as_of, now=now, channels=channels)
    with transaction(engine) as session:
        reminded = selfreport.send_reminders(session, now=now)
    return RaiseResult(raised, escalated, reminded)


def _raise_batch(
    session: Session, as_of: date, now: datetime, channels: Sequence[str], size: int
) -> tuple[list[FollowUpRead], int]:
    candidates = _lock_batch(
        session,
        select(FollowUp.id)
        .where(FollowUp.status == Status.SCHEDULED.value, FollowUp.due_date <= as_of)
        .order_by(FollowUp.due_date, FollowUp.id)
        .limit(size),
    )
    if not candidates:
        return [], 0
    claimed = session.scalars(
        update(FollowUp)
        .where(FollowUp.id.in_(candidates), FollowUp.status == Status.SCHEDULED.value)
        .values(status=Status.RAISED.value, raised_at=now)
        .returning(FollowUp.id)
        .execution_options(synchronize_session=False)
    ).all()
    rows = _details(session, claimed)
    _write_outbox(session, rows, REMINDER, now, channels)
    # Enrolled patients are invited to report in the same transaction (issue 17).
    selfreport.send_invitations(session, followup_ids=list(claimed), now=now)
    for row in rows:
        log.info("raised followup=%s due=%s", row["followup_id"], row["due_date"])
    raised = [
        FollowUpRead(
            id=r["followup_id"],
            kind=r["kind"],
            mrn=r["mrn"],
            course_id=r["course_id"],
            due_date=r["due"],
            status=Status.RAISED.value,
            days_overdue=max((as_of - r["due"]).days, 0),
        )
        for r in rows
    ]
    return raised, len(candidates)


def _escalate_batch(
    session: Session, as_of: date, now: datetime, channels: Sequence[str], size: int
) -> tuple[list[int], int]:
    cutoff = as_of - timedelta(days=ESCALATION_AFTER_DAYS)
    still_open = (
        FollowUp.status == Status.RAISED.value,
        FollowUp.escalated_at.is_(None),
        FollowUp.due_date <= cutoff,
    )
    candidates = _lock_batch(
        session,
        select(FollowUp.id).where(*still_open).order_by(FollowUp.due_date, FollowUp.id).limit(size),
    )
    if not candidates:
        return [], 0
    claimed = session.scalars(
        update(FollowUp)
        .where(FollowUp.id.in_(candidates), *still_open)
        .values(escalated_at=now)
        .returning(FollowUp.id)
        .execution_options(synchronize_session=False)
    ).all()
    rows = _details(session, claimed)
    _write_outbox(session, rows, ESCALATION, now, channels)
    for row in rows:
        log.info("escalated followup=%s due=%s", row["followup_id"], row["due_date"])
    return [r["followup_id"] for r in rows], len(candidates)


def _lock_batch(session: Session, query: Select[int]) -> list[int]:
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _details(session: Session, ids: Sequence[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    found = session.execute(
        select(
            FollowUp.id,
            FollowUp.kind,
            FollowUp.course_id,
            FollowUp.due_date,
            Patient.mrn,
            FollowUp.patient_id,
        )
        .join(Patient, Patient.id == FollowUp.patient_id)
        .where(FollowUp.id.in_(ids))
        .order_by(FollowUp.due_date, FollowUp.id)
    ).all()
    return [
        {
            "followup_id": fid,
            "kind": kind,
            "mrn": mrn,
            "course_id": course_id,
            "due_date": due.isoformat(),
            "due": due,
            "patient_id": patient_id,
        }
        for fid, kind, course_id, due, mrn, patient_id in found
    ]


def payload(row: dict[str, Any], reminder: str) -> dict[str, Any]:
    """What a receiver gets, less ``sent_at`` (stamped at delivery)."""
    keys = ("followup_id", "kind", "mrn", "course_id", "due_date")
    return {
        **{k: row[k] for k in keys},
        "message_id": outbox.followup_message_id(row["followup_id"], reminder),
        "reminder": reminder,
    }


def _write_outbox(
    session: Session,
    rows: Sequence[dict[str, Any]],
    reminder: str,
    now: datetime,
    channels: Sequence[str],
) -> None:
    # One message per follow-up and kind, whatever the channel: its id is the receiver's
    # key to drop a repeat, and a reminder and its escalation never share one. The unique
    # (message_id, channel) makes a repeat a no-op, not an error rolling back the batch.
    names = channel_names(channels)
    outbox.write(
        session,
        [
            outbox.row(
                message_id=outbox.followup_message_id(row["followup_id"], reminder),
                kind=reminder,
                channel=name,
                payload=payload(row, reminder),
                now=now,
                followup_id=row["followup_id"],
                course_id=row["course_id"],
                patient_id=row["patient_id"],
            )
            for row in rows
            for name in names
        ],
    )
