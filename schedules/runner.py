"""``ivig scheduler run``: the timer that calls the raising and delivery jobs.

APScheduler is only the timer. The database decides what is due, so the process
keeps nothing worth losing: the job store is in memory and never shared, both
jobs have fixed ids (``replace_existing=True``), never overlap themselves
(``max_instances=1``) and fold missed runs into one (``coalesce=True``). Because
APScheduler would drop a run missed while the process was down, catch-up does
not come from it: both jobs run once, in order, before the timer starts.
SIGTERM and SIGINT stop it cleanly: the running job finishes, then it exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from schedules.channels import parse_notify
from schedules.cycle import raise_then_deliver
from schedules.delivery import DeliveryReport, deliver_due
from schedules.raising import raise_and_escalate
from schedules.review_deadlines import notify_overdue
from workflow.config import Settings
from workflow.db import EngineOptions, engine_for, ensure_schema
from workflow.errors import IvigError, log_unexpected
from workflow.review import load_policy

log = logging.getLogger("ivig.schedules.runner")

RAISE_JOB_ID = "ivig.followups.raise"
DELIVER_JOB_ID = "ivig.reminders.deliver"
DEFAULT_INTERVAL_SECONDS = 60


@dataclass
class TickReport:
    raised: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def _engine(settings: Settings) -> Engine:
    engine = engine_for(settings.database_url, EngineOptions.from_settings(settings))
    ensure_schema(engine)
    return engine


def raise_now(settings: Settings, *, ids: bool = True) -> tuple[list[int], list[int], int, int]:
    """Raises what is due today (in IVIG_TIMEZONE) and escalates what is long overdue.

    Returns (raised ids, escalated ids, raised count, escalated count); ``ids=False``:
    counts only, so the long-running job's memory does not grow with a backlog."""
    clock = settings.clock()
    engine = _engine(settings)
    raised: list[int] = []
    result = raise_and_escalate(
        engine,
        as_of=clock.today(),
        now=clock.now(),
        notify_urls=settings.notify_urls(),
        outreach=settings.patient_outreach(),
        each_raised=(lambda batch: raised.extend(r.id for r in batch)) if ids else _ignore,
        keep_escalated=ids,
    )
    # Requests waiting past the review deadline: the reviewers are told, once each.
    notify_overdue(engine, as_of=clock.today(), now=clock.now(), policy=load_policy())
    return raised, result.escalated, result.raised_count, result.escalated_count


def _ignore(_batch: object) -> None:
    return None


def expire_now(settings: Settings) -> list[int]:
    """Expires the approvals that lapsed by today (the daily pass; idempotent, so running
    it with every raising run costs one indexed query)."""
    from workflow.db import transaction
    from workflow.review import load_policy
    from workflow.service.safety import expire_lapsed

    clock, policy = settings.clock(), load_policy()
    with transaction(_engine(settings)) as session:
        expired = expire_lapsed(session=session, as_of=clock.today(), clock=clock, policy=policy)
        return [c.id for c in expired]


def deliver_now(settings: Settings) -> DeliveryReport:
    """Sends the reminders whose next attempt has come."""
    parse_notify(settings.notify_urls())
    return deliver_due(
        _engine(settings),
        clock=settings.clock(),
        configured=settings.notify_urls(),
        patient_channel=settings.patient_outreach().channel,
    )


def tick(settings: Settings) -> TickReport:
    """Both jobs once, raising first: what ``--once`` and the catch-up at start run."""
    expire_now(settings)
    parse_notify(settings.notify_urls())
    clock = settings.clock()
    cycle = raise_then_deliver(
        _engine(settings),
        as_of=clock.today(),
        clock=clock,
        notify_urls=settings.notify_urls(),
        policy=load_policy(),
        outreach=settings.patient_outreach(),
    )
    delivered = cycle.delivery or DeliveryReport()
    raised = [r.id for r in cycle.raising.raised]
    return TickReport(raised, cycle.raising.escalated, delivered.sent, delivered.failed)


def raise_job(settings: Settings) -> None:
    """The scheduled raising job (with the expiry of lapsed approvals); a failure is
    logged and the next run tries again."""
    try:
        expired = expire_now(settings)
        if expired:
            log.info("expired lapsed approvals of %d courses", len(expired))
    except Exception as exc:
        _failed(exc, "expiry of lapsed approvals")
    try:
        _, _, raised, escalated = raise_now(settings, ids=False)
    except Exception as exc:
        _failed(exc, "raising job")
        return
    if raised or escalated:
        log.info("raising job raised=%d escalated=%d", raised, escalated)


def deliver_job(settings: Settings) -> None:
    """The scheduled delivery job; a failure is logged and the next run tries again."""
    try:
        report = deliver_now(settings)
    except Exception as exc:
        _failed(exc, "delivery job")
        return
    if report.sent or report.failed:
        log.info("delivery job sent=%d failed=%d", len(report.sent), len(report.failed))


def _failed(exc: Exception, what: str) -> None:
    """A job's failure: an expected one (a bad setting, the database unreachable or
    behind) by its kind; anything else with its traceback (never its message, which
    may repeat a patient's data). The next run tries again either way."""
    if isinstance(exc, IvigError):
        log.error("%s failed (%s); the next run retries", what, type(exc).__name__)
    else:
        log_unexpected(log, exc, f"in the scheduler's {what}; the next run retries")


def build_scheduler(settings: Settings, *, interval_seconds: int) -> BackgroundScheduler:
    """A scheduler with the two jobs registered, not yet started."""
    scheduler = BackgroundScheduler(
        timezone=settings.zone,
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=2)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    for job_id, func in ((RAISE_JOB_ID, raise_job), (DELIVER_JOB_ID, deliver_job)):
        scheduler.add_job(
            func,
            IntervalTrigger(seconds=interval_seconds, timezone=settings.zone),
            id=job_id,
            name=job_id,
            args=[settings],
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )
    return scheduler


def run(
    settings: Settings,
    *,
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS,
    stop: threading.Event | None = None,
) -> None:
    """Catches up, then runs the jobs on their interval until ``stop`` is set or a signal."""
    stop = stop or threading.Event()
    with _stop_on_signals(stop):
        log.info("scheduler starting interval=%ss zone=%s", interval_seconds, settings.timezone)
        raise_job(settings)  # catch-up: whatever fell due while no scheduler ran
        deliver_job(settings)
        if stop.is_set():
            log.info("scheduler stopped before its timer started")
            return
        scheduler = build_scheduler(settings, interval_seconds=interval_seconds)
        scheduler.start()
        try:
            # A short wait in a loop, so a signal handler's set() is seen promptly.
            while not stop.wait(0.5):
                pass
        finally:
            scheduler.shutdown(wait=True)
        log.info("scheduler stopped")


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT set ``stop``; handlers can only be installed from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _handler(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler received %s; stopping", signal.Signals(signum).name)
        stop.set()

    previous: dict[signal.Signals, Any] = {
        sig: signal.signal(sig, _handler) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
