"""The outbox: every outgoing message is a row written in the transaction that caused it.

Reminders and escalations of follow-ups, adverse-event alerts, review questions and
decisions, patient invitations: all of them are rows of the ``reminders`` table (the
model ``Reminder``), one per message and channel, and ``schedules.delivery`` sends them
at least once per channel, with back-off, under a lease.

To send a message from a service, call :func:`enqueue` inside the service's
transaction::

    from workflow.outbox import enqueue

    enqueue(
        session,
        kind="adverse_event",                 # one of MESSAGE_KINDS
        payload={"course_id": 7, "mrn": "P001", "grade": 3, ...},  # what receivers get
        dedupe_key=f"adverse-event-{event.id}",  # same key → same message, written once
        course_id=7, patient_id=3,            # for the audit trail and ``reminders list``
        now=now,
    )

The message's channels are those of ``IVIG_NOTIFY`` unless ``channels`` is given. If
the transaction rolls back, no message exists; if it commits, every channel gets it.

What every channel record carries: the ``payload`` keys, plus ``message_id`` (the
message's idempotency key: the same on every retry and every channel, different for
every message) and ``reminder`` (the message kind), plus ``sent_at`` stamped at
delivery. The webhook sends ``message_id`` in the ``X-Ivig-Message-Id`` header, the
e-mail in its ``Message-ID``. A payload must name no patient (an MRN is the only
identifier): records land in files, webhooks and mailboxes.

This module imports nothing heavy: the services that enqueue are on the read path.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from sqlalchemy import Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from workflow.errors import InvalidInput
from workflow.models import Reminder

#: What a message is about: the ``reminder`` field of every record (and ``kind`` column).
REMINDER = "reminder"
ESCALATION = "escalation"
ADVERSE_EVENT = "adverse_event"
REVIEW_QUESTION = "review_question"
REVIEW_DECISION = "review_decision"
PATIENT_INVITATION = "patient_invitation"
MESSAGE_KINDS = (
    REMINDER,
    ESCALATION,
    ADVERSE_EVENT,
    REVIEW_QUESTION,
    REVIEW_DECISION,
    PATIENT_INVITATION,
)

#: The channel used when ``IVIG_NOTIFY`` is unset: the message is only logged.
LOG = "log"
SCHEMES = ("file", "smtp", "http", "https")
NAME_LIMIT = 500  # the width of reminders.channel
MESSAGE_ID_LIMIT = 200  # the width of reminders.message_id
#: A payload key kept for the e-mail channel only (never in a JSON record): optional
#: ``subject`` and ``to`` (a list of addresses replacing the channel's ``?to=``).
ENVELOPE = "_envelope"
#: A message's statuses: waiting to be sent (again), claimed by a sender, sent.
PENDING = "pending"
SENDING = "sending"
SENT = "sent"
STATUSES = (PENDING, SENDING, SENT)


def followup_message_id(followup_id: int, kind: str) -> str:
    """The message id of a follow-up's reminder or escalation: one each, stable."""
    return f"followup-{followup_id}-{kind}"


def message_id_for(kind: str, dedupe_key: str | None) -> str:
    """The message id of a message of ``kind``: from its dedupe key, else fresh and unique."""
    key = dedupe_key if dedupe_key is not None else uuid.uuid4().hex
    message_id = key if key.startswith(f"{kind}-") else f"{kind}-{key}"
    if len(message_id) > MESSAGE_ID_LIMIT or any(c.isspace() or c in "<>@" for c in message_id):
        raise ValueError(f"dedupe_key {dedupe_key!r} makes no usable message id")
    return message_id


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: Mapping[str, Any],
    dedupe_key: str | None = None,
    course_id: int | None = None,
    patient_id: int | None = None,
    followup_id: int | None = None,
    now: datetime,
    channels: Sequence[str] | None = None,
    subject: str | None = None,
    email_to: Sequence[str] | None = None,
    text: str | None = None,
) -> str:
    """Writes one message to the outbox, one row per channel, in the caller's transaction.

    - ``kind``: one of ``MESSAGE_KINDS`` (becomes the record's ``reminder`` field).
    - ``payload``: the JSON object every receiver gets (plus ``message_id``,
      ``reminder`` and ``sent_at``); MRNs, ids and dates, never a patient's name.
    - ``dedupe_key``: a key naming this message among its kind (e.g. the adverse
      event's id); enqueueing the same kind and key again writes nothing new. ``None``:
      a new, unique message every call.
    - ``course_id`` / ``patient_id`` / ``followup_id``: what the message is about.
    - ``channels``: configured URLs (``IVIG_NOTIFY``); default the settings'.
    - ``subject`` / ``email_to``: the e-mail subject and recipients (default: a
      subject from the kind, and the channel's ``?to=``); never in JSON records.
    - ``text``: the whole e-mail body (a patient invitation's letter-like text)
      instead of the record's fields; dropped from the row once sent.

    Returns the message id. Raises ``InvalidInput`` for a bad ``IVIG_NOTIFY``.
    """
    if kind not in MESSAGE_KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(MESSAGE_KINDS)}")
    message_id = message_id_for(kind, dedupe_key)
    envelope: dict[str, Any] = {}
    if subject is not None:
        envelope["subject"] = subject
    if email_to:
        envelope["to"] = list(email_to)
    if text is not None:
        envelope["text"] = text
    body = {**payload, "message_id": message_id, "reminder": kind}
    if envelope:
        body[ENVELOPE] = envelope
    names = channel_names(configured_channels() if channels is None else parse_notify(channels))
    write(
        session,
        [
            row(
                message_id=message_id,
                kind=kind,
                channel=name,
                payload=body,
                now=now,
                followup_id=followup_id,
                course_id=course_id,
                patient_id=patient_id,
            )
            for name in names
        ],
    )
    return message_id


