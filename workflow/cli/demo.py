"""``ivig demo``: the README's main job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workflow.cli import render

app = typer.Typer(help="Walk one realistic IVIG course from request to re-treatment.")


def _invoke(argv: list[str]) -> int:
    from workflow.cli import main

    try:
        main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


@app.callback(invoke_without_command=True)
def demo(
    database: Annotated[
        Path, typer.Option(help="The demo's own SQLite file (replaced on each run).")
    ] = Path("ivig-demo.db"),
    report: Annotated[bool, typer.Option(help="End with the relapse report of a cohort.")] = True,
) -> None:
    """Walk one course from request to re-treatment on a fresh SQLite file, step by step."""
    from workflow.demo import run_demo

    run_demo(database.resolve(), render.console, _invoke, report=report)
