"""The worklist and the raising queries reach follow-ups through an index, never by
reading the whole table.

The statements checked are the ones the code really sends: they are captured from
the driver while ``next_due``, ``raise_due`` and ``escalate_overdue`` run, then
explained with the same parameters. The table holds a few thousand rows shaped like
a running programme (most follow-ups closed, a few open) and has fresh planner
statistics, so the planner chooses as it would in production; nothing is forced
(no ``enable_seqscan = off``).

On SQLite the plan says plainly whether an index is searched or walked end to end.
On PostgreSQL a sequential scan, or an index scan with no index condition at all, is
caught; an index condition on a later column of an index (which also walks the whole
index) is not told apart from a search, so the queries checked here are also read
by eye: each constrains its index's first column (``status``, or the primary key).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select, text

from schedules.raising import escalate_overdue, raise_due
from workflow.db import engine_for, transaction
from workflow.errors import InvalidInput
from workflow.models import Course, FollowUp, Patient
from workflow.read.worklist import next_due
from workflow.synthetic import bulk_course_row

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
PATIENTS = 400
PER_PATIENT = 25  # 10 000 follow-ups


def _course(pid: int) -> dict[str, Any]:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    return bulk_course_row(
        number=pid,
        patient_id=pid,
        at=at,
        baseline_vas=8.0,
        requested_by="dr.requester",
        entered_by="coordinator",
    )


def _followup(pid: int, n: int) -> dict[str, Any]:
    """The n-th follow-up of a patient: a monthly series from 2025 on, closed in the
    past, a few never completed, the rest to come."""
    due = date(2025, 1, 1) + timedelta(days=30 * n + pid % 30)
    if due > TODAY:
        status = "scheduled"
    elif n % 40 == 7 or TODAY - due < timedelta(days=5):
        status = "raised"
    else:
        status = "done"
    return {
        "patient_id": pid,
        "course_id": pid,
        "origin_course_id": pid,
        "kind": "reassess_1m",
        "due_date": due,
        "status": status,
        "created_at": NOW,
        "raised_at": NOW if status != "scheduled" else None,
    }


def fill(url: str) -> Engine:
    engine = engine_for(url)
    with engine.begin() as conn:
        conn.execute(
            insert(Patient),
            [
                {
                    "id": pid,
                    "mrn": f"Q{pid:05d}",
                    "name": "Plan Patient",
                    "birth_date": date(1960, 1, 1),
                    "sex": "female",
                    "weight_kg": 80.0,
                    "diabetes": "type2",
                    "created_at": NOW,
                }
                for pid in range(1, PATIENTS + 1)
            ],
        )
        conn.execute(insert(Course), [_course(pid) for pid in range(1, PATIENTS + 1)])
        conn.execute(
            insert(FollowUp),
            [_followup(pid, n) for pid in range(1, PATIENTS + 1) for n in range(PER_PATIENT)],
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return engine


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The (statement, parameters) the driver receives while the block runs."""
    seen: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def on_followups(statements: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    found = [
        (sql, params)
        for sql, params in statements
        if "followups" in sql and sql.lstrip().upper().startswith(("SELECT", "UPDATE", "WITH"))
    ]
    assert found, "no statement on followups was captured"
    return found


def full_scans(engine: Engine, sql: str, params: Any) -> list[str]:
    """The plan's steps that read the followups table (or an index of it) from end to
    end; empty when every access is an index search."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            steps = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
            reads = [s for s in steps if s.split()[1:2] == ["followups"]]
            assert reads, steps
            return [s for s in reads if not (s.startswith("SEARCH") and _by_index(s))]
        plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).scalar_one()
    document = plan if isinstance(plan, list) else json.loads(plan)
    return [
        f"{node['Node Type']} on {node.get('Relation Name') or node.get('Index Name')}"
        for node in _nodes(document[0]["Plan"])
        if _reads_all_of_followups(node)
    ]


def _reads_all_of_followups(node: dict[str, Any]) -> bool:
    """A sequential scan of followups, or a walk through a whole index of it (an index
    scan with no condition on the index, only a filter afterwards)."""
    kind = node["Node Type"]
    if kind == "Seq Scan":
        return bool(node.get("Relation Name") == "followups")
    # pk_followups, ix_followups_…, uq_followups_…: a Bitmap Index Scan names only its index.
    index = str(node.get("Index Name", ""))
    on_followups = node.get("Relation Name") == "followups" or "_followups" in index
    scans_index = kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
    return on_followups and scans_index and "Index Cond" not in node


def _by_index(step: str) -> bool:
    return "USING INDEX" in step or "USING COVERING INDEX" in step or "PRIMARY KEY" in step


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def assert_indexed(engine: Engine, work: Callable[[], object]) -> int:
    with captured(engine) as statements:
        work()
    checked = on_followups(statements)
    for sql, params in checked:
        assert full_scans(engine, sql, params) == [], sql[:300]
    return len(checked)


def test_the_worklist_page_reads_followups_by_index(db_url: str) -> None:
    engine = fill(db_url)

    def worklist() -> object:
        with transaction(engine) as session:
            rows = next_due(session=session, today=TODAY, limit=50)
        assert len(rows) == 50
        assert [r.followup.status for r in rows][:3] == ["raised"] * 3  # overdue first
        return rows

    assert assert_indexed(engine, worklist) == 1


def test_raising_and_escalating_claim_by_index(db_url: str) -> None:
    engine = fill(db_url)

    def raising() -> object:
        # A week's worth: the share of the table one scheduler run claims.
        raised = raise_due(engine, as_of=TODAY + timedelta(days=7), now=NOW, channels=["log"])
        assert 20 < len(raised) < 200
        return escalate_overdue(engine, as_of=TODAY, now=NOW, channels=["log"])

    # For raising and for escalating: on PostgreSQL one statement each (a data-modifying
    # CTE: candidates, claim, outbox rows); on SQLite the claim, the outbox INSERT … SELECT
    # and the details.
    assert assert_indexed(engine, raising) >= (2 if engine.dialect.name == "postgresql" else 4)


@pytest.mark.parametrize("limit", [1, 50, 500])
def test_the_worklist_is_sorted_by_due_date_then_id(db_url: str, limit: int) -> None:
    engine = fill(db_url)
    with transaction(engine) as session:
        rows = next_due(session=session, today=TODAY, limit=limit)
        everything = sorted(
            (due, fid)
            for due, fid in session.execute(
                select(FollowUp.due_date, FollowUp.id).where(
                    FollowUp.status.in_(("scheduled", "raised"))
                )
            )
        )
    assert [(r.followup.due_date, r.followup.id) for r in rows] == everything[:limit]


def test_the_check_itself_sees_a_full_scan(db_url: str) -> None:
    # No index holds ``completed_by``: the planner must read the whole table, and the
    # check above must say so, or its silence would prove nothing.
    engine = fill(db_url)
    sqlite = engine.dialect.name == "sqlite"
    sql = f"SELECT id FROM followups WHERE completed_by = {'?' if sqlite else '%(by)s'}"
    params: Any = ("nobody",) if sqlite else {"by": "nobody"}
    assert full_scans(engine, sql, params) != []


@pytest.mark.parametrize("limit", [0, 501])
def test_a_page_size_out_of_range_is_refused(db_url: str, limit: int) -> None:
    with transaction(engine_for(db_url)) as session, pytest.raises(InvalidInput, match="limit"):
        next_due(session=session, today=TODAY, limit=limit)


def test_the_requested_sections_read_their_partial_indexes(db_url: str) -> None:
    """Pending reviews and requests awaiting information, and their totals, are read
    from their own partial indexes, not by visiting every requested course. (Checked
    on SQLite, whose planner is deterministic here; PostgreSQL's prefers a sequential
    scan over so small a table and uses the indexes at scale: see docs/benchmarks.md.)"""
    from workflow.read import queries

    engine = fill(db_url)
    with engine.begin() as conn:  # many requested courses, a few awaiting information
        rows = [
            _course(pid) | {"id": 1000 + pid, "state": "requested", "awaiting_information": None}
            for pid in range(1, 301)
        ]
        for row in rows[:5]:
            row["awaiting_information"] = "HbA1c?"
        conn.execute(insert(Course), rows)
        conn.execute(text("ANALYZE"))
    for awaiting, index in (
        (False, "ix_courses_requested_pending"),
        (True, "ix_courses_requested_awaiting"),
    ):
        with captured(engine) as statements, transaction(engine, read_only=True) as session:
            listed = queries.list_courses(
                session=session, state="requested", awaiting=awaiting, limit=100
            )
            total = queries.count_courses(session=session, state="requested", awaiting=awaiting)
        assert (len(listed), total) == ((5, 5) if awaiting else (100, 295))
        on_courses = [(sql, p) for sql, p in statements if "FROM courses" in sql]
        assert len(on_courses) == 2
        if engine.dialect.name == "sqlite":
            for sql, params in on_courses:
                with engine.connect() as conn:
                    plan = [r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
                assert any(f"USING INDEX {index}" in step for step in plan), (sql, plan)
