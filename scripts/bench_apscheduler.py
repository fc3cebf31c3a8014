"""The naive design ``scripts/bench.py`` compares raising against: one APScheduler job
per follow-up, kept in APScheduler 3's SQLAlchemyJobStore in the same database.

Each job does, for its one follow-up, what raising does per row: a compare-and-set
claim, the patient's MRN, one reminder row (the same columns and payload), in one
transaction. A sample of jobs is
added and run to completion; the time is then extrapolated linearly to the backlog.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import insert, select, text, update

from workflow.db import engine_for, make_engine, transaction
from workflow.models import FollowUp, Patient, Reminder
from workflow.outbox import followup_message_id

JOB_TABLE = "bench_apscheduler_jobs"
WORKERS = 10  # APScheduler's default thread pool size


def raise_one(url: str, followup_id: int, now_iso: str) -> None:
    """The job: raise one follow-up and write its reminder (importable by name)."""
    now = datetime.fromisoformat(now_iso)
    with transaction(engine_for(url)) as session:
        row = session.execute(
            update(FollowUp)
            .where(FollowUp.id == followup_id, FollowUp.status == "scheduled")
            .values(status="raised", raised_at=now)
            .returning(FollowUp.kind, FollowUp.course_id, FollowUp.due_date, FollowUp.patient_id)
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if row is None:
            return
        kind, course_id, due, patient_id = row
        mrn = session.scalar(select(Patient.mrn).where(Patient.id == patient_id))
        message_id = followup_message_id(followup_id, "reminder")
        session.execute(
            insert(Reminder).values(
                message_id=message_id,
                followup_id=followup_id,
                course_id=course_id,
                patient_id=patient_id,
                channel="log",
                kind="reminder",
                payload={
                    "followup_id": followup_id,
                    "kind": kind,
                    "mrn": mrn,
                    "course_id": course_id,
                    "due_date": due.isoformat(),
                    "message_id": message_id,
                    "reminder": "reminder",
                },
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )


def measure(url: str, ids: Sequence[int], now: datetime, timeout: float = 1800.0) -> float:
    """Seconds to add one job per id to the SQLAlchemyJobStore and run them all."""
    store_engine = make_engine(url)
    done = threading.Event()
    finished: list[int] = []
    errors: list[Any] = []

    def listener(event: JobExecutionEvent) -> None:
        if event.exception is not None:
            errors.append(event.exception)
        finished.append(1)
        if len(finished) == len(ids):
            done.set()

    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=store_engine, tablename=JOB_TABLE)},
        executors={"default": ThreadPoolExecutor(WORKERS)},
        job_defaults={"misfire_grace_time": None, "coalesce": False},
        timezone="UTC",
    )
    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start(paused=True)
    try:
        start = time.perf_counter()
        # The wall clock, not the bench's fixed ``now``: the jobs must be due at once.
        run_at = datetime.now(UTC)
        for fid in ids:
            scheduler.add_job(
                "bench_apscheduler:raise_one",
                DateTrigger(run_date=run_at),
                args=[url, fid, now.isoformat()],
                id=f"followup-{fid}",
                replace_existing=True,
            )
        scheduler.resume()
        if not done.wait(timeout):
            raise RuntimeError(f"APScheduler ran {len(finished)} of {len(ids)} jobs in time")
        seconds = time.perf_counter() - start
    finally:
        scheduler.shutdown(wait=True)
        with store_engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {JOB_TABLE}"))
        store_engine.dispose()
    if errors:
        raise RuntimeError(f"{len(errors)} APScheduler jobs failed, first: {errors[0]!r}")
    return seconds
