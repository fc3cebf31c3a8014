"""On SQLite, reads never take the write lock: a read command answers while another
process holds it, and a read transaction refuses to write."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError

from tests.conftest import Ivig, fixed_now
from tests.factories import course_in
from workflow.db import engine_for, forget_engine, transaction
from workflow.models import Patient


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """These are SQLite's locks (overrides conftest's SQLite + PostgreSQL)."""
    path = tmp_path / "ivig.db"
    shutil.copy(sqlite_template, path)
    yield f"sqlite:///{path}"
    forget_engine(f"sqlite:///{path}")


def test_read_commands_answer_while_a_writer_holds_the_lock(ivig: Ivig, db_url: str) -> None:
    course_id = course_in(ivig, "monitoring")
    writer = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a change
    try:
        assert ivig.ok("course", "show", str(course_id))["state"] == "monitoring"
        assert ivig.ok("patient", "show", "M1")["mrn"] == "M1"
        assert ivig.ok("followups", "list", "--course", str(course_id))
        assert ivig.ok("course", "list")[0]["id"] == course_id
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_read_transaction_refuses_to_write_and_leaves_writes_working(db_url: str) -> None:
    engine = engine_for(db_url)
    row = {
        "mrn": "R1",
        "name": "Read Only",
        "birth_date": date(1960, 1, 1),
        "sex": "female",
        "weight_kg": 70.0,
        "diabetes": "none",
        "created_at": fixed_now(),
    }
    with pytest.raises(OperationalError, match="readonly"):
        with transaction(engine, read_only=True) as session:
            session.execute(insert(Patient).values(**row))
    with transaction(engine) as session:  # the same pooled connection writes again
        session.execute(insert(Patient).values(**row))
    with transaction(engine, read_only=True) as session:
        assert session.scalars(select(Patient.mrn)).all() == ["R1"]