def row(
    *,
    message_id: str,
    kind: str,
    channel: str,
    payload: dict[str, Any],
    now: datetime,
    followup_id: int | None = None,
    course_id: int | None = None,
    patient_id: int | None = None,
) -> dict[str, Any]:
    """The values of one outbox row (for :func:`write`)."""
    return {
        "message_id": message_id,
        "followup_id": followup_id,
        "course_id": course_id,
        "patient_id": patient_id,
        "channel": channel,
        "kind": kind,
        "payload": payload,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


#: The outbox table, written by Core statements compiled once per dialect (``write``).
_TABLE: Table = Reminder.__table__  # type: ignore[assignment]
_SKIPPING = {  # inline: the rows' ids are not needed (no RETURNING)
    "postgresql": postgresql.insert(_TABLE).on_conflict_do_nothing().inline(),
    "sqlite": sqlite.insert(_TABLE).on_conflict_do_nothing().inline(),
}


def write(session: Session, values: Sequence[dict[str, Any]]) -> None:
    """Inserts outbox rows; a row whose (message id, channel) exists is skipped.

    Skipping, not failing: a repeat must not roll back the caller's transaction. One
    Core statement on the transaction's connection, after the session's pending rows
    (which the outbox rows may point at) are flushed."""
    if not values:
        return
    session.flush()
    connection = session.connection()
    statement = _SKIPPING.get(connection.dialect.name, insert(_TABLE).inline())
    connection.execute(statement, values[0] if len(values) == 1 else list(values))


def configured_channels() -> list[str]:
    """The URLs of ``IVIG_NOTIFY`` (checked), or ``[LOG]`` when it is unset."""
    from workflow.config import get_settings

    return parse_notify(get_settings().notify_urls())


def channel_names(urls: Iterable[str]) -> list[str]:
    """What is stored per row: each URL without its password."""
    return [redact(url) for url in urls]


def record(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON a file or webhook receives: the payload without the e-mail envelope."""
    return {k: v for k, v in payload.items() if k != ENVELOPE}


# --- channel names: checked here so services can enqueue without importing delivery code


def redact(url: str) -> str:
    """The URL without its password: what is stored and shown."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else host
    return urlunsplit(parts._replace(netloc=netloc))


def parse_notify(urls: Sequence[str]) -> list[str]:
    """Checks each configured URL; returns them (the 'log' channel when none is set)."""
    if not urls:
        return [LOG]
    for url in urls:
        _check(url)
    if len({redact(u) for u in urls}) != len(urls):
        raise InvalidInput("IVIG_NOTIFY: names the same channel twice.")
    return list(urls)


def recipients(url: str) -> list[str]:
    """The addresses of an smtp:// URL's ``?to=``."""
    query = parse_qs(urlsplit(url).query)
    return [addr.strip() for v in query.get("to", []) for addr in v.split(",") if addr.strip()]


def _check(url: str) -> None:
    if url == LOG:
        return
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput(
            "IVIG_NOTIFY: a URL is malformed (its port must be a number from 1 to 65535)."
        ) from None
    shown = redact(url)
    if parts.scheme not in SCHEMES:
        raise InvalidInput(
            f"IVIG_NOTIFY: {shown!r} is not a file://, smtp://, http:// or https:// URL."
        )
    if len(shown) > NAME_LIMIT:
        raise InvalidInput(f"IVIG_NOTIFY: a URL is longer than {NAME_LIMIT} characters.")
    if parts.scheme == "file" and (parts.netloc not in ("", "localhost") or not parts.path):
        raise InvalidInput(f"IVIG_NOTIFY: {shown!r} must be file:///absolute/path.")
    if parts.scheme != "file" and not parts.hostname:
        raise InvalidInput(f"IVIG_NOTIFY: {shown!r} names no host.")
    if port == 0:
        raise InvalidInput(f"IVIG_NOTIFY: {shown!r} has port 0.")
    if parts.scheme == "smtp" and not recipients(url):
        raise InvalidInput(f"IVIG_NOTIFY: {shown!r} needs ?to=ADDRESS.")
