"""``ivig db …``: the schema."""

from __future__ import annotations

import typer

from workflow.cli.common import RUNTIME, JsonOpt, emit_json, wants_json
from workflow.db import EngineOptions, engine_for, upgrade

app = typer.Typer(help="Create or migrate the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_(json_out: JsonOpt = False) -> None:
    """Create or migrate the schema to the newest revision; safe to run again."""
    settings = RUNTIME.settings
    engine = engine_for(settings.database_url, EngineOptions.from_settings(settings))
    before, after = upgrade(engine)
    if wants_json(json_out):
        emit_json({"from_revision": before, "to_revision": after})
    elif before == after:
        typer.echo(f"The schema is up to date (revision {after}).")
    else:
        typer.echo(f"Schema migrated from revision {before or 'none'} to {after}.")
