"""Several PROCESSES on one database, as a hospital group runs several app and
scheduler instances: nothing is lost, nothing is done twice.

Threads in one process (tests/schedules) share an interpreter and a GIL; here each
worker is a spawned process with an engine of its own (tests/scale/workers.py),
or the real ``ivig`` console script. Each test is bounded by a fixed amount of
work and join timeouts; nothing sleeps and nothing is timed.

Already covered elsewhere and not repeated: concurrent ``ivig followups raise``
processes (tests/schedules/test_runner.py), threads raising, escalating and
delivering (tests/schedules/test_raising.py, test_delivery.py).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from schedules.raising import raise_due
from tests.conftest import Ivig
from tests.factories import course_in
from tests.scale import workers
from tests.schedules.conftest import Sink, reminder_counts, seed_due
from workflow.db import engine_for
from workflow.models import Course, Event, FollowUp, Infusion

#: Slow (several OS processes per test): outside the fast lane, ``pytest -m "not slow"``.
pytestmark = pytest.mark.slow

IVIG = str(Path(sys.executable).with_name("ivig"))
DAYS = 5  # the factories' request plans five infusion days
JOIN_SECONDS = 300


@pytest.fixture
def sink(tmp_path: Path) -> Sink:
    return Sink(tmp_path / "reminders.jsonl")


def run_processes(jobs: list[tuple[str, tuple[Any, ...]]]) -> list[dict[str, Any]]:
    """Starts one spawned process per job, released together by a barrier; returns
    their results in job order and fails on any process error."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(len(jobs))
    results = ctx.Queue()
    procs = [
        ctx.Process(target=workers.run_child, args=(target, args, start, results, key))
        for key, (target, args) in enumerate(jobs)
    ]
    for proc in procs:
        proc.start()
    collected = dict(results.get(timeout=JOIN_SECONDS) for _ in procs)
    for proc in procs:
        proc.join(timeout=JOIN_SECONDS)
        assert proc.exitcode == 0, f"a worker process exited with {proc.exitcode}"
    errors = [r["error"] for r in collected.values() if "error" in r]
    assert errors == []
    return [collected[key] for key in range(len(jobs))]


def reviewed_courses(ivig: Ivig, n: int) -> list[int]:
    """``n`` approved courses, one patient each (all with diabetes)."""
    return [course_in(ivig, "reviewed", mrn=f"MP{i}") for i in range(n)]


def versions(url: str, ids: list[int]) -> dict[int, int]:
    with engine_for(url).connect() as conn:
        return dict(conn.execute(select(Course.id, Course.version).where(Course.id.in_(ids))).all())


def assert_infusions_consistent(
    url: str, ids: list[int], before: dict[int, int], results: list[dict[str, Any]]
) -> None:
    """Every accepted change is there exactly once, with its history row and version bump."""
    accepted = Counter(pair for r in results for pair in map(tuple, r["accepted"]))
    assert set(accepted.values()) == {1}, "a day was accepted by two processes"
    assert set(accepted) == {(c, d) for c in ids for d in range(1, DAYS + 1)}
    engine = engine_for(url)
    with engine.connect() as conn:
        infusions = Counter(
            conn.execute(
                select(Infusion.course_id, Infusion.date).where(Infusion.course_id.in_(ids))
            ).all()
        )
        history = Counter(
            conn.execute(
                select(Event.course_id, Event.reason).where(
                    Event.course_id.in_(ids), Event.trigger.in_(("infuse", "finish_infusions"))
                )
            ).all()
        )
        states = dict(conn.execute(select(Course.id, Course.state).where(Course.id.in_(ids))).all())
        plans = dict(
            conn.execute(
                select(FollowUp.origin_course_id, func.count())
                .where(FollowUp.origin_course_id.in_(ids))
                .group_by(FollowUp.origin_course_id)
            ).all()
        )
    expected_days = {(c, workers.infusion_day(d)) for c in ids for d in range(1, DAYS + 1)}
    assert infusions == Counter(expected_days)
    assert history == Counter(
        (c, f"day {d} of {DAYS}: {workers.GRAMS:g} g") for c in ids for d in range(1, DAYS + 1)
    )
    assert states == dict.fromkeys(ids, "monitoring")
    # Each course's version moved once per accepted change, no more, no less.
    assert versions(url, ids) == {c: before[c] + DAYS for c in ids}
    # Entering monitoring once: 2 course-level + HbA1c + monofilament, never doubled.
    assert plans == dict.fromkeys(ids, 4)


