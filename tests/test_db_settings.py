"""Durability and pool settings reach the engine: FULL sync on SQLite unless told.

The edges read them (``get_settings()``) and pass them as ``EngineOptions``."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.config import Settings, get_settings
from workflow.db import EngineOptions, make_engine


@pytest.mark.parametrize(("value", "expected"), [(None, 2), ("NORMAL", 1), ("EXTRA", 3)])
def test_sqlite_synchronous_is_full_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None, expected: int
) -> None:
    if value is None:
        monkeypatch.delenv("IVIG_SQLITE_SYNCHRONOUS", raising=False)
    else:
        monkeypatch.setenv("IVIG_SQLITE_SYNCHRONOUS", value)
    engine = make_engine(
        f"sqlite:///{tmp_path / 'x.db'}", EngineOptions.from_settings(get_settings())
    )
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == expected
    finally:
        engine.dispose()


@pytest.mark.slow
def test_pool_settings_reach_a_server_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVIG_DB_POOL_SIZE", "3")
    monkeypatch.setenv("IVIG_DB_MAX_OVERFLOW", "2")
    monkeypatch.setenv("IVIG_DB_POOL_PRE_PING", "false")
    engine = make_engine(  # never connects
        "postgresql+psycopg://nobody@127.0.0.1:1/none", EngineOptions.from_settings(get_settings())
    )
    pool = engine.pool
    assert (pool.size(), pool._max_overflow, pool._pre_ping) == (3, 2, False)  # type: ignore[attr-defined]


def test_a_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.errors import InvalidInput

    monkeypatch.setenv("IVIG_SQLITE_SYNCHRONOUS", "OFF")
    with pytest.raises(InvalidInput, match="IVIG_SQLITE_SYNCHRONOUS"):
        get_settings()


def test_the_engine_defaults_are_the_settings_defaults() -> None:
    assert EngineOptions() == EngineOptions.from_settings(Settings())
