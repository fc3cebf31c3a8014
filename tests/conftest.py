"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, a fixed
clock, and a runner that drives the real ``ivig`` command line in-process.

PostgreSQL: ``IVIG_TEST_POSTGRES_URL`` (default postgres@127.0.0.1:5432/test) names a
server; the suite makes its own database there and drops it at the end, so runs never
see each other's rows. No server: the PostgreSQL runs are skipped with the reason.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from workflow.cli import common as cli_common
from workflow.cli import main
from workflow.db import dispose_engines, engine_for, forget_engine, upgrade
from workflow.models import Base

PG_ADMIN_URL = os.environ.get(
    "IVIG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Mid-afternoon UTC on a weekday; tests that need another moment set IVIG_FROZEN_NOW.
DEFAULT_NOW = "2026-11-20T15:00:00+00:00"


def _pg_reason() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure means: no usable server here
        return f"PostgreSQL not reachable at {make_url(PG_ADMIN_URL).host}: {type(exc).__name__}"


def pytest_configure(config: pytest.Config) -> None:
    # Piped output is as wide as its content (workflow.cli.render reads COLUMNS when
    # first imported, after this): pytest-xdist's workers set COLUMNS=80, which would
    # fold the tables differently from a real pipe.
    os.environ.pop("COLUMNS", None)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Passwords are hashed with argon2id at its smallest cost in tests. The real cost
    (3 passes over 64 MiB) is the point in production and only slows the suite: every
    web test signs users in. Hashing, verifying and refusing work exactly the same."""
    from argon2 import PasswordHasher

    from workflow.service import users

    cheap = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)
    monkeypatch.setattr(users, "_hasher", lambda: cheap)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of this run's own on the PostgreSQL server, migrated once."""
    reason = _pg_reason()
    if reason and os.environ.get("IVIG_REQUIRE_POSTGRES"):
        pytest.fail(f"{reason} (IVIG_REQUIRE_POSTGRES is set)")
    if reason:
        pytest.skip(reason)
    name = f"ivig_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(engine_for(url))
    yield url
    engine_for(url).dispose()
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _truncate(url: str) -> None:
    engine = engine_for(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


#: The PostgreSQL runs of every database test belong to the full suite (``.ci/run``);
#: the fast lane (``pytest -m "not slow"``) runs them on SQLite only.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """The URL of an empty, migrated database; each test runs on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "ivig.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
        yield url
        forget_engine(url)  # never makes one: the test's environment may still be broken
    else:
        url = request.getfixturevalue("pg_database")
        _truncate(url)
        yield url


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, f"exit {self.code}: {self.err}"
        return json.loads(self.out)


class Ivig:
    """Runs ``ivig`` in-process exactly as the console script does."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def now(self, instant: str) -> None:
        self.monkeypatch.setenv("IVIG_FROZEN_NOW", instant)

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        cli_common.RUNTIME.json_default = False
        out, err = io.StringIO(), io.StringIO()
        old_stdin = sys.stdin
        sys.stdin = io.StringIO(stdin or "")
        code = 0
        try:
            with redirect_stdout(out), redirect_stderr(err):
                main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stdin = old_stdin
        return Result(code, out.getvalue(), err.getvalue())

    def ok(self, *args: str, stdin: str | None = None) -> Any:
        """Runs a command with --json and returns its document (fails on non-zero exit)."""
        return self(*args, "--json", stdin=stdin).json()


@pytest.fixture
def ivig(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Ivig:
    monkeypatch.setenv("IVIG_DATABASE_URL", db_url)
    monkeypatch.setenv("IVIG_ACTOR", "coordinator.cole")
    monkeypatch.setenv("IVIG_TIMEZONE", "UTC")
    monkeypatch.setenv("IVIG_FROZEN_NOW", DEFAULT_NOW)
    monkeypatch.delenv("IVIG_NOTIFY", raising=False)
    monkeypatch.delenv("IVIG_POLICY", raising=False)
    return Ivig(monkeypatch)


def fixed_now() -> datetime:
    return datetime.fromisoformat(DEFAULT_NOW).astimezone(UTC)
