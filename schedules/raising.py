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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    JSON,
    Engine,
    Integer,
    Select,
    String,
    Update,
    cast,
    func,
    literal,
    select,
    true,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from workflow import outbox
from workflow.config import PatientOutreach
from workflow.db import transaction
from workflow.followups import ESCALATION_AFTER_DAYS, Status
from workflow.models import FollowUp, Patient, Reminder, UTCDateTime
from workflow.outbox import ESCALATION, REMINDER, channel_names, parse_notify
from workflow.schemas import FollowUpRead
from workflow.service import selfreport
from workflow.service.common import id_in

T = TypeVar("T")

log = logging.getLogger("ivig.schedules.raising")

BATCH_SIZE = 1000
#: No patient e-mail configured: invitations go to the log channel, with default links.
NO_OUTREACH = PatientOutreach()
__all__ = [
    "ESCALATION",
    "REMINDER",
    "escalate_batches",
    "escalate_overdue",
    "raise_and_escalate",
    "raise_batches",
    "raise_due",
]


def raise_batches(
    engine: Engine,
    *,
    as_of: date,
    now: datetime,
    channels: Sequence[str],
    batch_size: int = BATCH_SIZE,
    outreach: PatientOutreach = NO_OUTREACH,
) -> Iterator[list[FollowUpRead]]:
    """Raises every scheduled follow-up due on or before ``as_of``, a committed batch at
    a time, yielding each batch's rows (soonest due first) after its commit: a caller
    prints or counts them as they come, and memory stays that of one batch. Enrolled
    patients are invited by ``outreach`` (the default: the log channel, default links)."""
    return _in_batches(
        engine,
        lambda session: _raise_batch(session, as_of, now, channels, batch_size, outreach),
        batch_size,
    )


def raise_due(
    engine: Engine,
    *,
    as_of: date,
    now: datetime,
    channels: Sequence[str],
    batch_size: int = BATCH_SIZE,
    outreach: PatientOutreach = NO_OUTREACH,
) -> list[FollowUpRead]:
    """Raises every scheduled follow-up due on or before ``as_of``; returns those raised
    here (all of them: for a backlog of unknown size use ``raise_batches``)."""
    batches = raise_batches(
        engine, as_of=as_of, now=now, channels=channels, batch_size=batch_size, outreach=outreach
    )
    return [row for batch in batches for row in batch]


def escalate_batches(
    engine: Engine,
    *,
    as_of: date,
    now: datetime,
    channels: Sequence[str],
    batch_size: int = BATCH_SIZE,
) -> Iterator[list[int]]:
    """Escalates, once, each raised follow-up still open ESCALATION_AFTER_DAYS after it
    was due; yields the ids of each committed batch."""
    return _in_batches(
        engine,
        lambda session: _escalate_batch(session, as_of, now, channels, batch_size),
        batch_size,
    )


def escalate_overdue(
    engine: Engine,
    *,
    as_of: date,
    now: datetime,
    channels: Sequence[str],
    batch_size: int = BATCH_SIZE,
) -> list[int]:
    """``escalate_batches``, all ids in one list."""
    batches = escalate_batches(
        engine, as_of=as_of, now=now, channels=channels, batch_size=batch_size
    )
    return [fid for batch in batches for fid in batch]


def _in_batches(
    engine: Engine, step: Callable[[Session], list[T]], batch_size: int
) -> Iterator[list[T]]:
    """Runs ``step`` (claim one batch) a transaction at a time until a batch comes up short.

    A batch per transaction: 100k due rows are neither 100k commits nor one lock held
    for the whole run. Each batch is yielded after its commit."""
    while True:
        with transaction(engine) as session:
            batch = step(session)
        if batch:
            yield batch
        if len(batch) < batch_size:
            return


@dataclass(frozen=True)
class RaiseResult:
    #: The rows raised (empty when they went to ``each_raised`` instead).
    raised: list[FollowUpRead]
    escalated: list[int]
    #: Reminder e-mails to patients who have not answered their invitation.
    patient_reminders: int = 0
    raised_count: int = 0
    escalated_count: int = 0


