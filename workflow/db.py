"""Engine, sessions and the schema's version.

SQLite is the embedded default; PostgreSQL the production database. Each
use-case runs in one transaction (``transaction()``), so a failure anywhere
leaves the database exactly as it was.
"""

from __future__ import annotations

import ast
import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from workflow.errors import Conflict, InvalidInput, SchemaNotReady

if TYPE_CHECKING:
    from alembic.config import Config

    from workflow.config import Settings

MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class EngineOptions:
    """How an engine is tuned (``IVIG_DB_POOL_*``, ``IVIG_SQLITE_SYNCHRONOUS``,
    docs/deployment.md); the defaults are the settings' defaults. The edges pass
    :meth:`from_settings`; nothing here reads the settings itself."""

    pool_pre_ping: bool = True
    pool_size: int = 5
    max_overflow: int = 10
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = "FULL"

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineOptions:
        return cls(
            pool_pre_ping=settings.db_pool_pre_ping,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            sqlite_synchronous=settings.sqlite_synchronous,
        )


def make_engine(url: str, options: EngineOptions = EngineOptions()) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, a busy timeout, WAL and the
    given ``synchronous``; other databases the given pool (docs/deployment.md)."""
    try:
        if url.startswith("sqlite"):
            # hide_parameters: a failing statement's message (and any log or traceback
            # quoting it) never carries the values bound into it, patient data included.
            engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
            _tune_sqlite(engine, options.sqlite_synchronous)
            return engine
        if url.startswith("postgresql"):
            from workflow.models import add_postgresql_predicates

            add_postgresql_predicates()  # the dialect loads with this engine anyway
        return create_engine(
            url,
            pool_pre_ping=options.pool_pre_ping,
            pool_size=options.pool_size,
            max_overflow=options.max_overflow,
            hide_parameters=True,
        )
    except (ArgumentError, ValueError) as exc:
        raise InvalidInput(f"IVIG_DATABASE_URL is not a usable database URL ({exc}).") from None
    except ModuleNotFoundError as exc:
        raise InvalidInput(
            f"IVIG_DATABASE_URL needs a driver that is not installed: {exc.name}."
        ) from None


def _tune_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control so BEGIN is issued by us (see _on_begin).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")  # a checked literal
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A reader takes no lock at all (WAL: it reads a snapshot), so readers never
        # queue behind a writer or each other. query_only makes a stray write in a
        # read transaction fail at once instead of upgrading the lock (which, in WAL,
        # fails with "database is locked" whenever another writer came first).
        # BEGIN IMMEDIATE takes the write lock up front: two writers queue instead of
        # both reading a course and one failing late with "database is locked".
        # The pragma is sent only when this connection's last transaction was of the
        # other kind (it stays set on the connection).
        reading = bool(conn.get_execution_options().get(_READ_ONLY))
        info = conn.connection.info
        if info.get(_READ_ONLY) is not reading:
            conn.exec_driver_sql(f"PRAGMA query_only={'ON' if reading else 'OFF'}")
            info[_READ_ONLY] = reading
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


#: Execution option marking a connection's transactions as reads (see ``reading``).
_READ_ONLY = "ivig_read_only"


_ENGINES: OrderedDict[str, Engine] = OrderedDict()
_ENGINES_LOCK = threading.Lock()
_MAX_ENGINES = 8


def engine_for(url: str, options: EngineOptions = EngineOptions()) -> Engine:
    """One engine (and connection pool) per URL for the process, tuned by ``options``
    when it is made.

    Beyond a handful of URLs (only tests use many), the least recently used engine is
    disposed, which closes its pooled connections instead of leaving them to the GC.
    """
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is not None:
            _ENGINES.move_to_end(url)
            return engine
        engine = _ENGINES[url] = make_engine(url, options)
        while len(_ENGINES) > _MAX_ENGINES:
            _ENGINES.popitem(last=False)[1].dispose()
            _forget_factories()
        return engine


def forget_engine(url: str) -> None:
    """Closes and forgets the engine of ``url`` (before its SQLite file is replaced)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()
        _forget_factories()


def dispose_engines() -> None:
    """Closes every pooled connection (at exit, or between tests)."""
    with _ENGINES_LOCK:
        while _ENGINES:
            _ENGINES.popitem()[1].dispose()
    _forget_factories()


