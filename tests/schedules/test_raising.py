"""Raising claims each due follow-up exactly once and writes its outbox rows with it."""

from __future__ import annotations

import threading
from datetime import date, timedelta

from sqlalchemy import Engine, update

from schedules.delivery import deliver_due
from schedules.raising import escalate_overdue, raise_due
from tests.schedules.conftest import (
    NOW,
    TODAY,
    Sink,
    clock_at,
    reminder_counts,
    seed_due,
    statuses,
)
from workflow.db import engine_for, make_engine
from workflow.models import FollowUp


def test_raises_due_rows_once_and_writes_one_reminder_per_channel(db_url: str) -> None:
    due = seed_due(db_url, 3)
    later = seed_due(db_url, 2, due=date(2026, 11, 21), start=100)
    channels = ["file:///tmp/a.jsonl", "http://127.0.0.1:9/hook"]
    engine = engine_for(db_url)

    first = raise_due(engine, as_of=TODAY, now=NOW, channels=channels)
    again = raise_due(engine, as_of=TODAY, now=NOW, channels=channels)

    assert sorted(r.id for r in first) == due
    assert {r.status for r in first} == {"raised"}
    assert {r.days_overdue for r in first} == {2}
    assert again == []
    counts = reminder_counts(db_url)
    assert set(counts.values()) == {1}
    assert set(counts) == {(f, c, "reminder") for f in due for c in channels}
    assert statuses(db_url) == {"raised": 3, "scheduled": len(later)}


def test_as_of_is_inclusive(db_url: str) -> None:
    [on_day] = seed_due(db_url, 1, due=TODAY)
    engine = engine_for(db_url)
    assert raise_due(engine, as_of=TODAY - timedelta(days=1), now=NOW, channels=["log"]) == []
    assert [r.id for r in raise_due(engine, as_of=TODAY, now=NOW, channels=["log"])] == [on_day]


def test_batches_cover_every_row_exactly_once(db_url: str) -> None:
    ids = seed_due(db_url, 23)
    raised = raise_due(engine_for(db_url), as_of=TODAY, now=NOW, channels=["log"], batch_size=5)
    assert sorted(r.id for r in raised) == ids
    assert reminder_counts(db_url) == {(f, "log", "reminder"): 1 for f in ids}


def test_concurrent_raisers_never_raise_one_followup_twice(db_url: str, sink: Sink) -> None:
    """Threads each with their own engine against one database; each also delivers."""
    ids = seed_due(db_url, 60)
    results: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def raiser() -> None:
        engine: Engine = make_engine(db_url)
        try:
            start.wait()
            raised = raise_due(engine, as_of=TODAY, now=NOW, channels=[sink.url], batch_size=7)
            results.append([r.id for r in raised])
            deliver_due(engine, clock=clock_at(), configured=[sink.url])
        except BaseException as exc:  # reported below, with the thread's error
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=raiser) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    everything = [fid for batch in results for fid in batch]
    assert sorted(everything) == ids  # each raised by exactly one raiser
    assert reminder_counts(db_url) == {(f, sink.url, "reminder"): 1 for f in ids}
    assert sorted(line["followup_id"] for line in sink.lines()) == ids


def test_a_raise_never_resurrects_a_closed_followup(db_url: str) -> None:
    done, cancelled, due = seed_due(db_url, 3)
    with engine_for(db_url).begin() as conn:
        conn.execute(update(FollowUp).where(FollowUp.id == done).values(status="done"))
        conn.execute(update(FollowUp).where(FollowUp.id == cancelled).values(status="cancelled"))
    raised = raise_due(engine_for(db_url), as_of=TODAY, now=NOW, channels=["log"])
    assert [r.id for r in raised] == [due]


def test_escalation_comes_once_seven_days_after_the_due_date(db_url: str) -> None:
    [fid] = seed_due(db_url, 1, due=date(2026, 11, 13))
    engine = engine_for(db_url)
    raise_due(engine, as_of=date(2026, 11, 13), now=NOW, channels=["log"])

    assert escalate_overdue(engine, as_of=date(2026, 11, 19), now=NOW, channels=["log"]) == []
    assert escalate_overdue(engine, as_of=date(2026, 11, 20), now=NOW, channels=["log"]) == [fid]
    assert escalate_overdue(engine, as_of=date(2026, 12, 20), now=NOW, channels=["log"]) == []
    assert reminder_counts(db_url) == {(fid, "log", "reminder"): 1, (fid, "log", "escalation"): 1}


def test_no_escalation_for_a_followup_completed_in_time(db_url: str) -> None:
    [fid] = seed_due(db_url, 1, due=date(2026, 11, 1))
    engine = engine_for(db_url)
    raise_due(engine, as_of=TODAY, now=NOW, channels=["log"])
    with engine.begin() as conn:
        conn.execute(update(FollowUp).where(FollowUp.id == fid).values(status="done"))
    assert escalate_overdue(engine, as_of=TODAY, now=NOW, channels=["log"]) == []


def test_concurrent_escalators_escalate_once(db_url: str) -> None:
    ids = seed_due(db_url, 20, due=date(2026, 11, 1))
    raise_due(engine_for(db_url), as_of=TODAY, now=NOW, channels=["log"])
    results: list[list[int]] = []
    start = threading.Barrier(3)

    def escalator() -> None:
        engine = make_engine(db_url)
        try:
            start.wait()
            results.append(escalate_overdue(engine, as_of=TODAY, now=NOW, channels=["log"]))
        finally:
            engine.dispose()

    threads = [threading.Thread(target=escalator) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(f for batch in results for f in batch) == ids


def test_outbox_rows_built_in_sql_are_the_documented_records(db_url: str) -> None:
    """The set-based raising builds each payload in SQL: it must be exactly the record
    ``payload()`` documents, with a message id per follow-up and kind."""
    from sqlalchemy import select

    from schedules.raising import payload
    from workflow.models import Reminder

    [fid] = seed_due(db_url, 1)
    engine = engine_for(db_url)
    [row] = raise_due(engine, as_of=TODAY, now=NOW, channels=["log"])
    escalate_overdue(engine, as_of=TODAY + timedelta(days=30), now=NOW, channels=["log"])
    with engine.connect() as conn:
        stored = conn.execute(
            select(Reminder.kind, Reminder.message_id, Reminder.payload).order_by(Reminder.id)
        ).all()
    fields = {
        "followup_id": fid,
        "kind": row.kind,
        "mrn": row.mrn,
        "course_id": row.course_id,
        "due_date": row.due_date.isoformat(),
    }
    assert [(k, m, p) for k, m, p in stored] == [
        (kind, f"followup-{fid}-{kind}", payload(fields, kind))
        for kind in ("reminder", "escalation")
    ]
