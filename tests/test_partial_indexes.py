"""The partial indexes are partial on both databases, while a command on SQLite never
loads the PostgreSQL dialect just to declare them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from workflow.db import engine_for
from workflow.models import PARTIAL_INDEXES, Base


def _ddl() -> dict[str, str]:
    return {
        str(index.name): str(CreateIndex(index).compile(dialect=postgresql.dialect()))
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if index.name in PARTIAL_INDEXES
    }


@pytest.mark.postgres
@pytest.mark.slow
def test_a_postgresql_engine_gives_every_partial_index_its_where(pg_database: str) -> None:
    engine = engine_for(pg_database)  # attaches the PostgreSQL predicates
    ddl = _ddl()
    assert set(ddl) == set(PARTIAL_INDEXES)
    for name, where in PARTIAL_INDEXES.items():
        assert ddl[name].endswith(f"WHERE {where}"), ddl[name]
    # The migrated database has them as partial indexes too.
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(:names)"),
            {"names": list(PARTIAL_INDEXES)},
        ).all()
    assert {name for name, definition in rows if " WHERE " in definition} == set(PARTIAL_INDEXES)


def test_importing_the_models_does_not_load_the_postgresql_dialect() -> None:
    probe = "import sys, workflow.models; print('sqlalchemy.dialects.postgresql' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
