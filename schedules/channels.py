"""Where reminders go: the URLs of ``IVIG_NOTIFY`` (file, SMTP, webhook) or the log.

A channel is stored on each reminder row by its *name*: the URL with any password
removed, so credentials never reach the database. At delivery the name is matched
back to the configured URL to find them (``resolve``).

Every send either returns or raises ``ChannelError`` with a short reason that
names no patient; the caller records it and retries later.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import smtplib
import socket
import threading
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from workflow.outbox import LOG, NAME_LIMIT, SCHEMES, parse_notify, recipients, record, redact

__all__ = [
    "LOG",
    "NAME_LIMIT",
    "SCHEMES",
    "ChannelError",
    "parse_notify",
    "redact",
    "resolve",
    "send",
]

log = logging.getLogger("ivig.schedules.channels")

#: Seconds a single SMTP or HTTP operation (connect, one read, one write) may take.
TIMEOUT_SECONDS = 10.0
#: Seconds a whole send may take, however the receiver trickles its answer; far inside
#: the delivery lease (``schedules.delivery.LEASE``, 10 minutes).
DEADLINE_SECONDS = 60.0
#: The keys of a follow-up reminder's record (``reminder`` says reminder or escalation).
PAYLOAD_KEYS = (
    "followup_id",
    "kind",
    "mrn",
    "course_id",
    "due_date",
    "sent_at",
    "reminder",
    "message_id",
)


class ChannelError(Exception):
    """A send failed; the message is safe to store and show (no patient data)."""


def resolve(name: str, configured: Sequence[str]) -> str:
    """The configured URL (with credentials) whose name is ``name``; else the name itself."""
    for url in configured:
        if redact(url) == name:
            return url
    return name


def send(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float = TIMEOUT_SECONDS,
    deadline: float = DEADLINE_SECONDS,
) -> None:
    """Delivers one message to one channel within ``deadline`` seconds in all, or raises
    ChannelError."""
    timeout = min(timeout, deadline)
    scheme = LOG if url == LOG else urlsplit(url).scheme
    try:
        if scheme == LOG:
            log.info(
                "message=%s reminder=%s logged (IVIG_NOTIFY unset)",
                payload.get("message_id"),
                payload.get("reminder", "reminder"),
            )
        elif scheme == "file":
            _append_line(unquote(urlsplit(url).path), record(payload))
        elif scheme == "smtp":
            _email(url, payload, timeout, deadline)
        elif scheme in ("http", "https"):
            _post(url, record(payload), timeout, deadline)
        else:
            raise ChannelError(f"unknown channel scheme {scheme!r}")
    except ChannelError:
        raise
    except (OSError, smtplib.SMTPException, httpx.HTTPError) as exc:
        raise ChannelError(_reason(exc)) from None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _append_line(path: str, payload: dict[str, Any]) -> None:
    # One write() of one line to an O_APPEND file: concurrent writers never interleave
    # inside a line on a local file system.
    line = (json.dumps(payload, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise ChannelError(f"short write to the reminder file ({written} of {len(line)})")
    finally:
        os.close(fd)


SUBJECTS = {
    "reminder": "Follow-up due",
    "escalation": "OVERDUE follow-up",
    "adverse_event": "Adverse event",
    "review_question": "Question about a course request",
    "review_decision": "Review decision",
    "patient_invitation": "Your treatment follow-up",
}


def _subject(payload: dict[str, Any], envelope: dict[str, Any]) -> str:
    if envelope.get("subject"):
        return str(envelope["subject"])
    reminder = str(payload.get("reminder", "reminder"))
    what = SUBJECTS.get(reminder, reminder.replace("_", " "))
    # The MRN is the only patient identifier an e-mail carries: never a name.
    if reminder in ("reminder", "escalation"):
        return f"IVIG {what}: {payload.get('kind')} for MRN {payload.get('mrn')}"
    if payload.get("mrn") is not None and reminder != "patient_invitation":
        return f"IVIG {what}: MRN {payload['mrn']}"
    return f"IVIG {what}"


def message_id_header(message_id: str, sender: str) -> str:
    """The e-mail ``Message-ID``: the message id at the sender's domain, so a retry
    (from any host) carries the same one."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "ivig.localhost"
    return f"<{message_id}@{domain}>"


def _email(url: str, payload: dict[str, Any], timeout: float, deadline: float) -> None:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    message = _message(url, payload)
    smtp = smtplib.SMTP(timeout=timeout)
    # smtplib bounds each socket operation only; a watchdog shuts the socket down at the
    # deadline, which ends whatever read or write is blocked.
    expired = threading.Event()
    watchdog = threading.Timer(deadline, _abort, args=(smtp, expired))
    watchdog.daemon = True
    watchdog.start()
    try:
        smtp.connect(parts.hostname or "", parts.port or 25)
        if query.get("starttls", ["0"])[0] in ("1", "true", "yes"):
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        if expired.is_set():
            raise ChannelError(f"the mail server took longer than {deadline:g} s") from None
        raise
    finally:
        watchdog.cancel()
        smtp.close()


def _abort(smtp: smtplib.SMTP, expired: threading.Event) -> None:
    expired.set()
    sock = smtp.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _message(url: str, payload: dict[str, Any]) -> EmailMessage:
    query = parse_qs(urlsplit(url).query)
    envelope = dict(payload.get("_envelope") or {})
    body = record(payload)
    message = EmailMessage()
    message["Subject"] = _subject(body, envelope)
    message["From"] = query.get("from", ["ivig-reminders@localhost"])[0]
    message["To"] = ", ".join(envelope.get("to") or recipients(url))
    # RFC 5322 requires it; a submission server need not add it, and mail without one
    # is marked as suspect by many receivers (a patient's invitation must not be).
    message["Date"] = formatdate(usegmt=True)
    message_id = str(body.get("message_id") or "")
    if message_id:
        message["Message-ID"] = message_id_header(message_id, message["From"])
        message["X-Ivig-Message-Id"] = message_id
    if body.get("followup_id") is not None:
        message["X-Ivig-Followup-Id"] = str(body["followup_id"])
    if envelope.get("text"):
        # A message to a patient: its own plain text, no record fields.
        message.set_content(str(envelope["text"]))
    else:
        keys = PAYLOAD_KEYS if body.get("followup_id") is not None else sorted(body)
        lines = [f"{key}: {body.get(key)}" for key in keys]
        message.set_content(
            "\n".join(lines) + "\n\n" + json.dumps(body, sort_keys=True) + "\n",
        )
    return message


def _post(url: str, payload: dict[str, Any], timeout: float, deadline: float) -> None:
    # httpx's timeouts are per operation: a server trickling a byte every few seconds
    # never trips them. The whole exchange runs under one cancel scope instead.
    import anyio

    headers = {"X-Ivig-Message-Id": str(payload.get("message_id", ""))}
    if payload.get("followup_id") is not None:
        headers["X-Ivig-Followup-Id"] = str(payload["followup_id"])

    async def post() -> httpx.Response:
        with anyio.fail_after(deadline):
            async with httpx.AsyncClient(timeout=timeout) as client:
                return await client.post(url, json=payload, headers=headers)

    try:
        response = anyio.run(post)
    except TimeoutError:
        raise ChannelError(f"the webhook took longer than {deadline:g} s") from None
    if not response.is_success:
        raise ChannelError(f"HTTP {response.status_code} from the webhook")
