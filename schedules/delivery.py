"""Delivery: drain the outbox (reminders and every other message), with back-off.

Each message row is claimed on its own by compare-and-set just before it is sent::

    UPDATE reminders SET status='sending', attempts=attempts+1, next_attempt_at=now+LEASE
     WHERE id=… AND status IN ('pending','sending') AND next_attempt_at <= now

``now`` is read from the clock at *each* claim, never once per run: a run that has
been sending for longer than a lease still gives each new claim a full lease. Only
the process whose UPDATE changed the row sends it, so two deliverers never send one
message twice. Every send is bounded by a total deadline (``SEND_DEADLINE``, far
inside the lease), so a live sender never outlives its claim; a claim without
``SEND_DEADLINE`` left on its lease is not sent. The lease makes a crash safe: a row
left 'sending' by a process that died mid-send becomes claimable again when its lease
runs out, and is sent again (the one duplicate the contract allows; ``message_id``
lets the receiver drop it). A failed send goes back to 'pending' with its error and
an exponential back-off, but only while the claim is still ours (same attempt): a
send whose lease ran out never overwrites a newer claim. One bad row never stops the
rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, select, update

from schedules import channels
from workflow import outbox
from workflow.clock import Clock
from workflow.db import transaction
from workflow.errors import log_unexpected
from workflow.models import Reminder
from workflow.outbox import PENDING, SENDING, SENT

log = logging.getLogger("ivig.schedules.delivery")


#: How long a claimed message is left to its sender before another may take it over.
LEASE = timedelta(minutes=10)
#: The longest one send may take, all of it (connect, every read, every write): a
#: receiver trickling bytes cannot stretch a send past it. Far inside the lease.
SEND_DEADLINE = timedelta(seconds=channels.DEADLINE_SECONDS)
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)
PAGE = 200

Sender = Callable[[str, dict[str, Any]], None]


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    id: int
    message_id: str
    channel: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    lease_until: datetime


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` tries: 1, 2, 4 … minutes, at most 1 hour."""
    if attempts <= 1:
        return FIRST_RETRY
    delay: timedelta = FIRST_RETRY * 2 ** min(attempts - 1, 16)
    return min(delay, MAX_RETRY)


def deliver_due(
    engine: Engine,
    *,
    clock: Clock,
    configured: Sequence[str],
    patient_channel: str | None = None,
    send: Sender | None = None,
    page: int = PAGE,
) -> DeliveryReport:
    """Sends every message whose next attempt has come; returns the ids sent and failed.

    The clock is read afresh for each page and each claim: a long run never hands out
    leases that are already over. ``configured``: the ``IVIG_NOTIFY`` URLs;
    ``patient_channel``: the patient SMTP channel (``PatientOutreach.channel``), so
    its stored name resolves."""
    sender: Sender = send or (lambda url, body: channels.send(url, body))
    configured = [*configured, *([patient_channel] if patient_channel else [])]
    report = DeliveryReport()
    handled: set[int] = set()
    while True:
        with transaction(engine) as session:
            ids = session.scalars(
                select(Reminder.id)
                .where(
                    Reminder.status.in_((PENDING, SENDING)),
                    Reminder.next_attempt_at <= clock.now(),
                )
                .order_by(Reminder.next_attempt_at, Reminder.id)
                .limit(page)
            ).all()
        fresh = [i for i in ids if i not in handled]
        if not fresh:
            return report
        for rid in fresh:
            handled.add(rid)
            _deliver_one(engine, rid, clock, configured, sender, report)


def _deliver_one(
    engine: Engine,
    rid: int,
    clock: Clock,
    configured: Sequence[str],
    sender: Sender,
    report: DeliveryReport,
) -> None:
    try:
        claim = _claim(engine, rid, clock.now())
        if claim is None:  # another deliverer has it, or it was sent meanwhile
            return
        sent_at = clock.now()
        if sent_at + SEND_DEADLINE > claim.lease_until:  # the claim is already too old
            _mark_failed(engine, claim, sent_at, "the lease ran out before the send began")
            report.failed.append(rid)
            return
        try:
            body = {
                **claim.payload,
                "message_id": claim.message_id,
                "reminder": claim.kind,
                "sent_at": sent_at.isoformat(),
            }
            sender(channels.resolve(claim.channel, configured), body)
        except Exception as exc:  # any failure of this one row: record it, move on
            reason = str(exc) if isinstance(exc, channels.ChannelError) else type(exc).__name__
            _mark_failed(engine, claim, clock.now(), reason)
            report.failed.append(rid)
            return
        _mark_sent(engine, claim, sent_at)
        report.sent.append(rid)
    except Exception as exc:  # a database error on one row must not stop the others
        log_unexpected(log, exc, f"processing reminder={rid}")
        report.failed.append(rid)


def _claim(engine: Engine, rid: int, now: datetime) -> _Claim | None:
    lease_until = now + LEASE
    with transaction(engine) as session:
        row = session.execute(
            update(Reminder)
            .where(
                Reminder.id == rid,
                Reminder.status.in_((PENDING, SENDING)),
                Reminder.next_attempt_at <= now,
            )
            .values(status=SENDING, attempts=Reminder.attempts + 1, next_attempt_at=lease_until)
            .returning(
                Reminder.message_id,
                Reminder.channel,
                Reminder.kind,
                Reminder.payload,
                Reminder.attempts,
            )
            .execution_options(synchronize_session=False)
        ).one_or_none()
    if row is None:
        return None
    message_id, channel, kind, payload, attempts = row
    return _Claim(rid, message_id, channel, kind, dict(payload), attempts, lease_until)


def _still_ours(claim: _Claim) -> tuple[Any, ...]:
    # The claim stands while the row is 'sending' at the attempt we made.
    return (
        Reminder.id == claim.id,
        Reminder.status == SENDING,
        Reminder.attempts == claim.attempts,
    )


def _mark_sent(engine: Engine, claim: _Claim, sent_at: datetime) -> None:
    done: dict[str, Any] = {"status": SENT, "sent_at": sent_at, "last_error": None}
    if outbox.ENVELOPE in claim.payload and "text" in claim.payload[outbox.ENVELOPE]:
        # A patient's message holds their link: once sent, the row keeps no copy of it.
        done["payload"] = outbox.record(claim.payload)
    with transaction(engine) as session:
        session.execute(
            update(Reminder)
            .where(*_still_ours(claim))
            .values(**done)
            .execution_options(synchronize_session=False)
        )
    log.info(
        "sent reminder=%s message=%s via=%s attempt=%s",
        claim.id,
        claim.message_id,
        _scheme(claim.channel),
        claim.attempts,
    )


def _mark_failed(engine: Engine, claim: _Claim, now: datetime, reason: str) -> None:
    retry_at = now + backoff(claim.attempts)
    with transaction(engine) as session:
        session.execute(
            update(Reminder)
            .where(*_still_ours(claim))
            .values(status=PENDING, last_error=reason[:1000], next_attempt_at=retry_at)
            .execution_options(synchronize_session=False)
        )
    log.warning(
        "failed reminder=%s message=%s via=%s attempt=%s retry_at=%s",
        claim.id,
        claim.message_id,
        _scheme(claim.channel),
        claim.attempts,
        retry_at.isoformat(),
    )


def _scheme(channel: str) -> str:
    return channel if channel == channels.LOG else urlsplit(channel).scheme