def alembic_config(url: str) -> Config:
    # Alembic is imported only where the schema is created or migrated: a read command
    # checks the schema's version with one SELECT and never loads it (see head_revision).
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@functools.cache
def head_revision() -> str | None:
    """The newest migration's revision id.

    Read from the migration files' ``revision``/``down_revision`` assignments without
    importing Alembic (which costs every command ~0.1 s at start-up); when the files do
    not form one chain with one head, Alembic itself answers (and names the problem).
    ``tests/test_migrations.py`` checks that both ways agree.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = _revision_ids(path)
        if found is None:
            return _alembic_head()
        revision, down = found
        revisions.add(revision)
        parents.update(down)
    heads = revisions - parents
    if len(heads) != 1:
        return _alembic_head()
    return heads.pop()


#: ``revision = "…"`` / ``down_revision: … = …`` written on one line at the top level.
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\b[^=\n]*=(.*)$", re.MULTILINE)


def _revision_ids(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """``(revision, down_revisions)`` of one migration file, None if not plainly written.

    Every command checks the schema's version, so the two assignments are found by a
    line scan and only their values are parsed (parsing whole migration files cost
    each command ~25 ms); a file where that is not plain falls back to its syntax tree.
    """
    source = path.read_text(encoding="utf-8")
    values: dict[str, Any] = {}
    for name, value in _ASSIGNMENT.findall(source):
        if name in values:
            return _revision_ids_parsed(source)
        try:
            values[name] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            return _revision_ids_parsed(source)
    if "revision" not in values or "down_revision" not in values:
        return _revision_ids_parsed(source)
    return _revision_pair(values)


def _revision_ids_parsed(source: str) -> tuple[str, tuple[str, ...]] | None:
    values: dict[str, Any] = {}
    for node in ast.parse(source).body:
        target: ast.expr | None = None
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            try:
                values[target.id] = ast.literal_eval(value) if value is not None else None
            except ValueError:
                return None
    return _revision_pair(values)


def _revision_pair(values: dict[str, Any]) -> tuple[str, tuple[str, ...]] | None:
    revision, down = values.get("revision"), values.get("down_revision")
    if not isinstance(revision, str):
        return None
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
        return revision, tuple(down)
    return None


def _alembic_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated), read with one SELECT
    in a read transaction (every command checks it: it must not take a lock)."""
    with _read_bind(engine).connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        versions = list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    if len(versions) > 1:
        raise SchemaNotReady(
            f"the database has several schema heads ({', '.join(sorted(versions))}): "
            "run 'ivig db upgrade'."
        )
    return versions[0] if versions else None


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Creates or migrates the schema to head; returns (before, after)."""
    from alembic import command

    before = current_revision(engine)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            # SQLite's batch migrations copy a table, drop the old one and rename the
            # copy; with foreign keys enforced, dropping a table other rows point at
            # (patients, courses) fails. The pragma only switches outside a transaction,
            # so it is set on the driver's connection before BEGIN; the whole result is
            # checked before the commit, and the connection is discarded afterwards so
            # no pooled connection ever runs without foreign keys.
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("the migrated database has dangling foreign keys")
        finally:
            if sqlite:
                conn.invalidate()
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


def _forget_factories() -> None:
    _reader.cache_clear()
    _sessions.cache_clear()


@functools.cache
def _reader(engine: Engine) -> Engine:
    # Shares the engine's pool and events; only the transactions it begins differ.
    return engine.execution_options(**{_READ_ONLY: True})


@functools.lru_cache(maxsize=32)
def _sessions(bind: Engine) -> sessionmaker[Session]:
    """One session factory per engine: ``sessionmaker`` makes a Session subclass, and a
    new class per transaction rebuilt its event dispatch every time (~0.1 ms each)."""
    return sessionmaker(bind, expire_on_commit=False)


def _read_bind(engine: Engine) -> Engine:
    return _reader(engine) if engine.dialect.name == "sqlite" else engine


#: A course whose version moved on between reading and writing it (``Conflict``).
CHANGED_AT_ONCE = (
    "course: someone else changed this course at the same moment; nothing was saved, "
    "look at it again and retry."
)


@contextmanager
def transaction(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """One unit of work: commits on success, rolls everything back on any error.

    ``read_only``: a use-case that only reads. On SQLite it opens a deferred
    transaction (``BEGIN``), which takes no lock, so reads never wait for a writer
    nor hold one up; any write in it fails. A write transaction opens with ``BEGIN
    IMMEDIATE``. On PostgreSQL both are the same (MVCC: readers never block).

    A course changed by someone else meanwhile (its version moved on) or a database
    that stayed locked becomes a ``Conflict``: a clear refusal, never a lost update.
    """
    factory = _sessions(_read_bind(engine) if read_only else engine)
    try:
        with factory() as session, session.begin():
            yield session
    except StaleDataError:
        raise Conflict(CHANGED_AT_ONCE) from None
    except OperationalError as exc:
        if "locked" in str(exc.orig):
            raise Conflict(
                "database: it stayed locked by another writer; nothing was saved."
            ) from None
        raise
