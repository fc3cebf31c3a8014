"""The scheduler process: its jobs, catch-up at start, a clean stop; and several processes."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from apscheduler.jobstores.memory import MemoryJobStore

from schedules import runner
from tests.schedules.conftest import NOW, Sink, seed_due, settings_for

IVIG = str(Path(sys.executable).with_name("ivig"))


def _wait_for(condition: Callable[[], bool], *, limit_seconds: float = 60.0) -> bool:
    """Polls ``condition`` until it holds or the limit passes (a bound, not a timing)."""
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_jobs_are_registered_with_fixed_ids_and_safe_options(db_url: str) -> None:
    settings = settings_for(db_url, zone="Europe/London")
    scheduler = runner.build_scheduler(settings, interval_seconds=90)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {runner.RAISE_JOB_ID, runner.DELIVER_JOB_ID}
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce is True
        assert job.trigger.interval.total_seconds() == 90
        assert str(job.trigger.timezone) == "Europe/London"
    assert jobs[runner.RAISE_JOB_ID].func is runner.raise_job
    assert str(scheduler.timezone) == "Europe/London"
    assert isinstance(scheduler._jobstores["default"], MemoryJobStore)
    # Registering again replaces rather than duplicates (paused: no job runs here).
    scheduler.start(paused=True)
    scheduler.add_job(
        runner.raise_job,
        "interval",
        seconds=5,
        args=[settings],
        id=runner.RAISE_JOB_ID,
        replace_existing=True,
    )
    try:
        assert len(scheduler.get_jobs()) == 2
        assert scheduler.get_job(runner.RAISE_JOB_ID).trigger.interval.total_seconds() == 5
    finally:
        scheduler.shutdown(wait=False)


def test_the_job_functions_raise_and_deliver_once(db_url: str, sink: Sink) -> None:
    ids = seed_due(db_url, 3)
    settings = settings_for(db_url, notify=sink.url)
    for _ in range(2):
        runner.raise_job(settings)
        runner.deliver_job(settings)
    assert sorted(line["followup_id"] for line in sink.lines()) == ids


def test_a_failing_job_logs_and_returns(db_url: str) -> None:
    broken = settings_for(db_url, notify="ftp://nowhere/x")
    runner.raise_job(broken)  # no exception: the next run tries again
    runner.deliver_job(broken)


def test_an_unexpected_job_failure_is_logged_with_its_traceback_not_its_message(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    patient = "Jane Example, born 1950-01-01"

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError(patient)

    monkeypatch.setattr(runner, "raise_now", broken)
    monkeypatch.setattr(runner, "deliver_now", broken)
    with caplog.at_level(logging.ERROR, logger="ivig"):
        runner.raise_job(settings_for(db_url))
        runner.deliver_job(settings_for(db_url))
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    for text, job in zip(errors, ("raising job", "delivery job"), strict=True):
        assert job in text and "the next run retries" in text
        assert "Traceback" in text and "in broken" in text and "ValueError" in text
        assert patient not in text


def test_start_catches_up_everything_missed(db_url: str, sink: Sink) -> None:
    """Stopped before its timer starts, it has still raised and sent what was due."""
    ids = seed_due(db_url, 4)
    stop = threading.Event()
    stop.set()
    runner.run(settings_for(db_url, notify=sink.url), stop=stop)
    assert sorted(line["followup_id"] for line in sink.lines()) == ids


def test_runs_in_a_thread_until_told_to_stop(db_url: str, sink: Sink) -> None:
    ids = seed_due(db_url, 2)
    stop = threading.Event()
    thread = threading.Thread(
        target=runner.run, args=(settings_for(db_url, notify=sink.url),), kwargs={"stop": stop}
    )
    thread.start()
    try:
        assert _wait_for(lambda: len(sink.lines()) == len(ids))
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()


def _env(db_url: str, sink: Sink) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        IVIG_DATABASE_URL=db_url,
        IVIG_NOTIFY=sink.url,
        IVIG_FROZEN_NOW=NOW.isoformat(),
        IVIG_TIMEZONE="UTC",
        IVIG_ACTOR="scheduler.test",
    )
    env.pop("IVIG_LOG_LEVEL", None)
    return env


@pytest.mark.slow
def test_scheduler_process_delivers_and_stops_cleanly_on_sigterm(db_url: str, sink: Sink) -> None:
    first = seed_due(db_url, 2)
    proc = subprocess.Popen(
        [IVIG, "scheduler", "run", "--interval-seconds", "1"],
        env=_env(db_url, sink),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(lambda: len(sink.lines()) == 2), "catch-up did not deliver"
        later = seed_due(db_url, 1, start=50)  # picked up by the interval job, not the catch-up
        assert _wait_for(lambda: len(sink.lines()) == 3), "the interval job did not run"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert sorted(line["followup_id"] for line in sink.lines()) == first + later
    assert "scheduler stopped" in err
    assert "Seeded Patient" not in err and "S000000" not in err  # ids only in the log


@pytest.mark.slow
def test_separate_processes_never_raise_one_followup_twice(db_url: str, sink: Sink) -> None:
    ids = seed_due(db_url, 150)
    procs = [
        subprocess.Popen(
            [IVIG, "followups", "raise", "--json"],
            env=_env(db_url, sink),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    raised: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        raised += [row["id"] for row in json.loads(out)]
    assert sorted(raised) == ids
    assert sorted(line["followup_id"] for line in sink.lines()) == ids