def test_processes_infusing_the_same_courses_lose_no_update(ivig: Ivig, db_url: str) -> None:
    ids = reviewed_courses(ivig, 4)
    before = versions(db_url, ids)
    results = run_processes([("infuser", (db_url, ids, DAYS))] * 4)
    assert_infusions_consistent(db_url, ids, before, results)
    attempts = sum(len(r["accepted"]) + r["refused"] + r["conflicts"] for r in results)
    assert attempts == 4 * len(ids) * DAYS  # every attempt was either accepted or refused


def test_transitions_raising_and_delivery_at_once(ivig: Ivig, db_url: str, sink: Sink) -> None:
    """Two processes infusing (whose last day creates follow-ups already due), two
    raising and delivering, two only delivering: each follow-up due is raised once
    and reaches the file sink exactly once."""
    ids = reviewed_courses(ivig, 3)
    before = versions(db_url, ids)
    seeded = seed_due(db_url, 40, start=500)
    jobs: list[tuple[str, tuple[Any, ...]]] = [
        *[("infuser", (db_url, ids, DAYS))] * 2,
        *[("raiser", (db_url, sink.url, 3))] * 2,
        *[("deliverer", (db_url, sink.url, 3))] * 2,
    ]
    results = run_processes(jobs)
    # Whatever fell due after the last round is caught up once more, as a restart would.
    engine = engine_for(db_url)
    late = raise_due(engine, as_of=workers.TODAY, now=workers.NOW, channels=[sink.url])
    final = workers.deliverer(db_url, sink.url, 1, _NoBarrier())

    assert_infusions_consistent(db_url, ids, before, results[:2])
    with engine.connect() as conn:
        due = set(conn.scalars(select(FollowUp.id).where(FollowUp.due_date <= workers.TODAY)).all())
        open_due = conn.scalars(
            select(FollowUp.id).where(
                FollowUp.due_date <= workers.TODAY, FollowUp.status == "scheduled"
            )
        ).all()
    # The factories' last infusion is 2026-10-05: its 2-week and 1-month follow-ups are
    # due by TODAY (2026-11-20), its HbA1c and monofilament ones are not.
    assert set(seeded) <= due and len(due) == len(seeded) + 2 * len(ids)
    assert open_due == []
    raised = [fid for r in results[2:4] for fid in r["raised"]] + [r.id for r in late]
    assert sorted(raised) == sorted(due)  # each raised by exactly one process
    assert reminder_counts(db_url) == {(f, sink.url, "reminder"): 1 for f in due}
    sent = [rid for r in results[2:] for rid in r["sent"]] + final["sent"]
    # Each reminder once, and each approval's notice to the requester (logged) once.
    assert len(sent) == len(set(sent)) == len(due) + len(ids)
    assert Counter(line["followup_id"] for line in sink.lines()) == dict.fromkeys(due, 1)


def test_scheduler_processes_deliver_each_reminder_once(db_url: str, sink: Sink) -> None:
    """Three real ``ivig scheduler run --once`` processes find the reminders already
    raised and race to deliver them: each reaches the sink exactly once."""
    ids = seed_due(db_url, 90)
    raise_due(engine_for(db_url), as_of=workers.TODAY, now=workers.NOW, channels=[sink.url])
    env = dict(os.environ)
    env.update(
        IVIG_DATABASE_URL=db_url,
        IVIG_NOTIFY=sink.url,
        IVIG_FROZEN_NOW=workers.NOW.isoformat(),
        IVIG_TIMEZONE="UTC",
        IVIG_ACTOR="scheduler.test",
        IVIG_LOG_LEVEL="WARNING",
    )
    procs = [
        subprocess.Popen(
            [IVIG, "scheduler", "run", "--once", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=JOIN_SECONDS)
        assert proc.returncode == 0, err
        reports.append(json.loads(out))
    assert all(r["raised"] == [] and r["failed"] == [] for r in reports)
    sent = [rid for r in reports for rid in r["sent"]]
    assert len(sent) == len(set(sent)) == len(ids)
    assert sorted(line["followup_id"] for line in sink.lines()) == ids


class _NoBarrier:
    """Stands in for the start barrier when a worker runs in the test's own process."""

    def wait(self, timeout: float | None = None) -> int:
        return 0
