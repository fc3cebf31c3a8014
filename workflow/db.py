"""Engine, sessions and the schema's version.

SQLite is the embedded default; PostgreSQL the production database. Each
use-case runs in one transaction (``transaction()``), so a failure anywhere
leaves the database exactly as it was.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from workflow.errors import Conflict, InvalidInput, SchemaNotReady

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, a busy timeout and WAL."""
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})
            _tune_sqlite(engine)
            return engine
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ValueError) as exc:
        raise InvalidInput(f"IVIG_DATABASE_URL is not a usable database URL ({exc}).") from None
    except ModuleNotFoundError as exc:
        raise InvalidInput(
            f"IVIG_DATABASE_URL needs a driver that is not installed: {exc.name}."
        ) from None


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control so BEGIN is issued by us (see _on_begin).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # BEGIN IMMEDIATE takes the write lock up front: two writers queue instead
        # of both reading a course and one failing late with "database is locked".
        conn.exec_driver_sql("BEGIN IMMEDIATE")


_ENGINES: OrderedDict[str, Engine] = OrderedDict()
_ENGINES_LOCK = threading.Lock()
_MAX_ENGINES = 8


def engine_for(url: str) -> Engine:
    """One engine (and connection pool) per URL for the process.

    Beyond a handful of URLs (only tests use many), the least recently used engine is
    disposed, which closes its pooled connections instead of leaving them to the GC.
    """
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is not None:
            _ENGINES.move_to_end(url)
            return engine
        engine = _ENGINES[url] = make_engine(url)
        while len(_ENGINES) > _MAX_ENGINES:
            _ENGINES.popitem(last=False)[1].dispose()
        return engine


def forget_engine(url: str) -> None:
    """Closes and forgets the engine of ``url`` (before its SQLite file is replaced)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()


def dispose_engines() -> None:
    """Closes every pooled connection (at exit, or between tests)."""
    with _ENGINES_LOCK:
        while _ENGINES:
            _ENGINES.popitem()[1].dispose()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@functools.cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Creates or migrates the schema to head; returns (before, after)."""
    before = current_revision(engine)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, current_revision(engine)


def ensure_schema(engine: Engine) -> None:
    """A fresh, empty database gets the schema; an outdated one is refused.

    Creating the schema on first use lets ``ivig patient add`` work on a brand-new
    SQLite file; migrating an existing database stays an explicit act
    (``ivig db upgrade``), as a clinical system's operators expect.
    """
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None and not inspect(engine).get_table_names():
        upgrade(engine)
        return
    raise SchemaNotReady(
        f"the database schema is at revision {current or 'none'}, this program needs {head}: "
        "run 'ivig db upgrade'."
    )


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits on success, rolls everything back on any error.

    A course changed by someone else meanwhile (its version moved on) or a database
    that stayed locked becomes a ``Conflict``: a clear refusal, never a lost update.
    """
    factory = sessionmaker(engine, expire_on_commit=False)
    try:
        with factory() as session, session.begin():
            yield session
    except StaleDataError:
        raise Conflict(
            "course: someone else changed this course at the same moment; nothing was saved, "
            "look at it again and retry."
        ) from None
    except OperationalError as exc:
        if "locked" in str(exc.orig):
            raise Conflict(
                "database: it stayed locked by another writer; nothing was saved."
            ) from None
        raise
