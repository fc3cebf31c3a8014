"""What every request shares: the engine, the clock, and one transaction per request."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workflow.clock import Clock
from workflow.db import transaction


@dataclass(frozen=True)
class WebConfig:
    """The app's wiring, kept on ``app.state.config``."""

    engine: Engine
    clock: Callable[[], Clock]
    zone: ZoneInfo
    secret_key: str
    secure_cookies: bool


def config(request: Request) -> WebConfig:
    value: WebConfig = request.app.state.config
    return value


def clock(request: Request) -> Clock:
    return config(request).clock()


@contextmanager
def work(request: Request) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back on any error.

    The response is built from what the block returns, after the commit, so what a
    client sees is exactly what was saved.
    """
    with transaction(config(request).engine) as session:
        yield session


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    """One read-only transaction: on SQLite it takes no lock, so pages that only read
    never queue behind a writer (or each other). Any write in it fails."""
    with transaction(config(request).engine, read_only=True) as session:
        yield session


def deliver_if_urgent(request: Request, extra: Mapping[str, object]) -> None:
    """After a committed action the catalogue marks ``deliver_now`` (a serious adverse
    event): send what the outbox holds due now, as the CLI does, instead of waiting for
    the scheduler's next delivery run. A channel that fails keeps its message for the
    scheduler's retries; the action stands either way."""
    if not extra.get("deliver_now"):
        return
    import logging

    from schedules.delivery import deliver_due  # the channels (httpx, smtplib) load here
    from workflow.config import get_settings

    settings = get_settings()
    try:
        deliver_due(
            config(request).engine,
            clock=clock(request),
            configured=settings.notify_urls(),
            patient_channel=settings.patient_outreach().channel,
        )
    except Exception as exc:  # the scheduler delivers it later
        logging.getLogger(__name__).error(
            "immediate delivery failed (%s); the scheduler retries", type(exc).__name__
        )


def log_list(session: Session, request: Request, actor: str, what: str) -> None:
    """A list, search or download of patients' records in the access log, with its query
    string (a search term, a filter, the page): a full export leaves a trace."""
    from workflow.service.users import log_access

    query = f"?{request.url.query}" if request.url.query else ""
    log_access(session=session, actor=actor, what=f"{what}{query}", at=clock(request).now())


def logged_list(request: Request, actor: str, what: str) -> None:
    """``log_list`` in a short transaction of its own (after a read that took none)."""
    with work(request) as session:
        log_list(session, request, actor, what)