def raise_and_escalate(
    engine: Engine,
    *,
    as_of: date,
    now: datetime,
    notify_urls: Sequence[str],
    outreach: PatientOutreach,
    each_raised: Callable[[list[FollowUpRead]], object] | None = None,
    keep_escalated: bool = True,
) -> RaiseResult:
    """One raising pass, as ``followups raise``, the web app and the scheduler all run it:
    raise what is due by ``as_of``, then escalate what is a week overdue, writing the
    reminders for the channels of ``IVIG_NOTIFY`` (refused, before any write, if bad);
    patients are invited and reminded by ``outreach`` (``Settings.patient_outreach``).

    ``each_raised``: called with each committed batch of raised rows, which are then
    not kept (the CLI prints them as they come; the scheduler only counts them), so a
    backlog of any size runs in the memory of one batch. ``keep_escalated=False``: only
    count the escalations."""
    channels = parse_notify(list(notify_urls))
    raised: list[FollowUpRead] = []
    raised_count = 0
    for batch in raise_batches(engine, as_of=as_of, now=now, channels=channels, outreach=outreach):
        raised_count += len(batch)
        if each_raised is None:
            raised.extend(batch)
        else:
            each_raised(batch)
    escalated: list[int] = []
    escalated_count = 0
    for ids in escalate_batches(engine, as_of=as_of, now=now, channels=channels):
        escalated_count += len(ids)
        if keep_escalated:
            escalated.extend(ids)
    with transaction(engine) as session:
        reminded = selfreport.send_reminders(session, now=now, outreach=outreach)
    return RaiseResult(raised, escalated, reminded, raised_count, escalated_count)


def _raise_batch(
    session: Session,
    as_of: date,
    now: datetime,
    channels: Sequence[str],
    size: int,
    outreach: PatientOutreach,
) -> list[FollowUpRead]:
    candidates = (
        select(FollowUp.id)
        .where(FollowUp.status == Status.SCHEDULED.value, FollowUp.due_date <= as_of)
        .order_by(FollowUp.due_date, FollowUp.id)
        .limit(size)
    )
    claim = update(FollowUp).where(FollowUp.status == Status.SCHEDULED.value)
    rows = _claim_and_write(
        session,
        candidates,
        claim.values(status=Status.RAISED.value, raised_at=now),
        REMINDER,
        now,
        channels,
    )
    invited: dict[int, str] = {}
    if rows:
        # Enrolled patients are invited to report in the same transaction (issue 17).
        invited = selfreport.send_invitations(
            session, followup_ids=[r.id for r in rows], now=now, outreach=outreach
        )
    if log.isEnabledFor(logging.INFO):
        for r in rows:
            log.info("raised followup=%s due=%s", r.id, r.due_date)
    return [
        FollowUpRead(
            id=r.id,
            kind=r.kind,
            mrn=r.mrn,
            course_id=r.course_id,
            due_date=r.due_date,
            status=Status.RAISED.value,
            days_overdue=max((as_of - r.due_date).days, 0),
            self_report=invited.get(r.id),
        )
        for r in rows
    ]


def _escalate_batch(
    session: Session, as_of: date, now: datetime, channels: Sequence[str], size: int
) -> list[int]:
    cutoff = as_of - timedelta(days=ESCALATION_AFTER_DAYS)
    still_open = (
        FollowUp.status == Status.RAISED.value,
        FollowUp.escalated_at.is_(None),
        FollowUp.due_date <= cutoff,
    )
    candidates = (
        select(FollowUp.id).where(*still_open).order_by(FollowUp.due_date, FollowUp.id).limit(size)
    )
    claim = update(FollowUp).where(*still_open).values(escalated_at=now)
    rows = _claim_and_write(session, candidates, claim, ESCALATION, now, channels)
    if log.isEnabledFor(logging.INFO):
        for r in rows:
            log.info("escalated followup=%s due=%s", r.id, r.due_date)
    return [r.id for r in rows]


class Claimed(NamedTuple):
    id: int
    kind: str
    course_id: int | None
    due_date: date
    mrn: str


