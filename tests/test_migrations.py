"""The migrations produce exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from workflow.db import current_revision, engine_for, head_revision, upgrade
from workflow.models import Base


def test_migrations_match_the_models(db_url: str) -> None:
    engine = engine_for(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_is_safe_to_run_again(db_url: str) -> None:
    engine = engine_for(db_url)
    assert current_revision(engine) == head_revision()
    assert upgrade(engine) == (head_revision(), head_revision())


def test_head_read_without_alembic_is_alembics_head() -> None:
    """Commands read the head from the migration files (no Alembic import at start-up)."""
    from alembic.script import ScriptDirectory

    from workflow.db import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == script.get_current_head()


def test_revision_scan_agrees_with_the_syntax_tree() -> None:
    """The line scan every command runs reads the same ids as parsing each file."""
    from workflow.db import MIGRATIONS, _revision_ids, _revision_ids_parsed

    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert _revision_ids(path) == _revision_ids_parsed(source), path.name
