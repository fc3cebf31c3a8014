"""``ivig scheduler run``: the long-running process that raises and delivers reminders."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from schedules import runner
from schedules.channels import parse_notify
from workflow.cli import render
from workflow.cli.common import RUNTIME, JsonOpt, emit_json, wants_json

app = typer.Typer(help="The process that raises due follow-ups and sends reminders.")


@app.callback(no_args_is_help=True)
def _group() -> None:
    """The process that raises due follow-ups and sends reminders."""


@app.command("run")
def run_(
    interval_seconds: Annotated[
        int,
        typer.Option(
            "--interval-seconds", min=1, help="Seconds between runs of each job (default 60)."
        ),
    ] = runner.DEFAULT_INTERVAL_SECONDS,
    once: Annotated[
        bool, typer.Option("--once", help="Raise and deliver once, then exit (for cron).")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Raises due follow-ups and delivers reminders until SIGTERM or Ctrl-C."""
    settings = RUNTIME.settings
    if settings.log_level is None:
        # A service logs what it does (ids only); IVIG_LOG_LEVEL overrides.
        logging.getLogger("ivig").setLevel(logging.INFO)
    parse_notify(settings.notify_urls())  # fail fast (exit 2) on a bad IVIG_NOTIFY
    RUNTIME.engine()  # … and on a bad database URL or an outdated schema
    if once:
        report = runner.tick(settings)
        if wants_json(json_out):
            emit_json(
                {
                    "raised": report.raised,
                    "escalated": report.escalated,
                    "sent": report.sent,
                    "failed": report.failed,
                }
            )
        else:
            render.console.print(
                f"{len(report.raised)} raised, {len(report.escalated)} escalated; "
                f"reminders: {len(report.sent)} sent, {len(report.failed)} failed",
                style="dim",
            )
        return
    runner.run(settings, interval_seconds=interval_seconds)
