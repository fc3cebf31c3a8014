"""Benchmarks at national-programme size, each against the simplest alternative.

    python scripts/bench.py [--scale 1.0] [--database-url URL] [--seed 1] [--no-write]

Builds a synthetic programme by bulk inserts (``bench_data``: 100 000 patients,
~300 000 courses, ~1.5 million follow-ups at ``--scale 1``), then measures, each as a
ratio against a baseline run in the same process on the same rows:

1. a course transition through the service (``review`` approve: lock, machine,
   history row, review row, the requester's notice in the outbox, one transaction)
   against the same four writes in raw SQL through the DB-API driver;
2. raising ~100 000 due follow-ups with their reminders (``raise_batches``) against
   hand-written SQL doing the same work (claim and outbox rows, per batch), against
   one bare raw ``UPDATE`` (no reminders), and against one APScheduler job per
   follow-up in its SQLAlchemyJobStore (a sample, extrapolated);
3. the worklist's first page (``workflow.read.worklist.next_due``) against the
   same query hand-written for the driver;
4. the relapse report (``workflow.reports``) against a hand-written SQL statement
   computing the same figures (all but the divisions and the Kaplan-Meier fits);
5. the scheduler's peak resident memory (``ivig scheduler run --once`` in a
   subprocess) at half and at full table size, and raising's over a backlog of a
   tenth and of all ~100 000 due;
6. the worklist page under 20 concurrent clients (``ivig serve`` + ``wrk`` on
   127.0.0.1) against the sign-in page.

Without ``--database-url``: a fresh SQLite file in a temporary directory. With a
PostgreSQL URL: a fresh database is created on that server and dropped afterwards.
Prints one table and, unless ``--no-write``, puts it in docs/benchmarks.md under
the database's heading, with the machine, the date and the command.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import bench_apscheduler
import bench_data
import bench_report
import bench_web
from bench_data import NOW, TODAY
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from schedules.raising import BATCH_SIZE, raise_batches
from workflow import outbox
from workflow.clock import FixedClock
from workflow.config import get_settings
from workflow.db import dispose_engines, engine_for, transaction, upgrade
from workflow.read.worklist import next_due
from workflow.service.courses import review

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
IVIG = str(Path(sys.executable).with_name("ivig"))
#: Marks the rows a measurement raised, so they can be put back exactly.
RAISE_MARK = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
RAW_MARK = datetime(2026, 11, 20, 16, 1, tzinfo=UTC)
APS_MARK = datetime(2026, 11, 20, 16, 2, tzinfo=UTC)
MEMORY_MARK = datetime(2026, 11, 20, 16, 3, tzinfo=UTC)
SQL_MARK = datetime(2026, 11, 20, 16, 4, tzinfo=UTC)
WARM_MARK = datetime(2026, 11, 20, 16, 5, tzinfo=UTC)
WARM_BATCH = 50


# --- results -------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    metric: str
    value: float
    baseline: float | None
    unit: str
    target: str
    met: bool | None  # None: informational, no target
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if not self.baseline else self.value / self.baseline


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    return f"{value:g} {unit}"


def table(rows: list[Row]) -> str:
    lines = [
        "| metric | value | baseline | ratio | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}×"
        met = "—" if r.met is None else ("yes" if r.met else "**NO**")
        metric = r.metric + (f" ({r.note})" if r.note else "")
        lines.append(
            f"| {metric} | {_fmt(r.value, r.unit)} | {_fmt(r.baseline, r.unit)} | {ratio} "
            f"| {r.target} | {met} |"
        )
    return "\n".join(lines)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def best_of(repeat: int, job: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        timings.append(time.perf_counter() - start)
    return min(timings)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the database ----------------------------------------------------------------------


@contextmanager
def database(given: str | None) -> Iterator[str]:
    """A fresh, empty database URL: a temporary SQLite file, or a new PostgreSQL database
    on the given server (dropped afterwards)."""
    if given is None or given.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="ivig-bench-") as tmp:
            yield given or f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    name = f"ivig_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(given, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(given).set(database=name).render_as_string(hide_password=False)
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Raw:
    """The DB-API driver itself (sqlite3 or psycopg), for the hand-written baselines."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        if self.sqlite:
            self.conn: Any = sqlite3.connect(parsed.database or "", isolation_level=None)
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA busy_timeout=30000")
            # The same durability as the application's connections (IVIG_SQLITE_SYNCHRONOUS).
            self.conn.execute(f"PRAGMA synchronous={get_settings().sqlite_synchronous}")
        else:
            import psycopg

            plain = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self.conn = psycopg.connect(plain)

    def sql(self, statement: str) -> str:
        """``?`` placeholders for sqlite3, ``%s`` for psycopg."""
        return statement if self.sqlite else statement.replace("?", "%s")

    def value(self, instant: datetime) -> Any:
        # SQLAlchemy keeps SQLite instants as naive UTC text in this format.
        if self.sqlite:
            return instant.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        return instant

    def day(self, value: date) -> Any:
        return value.isoformat() if self.sqlite else value

    def json(self, document: dict[str, Any]) -> Any:
        """A JSON column's value: text for sqlite3, ``Json`` for psycopg."""
        if self.sqlite:
            return json.dumps(document)
        from psycopg.types.json import Json

        return Json(document)

    def begin(self) -> None:
        if self.sqlite:
            self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self.sqlite:
            self.conn.execute("COMMIT")
        else:
            self.conn.commit()

    def run(self, statement: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(self.sql(statement), params)

    def close(self) -> None:
        self.conn.close()


# --- 1. a transition ---------------------------------------------------------------------


def approve_statements(sqlite_: bool) -> tuple[str, str, str, str]:
    """``review`` approve's writes by hand: what the service writes, and only the reads
    those writes need, taken by ``RETURNING`` (the patient, the MRN, the requester and
    the recommendation's outcome for the review row and the requester's notice)."""
    outcome = (
        "json_extract(recommendation, '$.outcome')" if sqlite_ else "recommendation->>'outcome'"
    )
    return (
        "UPDATE courses SET state='reviewed', awaiting_information=NULL, approved_on=?, "
        "updated_at=?, version=version+1 WHERE id=? AND state='requested' "
        f"RETURNING patient_id, requested_by, {outcome}, "
        "(SELECT mrn FROM patients WHERE patients.id = courses.patient_id)",
        "INSERT INTO events (patient_id, course_id, trigger, from_state, to_state, "
        "clinical_date, actor, reason, at) "
        "VALUES (?, ?, 'approve', 'requested', 'reviewed', ?, 'bench', 'meets the guidance', ?)",
        "INSERT INTO reviews (course_id, decision, reviewer, note, override_reason, "
        "recommendation_outcome, at) VALUES (?, 'approve', 'dr.bench', 'meets the guidance', "
        "NULL, ?, ?) RETURNING id",
        "INSERT INTO reminders (message_id, followup_id, course_id, patient_id, channel, kind, "
        "payload, status, attempts, next_attempt_at, created_at) "
        "VALUES (?, NULL, ?, ?, ?, 'review_decision', ?, 'pending', 0, ?, ?) "
        "ON CONFLICT (message_id, channel) DO NOTHING",
    )


def decision_notice(course_id: int, mrn: str, to: str, review_id: int) -> dict[str, Any]:
    """The requester's notice as ``service.notices.notify_requester`` writes it."""
    message_id = f"review_decision-review-{review_id}"
    return {
        "course_id": course_id,
        "mrn": mrn,
        "to": to,
        "decision": "approve",
        "reviewer": "dr.bench",
        "date": TODAY.isoformat(),
        "state": "reviewed",
        "see": f"ivig course show {course_id}",
        "message_id": message_id,
        "reminder": "review_decision",
        "_envelope": {
            "subject": f"IVIG course {course_id}: the reviewer decided (approve) the request"
        },
    }


def written_by_review(engine: Engine, course_id: int) -> tuple[Any, ...]:
    """What one approval left, without ids and instants: to check the baseline wrote
    what the service writes."""
    with engine.connect() as conn:
        course = conn.execute(
            text("SELECT state, awaiting_information, approved_on FROM courses WHERE id=:c"),
            {"c": course_id},
        ).one()
        events = conn.execute(
            text(
                "SELECT trigger, from_state, to_state, clinical_date, actor, reason FROM events "
                "WHERE course_id=:c AND trigger='approve' AND actor='bench'"
            ),
            {"c": course_id},
        ).all()
        reviews = conn.execute(
            text(
                "SELECT decision, reviewer, note, override_reason, recommendation_outcome "
                "FROM reviews WHERE course_id=:c AND reviewer='dr.bench'"
            ),
            {"c": course_id},
        ).all()
        notices = conn.execute(
            text(
                "SELECT r.channel, r.kind, r.status, r.attempts, r.payload, v.id "
                "FROM reminders r JOIN reviews v ON r.message_id = "
                "'review_decision-review-' || CAST(v.id AS VARCHAR) "
                "WHERE r.course_id=:c AND v.reviewer='dr.bench'"
            ),
            {"c": course_id},
        ).all()
    shown = []
    for channel, kind, status, attempts, payload, review_id in notices:
        body = payload if isinstance(payload, dict) else json.loads(payload)
        body = {k: v for k, v in body.items() if k not in ("course_id", "see", "mrn")}
        body["message_id"] = body["message_id"].replace(str(review_id), "N")
        envelope = body.get("_envelope", {})
        if "subject" in envelope:
            envelope["subject"] = envelope["subject"].replace(str(course_id), "C")
        shown.append((channel, kind, status, attempts, body))
    return (tuple(course), [tuple(e) for e in events], [tuple(r) for r in reviews], shown)


def transitions(engine: Engine, url: str, wanted: int) -> list[Row] | str:
    """``review`` approve through the service vs the same writes in raw SQL (course,
    history row, review row, the requester's notice in the outbox), alternating on
    distinct requested courses."""
    with engine.connect() as conn:
        ids = list(conn.scalars(text("SELECT id FROM courses WHERE state='requested' ORDER BY id")))
    warm = 10
    # On PostgreSQL a third arm: the service on an engine without pool_pre_ping (the
    # round trip that setting costs each transaction; docs/deployment.md).
    postgres = engine.dialect.name == "postgresql"
    arms = 3 if postgres else 2
    n = min(wanted, len(ids) // arms - warm)
    if n < 10:
        return f"only {len(ids)} requested courses at this scale ({arms} × 20 needed)"
    service_ids, raw_ids, unpinged_ids = ids[0::arms], ids[1::arms], ids[2::arms]
    unpinged = create_engine(url, pool_pre_ping=False, hide_parameters=True) if postgres else None
    clock = FixedClock(NOW)
    raw = Raw(url)
    update, event, review_row, notice = approve_statements(raw.sqlite)
    channels = outbox.channel_names(outbox.configured_channels())

    def through_service(cid: int, on: Engine = engine) -> float:
        start = time.perf_counter()
        with transaction(on) as session:
            review(
                session=session,
                course_id=cid,
                decision="approve",
                reviewer="dr.bench",
                note="meets the guidance",
                override_reason=None,
                by="bench",
                clock=clock,
            )
        return time.perf_counter() - start

    def hand_written(cid: int) -> float:
        start = time.perf_counter()
        now, today = raw.value(NOW), raw.day(TODAY)
        raw.begin()
        found = raw.run(update, (today, now, cid)).fetchone()
        if found is None:
            raise RuntimeError(f"course {cid} was not requested")
        patient_id, requester, outcome, mrn = found
        raw.run(event, (patient_id, cid, today, now))
        (review_id,) = raw.run(review_row, (cid, outcome, now)).fetchone()
        body = raw.json(decision_notice(cid, mrn, requester, review_id))
        message_id = f"review_decision-review-{review_id}"
        for channel in channels:
            raw.run(notice, (message_id, cid, patient_id, channel, body, now, now))
        raw.commit()
        return time.perf_counter() - start

    for i in range(warm):
        through_service(service_ids[n + i])
        hand_written(raw_ids[n + i])
        if unpinged is not None:
            through_service(unpinged_ids[n + i], unpinged)
    ours, theirs = written_by_review(engine, service_ids[n]), written_by_review(engine, raw_ids[n])
    if ours != theirs or not ours[3]:
        raise RuntimeError(f"the raw approval does not write what review writes: {ours} {theirs}")
    service: list[float] = []
    baseline: list[float] = []
    no_ping: list[float] = []
    for i in range(n):
        service.append(through_service(service_ids[i]) * 1000)
        baseline.append(hand_written(raw_ids[i]) * 1000)
        if unpinged is not None:
            no_ping.append(through_service(unpinged_ids[i], unpinged) * 1000)
    raw.close()
    if unpinged is not None:
        unpinged.dispose()
    p50, p95 = percentile(service, 50), percentile(service, 95)
    base50 = percentile(baseline, 50)
    if engine.dialect.name == "sqlite":
        durability = f"IVIG_SQLITE_SYNCHRONOUS={get_settings().sqlite_synchronous}, WAL, both sides"
        target, met = "— (reported)", None
    else:
        durability = f"pool_pre_ping={get_settings().db_pool_pre_ping}"
        target, met = "≤ 2× raw writes", p50 <= 2 * base50
    note = (
        f"review approve, {n} courses each; baseline: the same 4 writes by hand, "
        f"checked equal; {durability}"
    )
    rows = [
        Row("transition via service, p50", p50, base50, "ms", target, met, note),
        Row("transition via service, p95", p95, percentile(baseline, 95), "ms", "—", None),
    ]
    if no_ping:
        rows.append(
            Row(
                "transition via service with IVIG_DB_POOL_PRE_PING=false, p50",
                percentile(no_ping, 50),
                base50,
                "ms",
                "—",
                None,
                "the same, on an engine without the liveness check (a third arm, alternating)",
            )
        )
    return rows


# --- 2. raising -------------------------------------------------------------------------


def backlog_as_of(engine: Engine, wanted: int) -> tuple[date, int]:
    """The date up to which ~``wanted`` scheduled follow-ups fall due, and their number."""
    with engine.connect() as conn:
        due = conn.scalar(
            text(
                "SELECT due_date FROM followups WHERE status='scheduled' "
                "ORDER BY due_date, id LIMIT 1 OFFSET :n"
            ),
            {"n": wanted - 1},
        )
        if due is None:
            due = conn.scalar(text("SELECT MAX(due_date) FROM followups"))
        as_of = due if isinstance(due, date) else date.fromisoformat(str(due))
        count = conn.scalar(
            text("SELECT COUNT(*) FROM followups WHERE status='scheduled' AND due_date <= :d"),
            {"d": as_of},
        )
    return as_of, int(count or 0)


def put_back(engine: Engine, mark: datetime) -> None:
    """Undoes a measurement: its follow-ups scheduled again, its reminders gone."""
    with transaction(engine) as session:
        session.execute(
            text("DELETE FROM reminders WHERE created_at = :m"), {"m": _bind(engine, mark)}
        )
        session.execute(
            text(
                "UPDATE followups SET status='scheduled', raised_at=NULL "
                "WHERE status='raised' AND raised_at = :m"
            ),
            {"m": _bind(engine, mark)},
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE followups, reminders"))


def _bind(engine: Engine, instant: datetime) -> Any:
    if engine.dialect.name == "sqlite":
        return instant.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return instant


def _claim_sql(sqlite_: bool) -> str:
    """The claim of one batch, a compare-and-set on the status, as ``raise_due`` runs it."""
    lock = "" if sqlite_ else " FOR UPDATE SKIP LOCKED"
    return (
        "UPDATE followups SET status='raised', raised_at=? "
        "WHERE status='scheduled' AND id IN (SELECT id FROM followups "
        "WHERE status='scheduled' AND due_date <= ? ORDER BY due_date, id LIMIT ?"
        f"{lock}) RETURNING id, kind, course_id, patient_id, due_date"
    )


def _reminder_select(sqlite_: bool, source: str, channels: int) -> str:
    """One outbox row per claimed follow-up and channel, with the payload ``raise_due``
    writes (``schedules.raising.payload``), from the claimed rows ``source``."""
    message_id = "'followup-' || CAST(c.id AS TEXT) || '-reminder'"
    due = "c.due_date" if sqlite_ else "to_char(c.due_date, 'YYYY-MM-DD')"
    build = "json_object" if sqlite_ else "json_build_object"
    names = " UNION ALL ".join(["SELECT CAST(? AS TEXT) AS name"] * channels)
    return (
        "INSERT INTO reminders (message_id, followup_id, course_id, patient_id, channel, kind, "
        "payload, status, attempts, next_attempt_at, created_at) "
        f"SELECT {message_id}, c.id, c.course_id, c.patient_id, ch.name, 'reminder', "
        f"{build}('followup_id', c.id, 'kind', c.kind, 'mrn', p.mrn, 'course_id', c.course_id, "
        f"'due_date', {due}, 'message_id', {message_id}, 'reminder', 'reminder'), "
        "'pending', 0, ?, ? "
        f"FROM {source} JOIN patients p ON p.id = c.patient_id CROSS JOIN ({names}) ch "
        "WHERE true ON CONFLICT (message_id, channel) DO NOTHING"
    )


def same_work_sql(
    url: str, as_of: date, mark: datetime, channels: list[str], batch: int
) -> tuple[float, int]:
    """Claim and outbox by hand, a transaction per ``batch`` rows as ``raise_due`` does:
    on PostgreSQL one statement per batch (claim and insert in a data-modifying CTE); on
    SQLite the claim's ``UPDATE … RETURNING`` then the outbox's ``INSERT … SELECT``.
    Returns the seconds and the number claimed."""
    raw = Raw(url)
    stamp, day = raw.value(mark), raw.day(as_of)
    if raw.sqlite:
        claim = _claim_sql(True)
        write = _reminder_select(
            True,
            "(SELECT id, kind, course_id, patient_id, due_date FROM followups "
            "WHERE id IN (SELECT value FROM json_each(?))) c",
            len(channels),
        )
    else:
        write = (
            f"WITH claimed AS ({_claim_sql(False)}), written AS ("
            + _reminder_select(False, "claimed c", len(channels))
            + " RETURNING 1) SELECT count(*) FROM claimed"
        )
    total = 0
    start = time.perf_counter()
    while True:
        raw.begin()
        if raw.sqlite:
            ids = [r[0] for r in raw.run(claim, (stamp, day, batch)).fetchall()]
            if ids:
                raw.run(write, (stamp, stamp, json.dumps(ids), *channels))
            claimed = len(ids)
        else:
            (claimed,) = raw.run(write, (stamp, day, batch, stamp, stamp, *channels)).fetchone()
        raw.commit()
        total += claimed
        if claimed < batch:
            break
    seconds = time.perf_counter() - start
    raw.close()
    return seconds, total


def outbox_digest(engine: Engine, mark: datetime) -> tuple[int, str]:
    """The reminder rows a run wrote (all their columns but id and the instants), as a
    count and a digest: the same-work baseline must write exactly what ``raise_due`` does."""
    digest = hashlib.sha256()
    n = 0
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=5000).execute(
            text(
                "SELECT message_id, followup_id, course_id, patient_id, channel, kind, payload, "
                "status, attempts FROM reminders WHERE created_at = :m ORDER BY message_id, channel"
            ),
            {"m": _bind(engine, mark)},
        )
        for *head, payload, status, attempts in rows:
            body = payload if isinstance(payload, dict) else json.loads(payload)
            digest.update(repr((head, sorted(body.items()), status, attempts)).encode())
            n += 1
    return n, digest.hexdigest()


def raising(engine: Engine, url: str, wanted: int, sample: int, skip: set[str]) -> list[Row]:
    as_of, count = backlog_as_of(engine, wanted)
    say(f"raising: {count} follow-ups due by {as_of}")
    channels = ["log"]
    # Warm up both sides (statement caches, imports) on a few rows, then put them back.
    early, _ = backlog_as_of(engine, 2 * WARM_BATCH)
    same_work_sql(url, early, WARM_MARK, channels, WARM_BATCH)
    put_back(engine, WARM_MARK)
    for _ in raise_batches(
        engine, as_of=early, now=WARM_MARK, channels=channels, batch_size=WARM_BATCH
    ):
        pass
    put_back(engine, WARM_MARK)
    # Baseline 1, the bare claim: one raw UPDATE, no batches, no reminders.
    raw = Raw(url)
    start = time.perf_counter()
    raw.begin()
    raw.run(
        "UPDATE followups SET status='raised', raised_at=? "
        "WHERE status='scheduled' AND due_date <= ?",
        (raw.value(RAW_MARK), raw.day(as_of)),
    )
    raw.commit()
    bare_seconds = time.perf_counter() - start
    raw.close()
    put_back(engine, RAW_MARK)
    # Baseline 2, the same work by hand: claim and outbox rows, per batch.
    sql_seconds, sql_count = same_work_sql(url, as_of, SQL_MARK, channels, BATCH_SIZE)
    sql_written = outbox_digest(engine, SQL_MARK)
    put_back(engine, SQL_MARK)
    start = time.perf_counter()
    raised = sum(
        len(batch)
        for batch in raise_batches(engine, as_of=as_of, now=RAISE_MARK, channels=channels)
    )
    service_seconds = time.perf_counter() - start
    if raised != count or sql_count != count:
        raise RuntimeError(f"raise_due raised {raised}, the SQL {sql_count}, of {count}")
    if outbox_digest(engine, RAISE_MARK) != sql_written:
        raise RuntimeError("the hand-written raising SQL does not write raise_due's reminders")
    put_back(engine, RAISE_MARK)
    # The same with larger batches: fewer, longer transactions (a tuning hint, no target).
    start = time.perf_counter()
    for _ in raise_batches(
        engine, as_of=as_of, now=RAISE_MARK, channels=channels, batch_size=5 * BATCH_SIZE
    ):
        pass
    big_batches = time.perf_counter() - start
    put_back(engine, RAISE_MARK)
    rows = [
        Row(
            f"raise {count} due follow-ups + reminders",
            service_seconds,
            sql_seconds,
            "s",
            "≤ 2× same-work SQL",
            service_seconds <= 2 * sql_seconds,
            f"raise_batches vs hand-written claim + outbox INSERT … SELECT, batches of "
            f"{BATCH_SIZE}, the same {sql_written[0]} reminder rows (checked equal)",
        ),
        Row(
            f"raise {count} due follow-ups + reminders, vs the bare claim",
            service_seconds,
            bare_seconds,
            "s",
            "≤ 5× bare claim",
            service_seconds <= 5 * bare_seconds,
            "one raw UPDATE of every due row: no batches, no reminders",
        ),
        Row(
            f"raise {count}, batch_size={5 * BATCH_SIZE} instead of {BATCH_SIZE}",
            big_batches,
            sql_seconds,
            "s",
            "—",
            None,
            "fewer commits; each batch holds the write lock longer",
        ),
    ]
    if "apscheduler" not in skip:
        with engine.connect() as conn:
            ids = list(
                conn.scalars(
                    text(
                        "SELECT id FROM followups WHERE status='scheduled' AND due_date <= :d "
                        "ORDER BY id LIMIT :n"
                    ),
                    {"d": as_of, "n": sample},
                )
            )
        say(f"APScheduler: {len(ids)} jobs in its SQLAlchemyJobStore")
        sample_seconds = bench_apscheduler.measure(url, ids, APS_MARK)
        put_back(engine, APS_MARK)
        extrapolated = sample_seconds * count / len(ids)
        rows.append(
            Row(
                f"raise {count}: raise_batches vs one APScheduler job each",
                service_seconds,
                extrapolated,
                "s",
                "≤ 0.10× (10× faster)",
                service_seconds <= 0.1 * extrapolated,
                f"EXTRAPOLATED from {len(ids)} jobs in {sample_seconds:.1f} s",
            ),
        )
    return rows


# --- 3. the worklist -----------------------------------------------------------------------

RAW_WORKLIST = """
SELECT f.id, f.kind, p.mrn, f.course_id, f.due_date, f.status, c.state, c.indication
FROM (SELECT id, due_date FROM (
        SELECT id, due_date FROM (SELECT id, due_date FROM followups WHERE status = 'scheduled'
                                  ORDER BY due_date, id LIMIT ?) s
        UNION ALL
        SELECT id, due_date FROM (SELECT id, due_date FROM followups WHERE status = 'raised'
                                  ORDER BY due_date, id LIMIT ?) r) u
      ORDER BY due_date, id LIMIT ?) d
JOIN followups f ON f.id = d.id
JOIN patients p ON p.id = f.patient_id
LEFT JOIN courses c ON c.id = f.course_id
ORDER BY f.due_date, f.id
"""


def worklist(engine: Engine, url: str, runs: int) -> list[Row]:
    raw = Raw(url)

    def service() -> float:
        start = time.perf_counter()
        with transaction(engine) as session:
            rows = next_due(session=session, today=TODAY, limit=50)
        if len(rows) != 50:
            raise RuntimeError(f"the worklist gave {len(rows)} rows")
        return time.perf_counter() - start

    def hand_written() -> float:
        start = time.perf_counter()
        rows = raw.run(RAW_WORKLIST, (50, 50, 50)).fetchall()
        if not raw.sqlite:
            raw.conn.commit()
        if len(rows) != 50:
            raise RuntimeError(f"the raw worklist gave {len(rows)} rows")
        return time.perf_counter() - start

    for _ in range(10):
        service()
        hand_written()
    ours, theirs = [], []
    for _ in range(runs):
        ours.append(service() * 1000)
        theirs.append(hand_written() * 1000)
    raw.close()
    p95 = percentile(ours, 95)
    note = f"next 50 open, with patient and course, {runs} runs"
    result = [
        Row("worklist query, p50", percentile(ours, 50), percentile(theirs, 50), "ms", "—", None),
        Row("worklist query, p95", p95, percentile(theirs, 95), "ms", "≤ 5 ms", p95 <= 5, note),
    ]
    try:
        from workflow.read import lists as reads
    except ImportError:
        return result

    def page_data() -> object:
        with transaction(engine) as session:
            return reads.worklist(session=session, today=TODAY)

    data: Any = page_data()
    seconds = best_of(3, page_data)
    result.append(
        Row(
            "web worklist data (reads.worklist), best of 3",
            seconds * 1000,
            None,
            "ms",
            "—",
            None,
            f"{len(data.followups.rows)} of {data.followups.total} open follow-ups and "
            f"{len(data.pending_reviews.rows)} of {data.pending_reviews.total} pending reviews "
            "shown: each section is one bounded query and one count",
        ),
    )
    return result


# --- 4. the relapse report ------------------------------------------------------------------


def hand_written_relapse(engine: Engine) -> list[Any]:
    """Every figure's rows in one hand-written statement: the counts per indication
    and the responders' weighted time table (``bench_report.hand_written_sql``)."""
    return bench_report.hand_written_sql(engine, as_of=TODAY)


def relapse(engine: Engine) -> list[Row] | str:
    try:
        from workflow.reports.relapse import relapse_report
    except ImportError as exc:
        return f"workflow.reports is not importable ({exc})"

    def report() -> object:
        with transaction(engine, read_only=True) as session:
            return relapse_report(session, TODAY)

    report()  # warm up: imports lifelines, fills caches
    if not bench_report.same_figures(engine, TODAY):
        return "the hand-written relapse SQL does not give the report's figures"
    sql, ours = bench_report.interleaved_best(5, lambda: hand_written_relapse(engine), report)
    limit = 3 if engine.dialect.name == "sqlite" else 2
    return [
        Row(
            "relapse report, all courses, best of 5",
            ours,
            sql,
            "s",
            f"≤ {limit}× SQL",
            ours <= limit * sql,
            "relapse_report vs hand-written SQL of every figure (counts and the KM time "
            "table, checked equal), turn about",
        ),
    ]


# --- 5. the scheduler's memory ---------------------------------------------------------------


def peak_rss_mib(command: list[str], env: dict[str, str]) -> float:
    """Peak resident memory of a child process (getrusage's ru_maxrss through wait4)."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            log.seek(0)
            raise RuntimeError(f"{command[1:3]} failed: {log.read().decode()[-2000:]}")
    return usage.ru_maxrss / 1024  # KiB on Linux


def scheduler_cycle_rss(url: str, sink: Path) -> float:
    env = dict(os.environ)
    env.update(
        IVIG_DATABASE_URL=url,
        IVIG_FROZEN_NOW=NOW.isoformat(),
        IVIG_TIMEZONE="UTC",
        IVIG_NOTIFY=sink.as_uri(),
        IVIG_LOG_LEVEL="WARNING",
    )
    return peak_rss_mib([IVIG, "scheduler", "run", "--once"], env)


BACKLOG_CHILD = """
import sys
from datetime import date, datetime
from schedules.raising import raise_batches
from workflow.db import engine_for
raised = 0
for batch in raise_batches(engine_for(sys.argv[1]), as_of=date.fromisoformat(sys.argv[2]),
                           now=datetime.fromisoformat(sys.argv[3]), channels=["log"]):
    raised += len(batch)
print(raised)
"""


def backlog_rss(engine: Engine, url: str, wanted: int) -> Row:
    """Peak memory of raising a backlog in one process as the scheduler and the CLI do
    (``raise_batches``, counting each committed batch), at a tenth and at all of it."""
    peaks = []
    for n in (wanted // 10, wanted):
        as_of, count = backlog_as_of(engine, n)
        rss = peak_rss_mib(
            [sys.executable, "-c", BACKLOG_CHILD, url, as_of.isoformat(), MEMORY_MARK.isoformat()],
            dict(os.environ),
        )
        put_back(engine, MEMORY_MARK)
        peaks.append((count, rss))
    (small, rss_small), (large, rss_large) = peaks
    return Row(
        f"raising peak RSS over a {large}-row backlog",
        rss_large,
        rss_small,
        "MiB",
        "≤ 1.10× (flat)",
        rss_large <= 1.10 * rss_small,
        f"raise_batches in one process, counting; baseline: the same over {small} rows",
    )


def memory_row(small: tuple[int, float], large: tuple[int, float]) -> Row:
    (n_small, rss_small), (n_large, rss_large) = small, large
    return Row(
        f"scheduler run --once peak RSS at {n_large} follow-ups",
        rss_large,
        rss_small,
        "MiB",
        "≤ 1.10× (flat)",
        rss_large <= 1.10 * rss_small,
        f"baseline: the same cycle at {n_small} follow-ups",
    )


# --- the run ------------------------------------------------------------------------------


def count_followups(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT COUNT(*) FROM followups")) or 0)


@dataclass
class Options:
    scale: float
    seed: int
    transitions: int
    worklist_runs: int
    aps_sample: int
    page_seconds: int
    clients: int
    skip: set[str]


def run(url: str, opts: Options) -> tuple[list[Row], list[str], dict[str, int]]:
    engine = engine_for(url)
    upgrade(engine)
    programme = bench_data.Programme(seed=opts.seed)
    patients = bench_data.patients_for(opts.scale)
    half = patients // 2
    missing: list[str] = []
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        sink = Path(tmp) / "reminders.jsonl"
        sizes: list[tuple[int, float]] = []
        for first, last in ((1, half), (half + 1, patients)):
            start = time.perf_counter()
            bench_data.write(engine, programme.patients(first, last))
            bench_data.after_load(engine)
            say(f"built patients {first}..{last} in {time.perf_counter() - start:.0f} s")
            if "memory" not in opts.skip:
                n = count_followups(engine)
                sizes.append((n, scheduler_cycle_rss(url, sink)))
                say(f"scheduler cycle at {n} follow-ups: {sizes[-1][1]:.0f} MiB")
        if sizes:
            rows.append(memory_row(sizes[0], sizes[1]))
    say("transitions")
    changes = transitions(engine, url, opts.transitions)
    if isinstance(changes, str):
        missing.append(f"transitions not measured: {changes}")
    else:
        rows += changes
    backlog = round(100_000 * opts.scale)
    rows += raising(engine, url, backlog, opts.aps_sample, opts.skip)
    if "memory" not in opts.skip:
        rows.append(backlog_rss(engine, url, backlog))
    say("worklist")
    rows += worklist(engine, url, opts.worklist_runs)
    say("relapse report")
    report = relapse(engine)
    if isinstance(report, str):
        missing.append(f"relapse report not measured: {report}")
    else:
        rows += report
    if "page" not in opts.skip:
        say("worklist page under load")
        rows += page(url, opts, missing)
    engine.dispose()
    return rows, missing, dict(programme.counts)


def page(url: str, opts: Options, missing: list[str]) -> list[Row]:
    try:
        result = bench_web.measure_page(
            url, NOW.isoformat(), clients=opts.clients, seconds=opts.page_seconds
        )
    except Exception as exc:  # report what stopped it rather than lose the other numbers
        result = f"{type(exc).__name__}: {exc}"
    if isinstance(result, str):
        missing.append(f"worklist page not measured: {result}")
        return []
    load, base = result.page, result.baseline
    # The targets: 50 ms on PostgreSQL, 150 ms on SQLite (one writer at a time).
    target_ms = 150.0 if url.startswith("sqlite") else 50.0
    window = opts.page_seconds * 1000.0
    if load.requests == 0:
        # Not one page came back within the run: its latency is at least the window.
        load = bench_web.Load(window, window, 0, load.timeouts, load.non_2xx)
    note = (
        ("NONE completed, latency shown as the whole window; " if not result.page.requests else "")
        + f"{opts.clients} clients × {opts.page_seconds} s, {load.requests} requests, "
        f"{load.timeouts} timeouts (30 s), {load.non_2xx} non-2xx; one client alone: "
        f"{result.single_ms:.0f} ms, {result.rows}; baseline: the sign-in page"
    )
    return [
        Row("worklist PAGE p50", load.p50_ms, base.p50_ms, "ms", "—", None),
        Row(
            "worklist PAGE p95",
            load.p95_ms,
            base.p95_ms,
            "ms",
            f"≤ {target_ms:.0f} ms",
            load.requests > 0 and load.p95_ms <= target_ms and load.timeouts == 0,
            note,
        ),
    ]


# --- the report -----------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            kib = int(line.split()[1])
    return (
        f"{os.cpu_count()} cores, {kib / 1024 / 1024:.0f} GiB RAM, {model}; "
        f"Python {platform.python_version()}"
    )


def server_version(url: str) -> str:
    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    with engine_for(url).connect() as conn:
        return str(conn.scalar(text("SELECT version()"))).split(",")[0]


def section(
    dialect: str,
    rows: list[Row],
    missing: list[str],
    counts: dict[str, int],
    command: str,
    version: str,
    minutes: float,
) -> str:
    misses = [r.metric for r in rows if r.met is False]
    verdict = (
        "Every target was met." if not misses else "**Targets missed:** " + "; ".join(misses) + "."
    )
    sizes = ", ".join(f"{n:,} {t}" for t, n in counts.items())
    lines = [
        f"## {dialect}",
        "",
        f"- run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {minutes:.0f} min in all",
        f"- machine: {machine()}; load average at the end "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work shares these cores)",
        f"- database: {version}",
        f"- data: {sizes}",
        f"- command: `{command}`",
        "",
        table(rows),
        "",
        verdict,
    ]
    lines += [f"- NOT MEASURED: {m}" for m in missing]
    return "\n".join(lines) + "\n"


def write_doc(dialect: str, text_: str) -> None:
    """Replaces this database's section of docs/benchmarks.md, keeping the rest."""
    begin, end = f"<!-- bench:{dialect} -->", f"<!-- /bench:{dialect} -->"
    current = DOC.read_text() if DOC.exists() else ""
    block = f"{begin}\n{text_}{end}"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        _, tail = rest.split(end, 1)
        DOC.write_text(head + block + tail)
    else:
        DOC.write_text(current.rstrip() + ("\n\n" if current else "") + block + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100 000 patients")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--transitions", type=int, default=1000, help="per side")
    parser.add_argument("--worklist-runs", type=int, default=200)
    parser.add_argument("--apscheduler-sample", type=int, default=2000)
    parser.add_argument("--page-seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--skip", default="", help="comma list of: apscheduler, memory, page")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    args = parser.parse_args(argv)
    opts = Options(
        scale=args.scale,
        seed=args.seed,
        transitions=args.transitions,
        worklist_runs=args.worklist_runs,
        aps_sample=args.apscheduler_sample,
        page_seconds=args.page_seconds,
        clients=args.clients,
        skip={s.strip() for s in args.skip.split(",") if s.strip()},
    )
    shown = list(argv if argv is not None else sys.argv[1:])
    command = "python scripts/bench.py" + ("" if not shown else " " + shlex.join(shown))
    started = time.perf_counter()
    with database(args.database_url) as url:
        dialect = make_url(url).get_backend_name()
        say(f"benchmark on {dialect}, scale {args.scale}")
        rows, missing, counts = run(url, opts)
        version = server_version(url)
    minutes = (time.perf_counter() - started) / 60
    name = "PostgreSQL" if dialect == "postgresql" else "SQLite"
    body = section(name, rows, missing, counts, command, version, minutes)
    print()
    print(body)
    if not args.no_write:
        write_doc(dialect, body)
        print(f"written to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