def _claim_and_write(
    session: Session,
    candidates: Select[int],
    claim: Update,
    reminder: str,
    now: datetime,
    channels: Sequence[str],
) -> list[Claimed]:
    """Claims the ``candidates`` (compare-and-set: ``claim`` repeats the condition they
    were chosen by) and writes one outbox row per claimed follow-up and channel, set-based:

    - PostgreSQL: one statement, a data-modifying CTE (the candidates locked ``FOR UPDATE
      SKIP LOCKED``, the ``UPDATE … RETURNING``, the ``INSERT … SELECT`` of the outbox
      rows with their JSON payloads built by the server) that returns the claimed rows;
    - SQLite: ``UPDATE … RETURNING`` then ``INSERT … SELECT`` (its writers are already
      serialised by ``BEGIN IMMEDIATE``).

    Returns the claimed rows, soonest due first."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        candidates = candidates.with_for_update(skip_locked=True)
    claimed = (
        claim.where(FollowUp.id.in_(candidates.scalar_subquery()))
        .returning(
            FollowUp.id, FollowUp.kind, FollowUp.course_id, FollowUp.patient_id, FollowUp.due_date
        )
        .execution_options(synchronize_session=False)
    )
    names = channel_names(channels)
    if postgres:
        cte = claimed.cte("claimed")
        written = _outbox_insert(cte, reminder, now, names, postgres=True).cte("written")
        found = session.execute(
            select(cte.c.id, cte.c.kind, cte.c.course_id, cte.c.due_date, Patient.mrn)
            .join_from(cte, Patient, Patient.id == cte.c.patient_id)
            .add_cte(written)
        ).all()
    else:
        ids = [r.id for r in session.execute(claimed)]
        if not ids:
            return []
        chosen = (
            select(
                FollowUp.id,
                FollowUp.kind,
                FollowUp.course_id,
                FollowUp.patient_id,
                FollowUp.due_date,
            )
            .where(id_in(FollowUp.id, ids, "sqlite"))
            .subquery("claimed")
        )
        session.execute(_outbox_insert(chosen, reminder, now, names, postgres=False))
        found = session.execute(
            select(
                chosen.c.id, chosen.c.kind, chosen.c.course_id, chosen.c.due_date, Patient.mrn
            ).join_from(chosen, Patient, Patient.id == chosen.c.patient_id)
        ).all()
    return sorted((Claimed(*row) for row in found), key=lambda r: (r.due_date, r.id))


def _outbox_insert(
    claimed: Any, reminder: str, now: datetime, names: Sequence[str], *, postgres: bool
) -> Any:
    """``INSERT INTO reminders … SELECT`` one row per claimed follow-up and channel, the
    payload built in SQL exactly as ``payload()`` builds it in Python; a row whose
    (message id, channel) exists is skipped, as ``outbox.write`` does."""
    c = claimed.c
    message_id = literal("followup-") + cast(c.id, String) + literal(f"-{reminder}")
    due = func.to_char(c.due_date, "YYYY-MM-DD") if postgres else c.due_date
    build = func.json_build_object if postgres else func.json_object
    body = build(
        "followup_id", c.id,
        "kind", c.kind,
        "mrn", Patient.mrn,
        "course_id", c.course_id,
        "due_date", due,
        "message_id", message_id,
        "reminder", reminder,
    )  # fmt: skip
    channel = union_all(*(select(literal(n, String).label("name")) for n in names)).subquery("ch")
    stamp = literal(now, UTCDateTime())
    rows = (
        select(
            message_id,
            c.id,
            c.course_id,
            c.patient_id,
            channel.c.name,
            literal(reminder, String),
            type_coerce(body, JSON),
            literal(outbox.PENDING, String),
            literal(0, Integer),
            stamp,
            stamp,
        )
        .join_from(claimed, Patient, Patient.id == c.patient_id)
        .join(channel, true())
        .where(true())  # SQLite: INSERT … SELECT … ON CONFLICT needs a WHERE to parse
    )
    columns = [
        "message_id",
        "followup_id",
        "course_id",
        "patient_id",
        "channel",
        "kind",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    dialect_insert = postgresql.insert if postgres else sqlite.insert
    return dialect_insert(Reminder).from_select(columns, rows).on_conflict_do_nothing()


def payload(row: dict[str, Any], reminder: str) -> dict[str, Any]:
    """What a receiver gets, less ``sent_at`` (stamped at delivery)."""
    keys = ("followup_id", "kind", "mrn", "course_id", "due_date")
    return {
        **{k: row[k] for k in keys},
        "message_id": outbox.followup_message_id(row["followup_id"], reminder),
        "reminder": reminder,
    }
