"""``ivig serve``: the coordinator's web app and the JSON API (uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from workflow.cli.common import RUNTIME

app = typer.Typer(
    help="Serve the web app and the JSON API.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log every request line (off by default: search terms may hold names).",
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option(help="Worker processes (use more than one under load).", min=1, max=64)
    ] = 1,
) -> None:
    """Start the web app on IVIG_DATABASE_URL (SQLite by default) until interrupted."""
    import uvicorn
    from fastapi import FastAPI

    from workflow.web import create_app
    from workflow.web.auth import secret_key

    RUNTIME.engine()  # fails fast, with the CLI's message, on an outdated schema
    # Made (or read) once here, so several workers never each generate a different key.
    secret_key(RUNTIME.settings.database_url)
    typer.echo(f"ivig: serving on http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    if workers == 1:
        target: FastAPI | str = create_app()
    else:  # each worker process builds its own app (and connection pool)
        target = "workflow.web:create_app"
    uvicorn.run(
        target,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        access_log=access_log,
        log_level="info",
    )
