"""Where reminders go: the URLs of ``IVIG_NOTIFY`` (file, SMTP, webhook) or the log.

A channel is stored on each reminder row by its *name*: the URL with any password
removed, so credentials never reach the database. At delivery the name is matched
back to the configured URL to find them (``resolve``).

Every send either returns or raises ``ChannelError`` with a short reason that
names no patient; the caller records it and retries later.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import httpx

from workflow.errors import InvalidInput

log = logging.getLogger("ivig.schedules.channels")

#: The channel used when ``IVIG_NOTIFY`` is unset: the reminder is only logged.
LOG = "log"
SCHEMES = ("file", "smtp", "http", "https")
#: Seconds a single SMTP or HTTP exchange may take before it counts as failed.
TIMEOUT_SECONDS = 10.0
#: Exactly these keys reach a receiver (``reminder`` says reminder or escalation).
PAYLOAD_KEYS = ("followup_id", "kind", "mrn", "course_id", "due_date", "sent_at", "reminder")
NAME_LIMIT = 500  # the width of reminders.channel


class ChannelError(Exception):
    """A send failed; the message is safe to store and show (no patient data)."""


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


def _check(url: str) -> None:
    parts = urlsplit(url)
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
    if parts.scheme == "smtp" and not _recipients(url):
        raise InvalidInput(f"IVIG_NOTIFY: {shown!r} needs ?to=ADDRESS.")


def resolve(name: str, configured: Sequence[str]) -> str:
    """The configured URL (with credentials) whose name is ``name``; else the name itself."""
    for url in configured:
        if redact(url) == name:
            return url
    return name


def send(url: str, payload: dict[str, Any], *, timeout: float = TIMEOUT_SECONDS) -> None:
    """Delivers one reminder payload to one channel, or raises ChannelError."""
    scheme = LOG if url == LOG else urlsplit(url).scheme
    try:
        if scheme == LOG:
            log.info(
                "reminder followup=%s reminder=%s logged (IVIG_NOTIFY unset)",
                payload["followup_id"],
                payload.get("reminder", "reminder"),
            )
        elif scheme == "file":
            _append_line(unquote(urlsplit(url).path), payload)
        elif scheme == "smtp":
            _email(url, payload, timeout)
        elif scheme in ("http", "https"):
            _post(url, payload, timeout)
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


def _recipients(url: str) -> list[str]:
    query = parse_qs(urlsplit(url).query)
    return [addr.strip() for v in query.get("to", []) for addr in v.split(",") if addr.strip()]


def _email(url: str, payload: dict[str, Any], timeout: float) -> None:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    message = EmailMessage()
    escalation = payload.get("reminder") == "escalation"
    what = "OVERDUE follow-up" if escalation else "Follow-up due"
    # The MRN is the only patient identifier an e-mail carries: never a name.
    message["Subject"] = f"IVIG {what}: {payload['kind']} for MRN {payload['mrn']}"
    message["From"] = query.get("from", ["ivig-reminders@localhost"])[0]
    message["To"] = ", ".join(_recipients(url))
    message["Message-ID"] = make_msgid(f"ivig-followup-{payload['followup_id']}")
    message["X-Ivig-Followup-Id"] = str(payload["followup_id"])
    lines = [f"{key}: {payload.get(key)}" for key in PAYLOAD_KEYS]
    message.set_content(
        "\n".join(lines) + "\n\n" + json.dumps(payload, sort_keys=True) + "\n",
    )
    with smtplib.SMTP(parts.hostname or "", parts.port or 25, timeout=timeout) as smtp:
        if query.get("starttls", ["0"])[0] in ("1", "true", "yes"):
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)


def _post(url: str, payload: dict[str, Any], timeout: float) -> None:
    response = httpx.post(
        url,
        json=payload,
        timeout=timeout,
        headers={"X-Ivig-Followup-Id": str(payload["followup_id"])},
    )
    if not response.is_success:
        raise ChannelError(f"HTTP {response.status_code} from the webhook")
