"""``ivig reminders …``: the outbox, to see what was sent and what is being retried."""

from __future__ import annotations

from typing import Annotated

import typer

from workflow.cli import render
from workflow.cli.common import RUNTIME, JsonOpt, emit_json, read, wants_json
from workflow.read.reminders import list_reminders

app = typer.Typer(
    help="The outbox: reminders and other messages, and their delivery.", no_args_is_help=True
)


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="pending, sending or sent.")] = None,
    followup: Annotated[int | None, typer.Option(help="Only this follow-up's reminders.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Reminders, oldest first, with attempts, the next try and the last error."""
    rows = read(lambda s: list_reminders(session=s, status=status, followup_id=followup))
    if wants_json(json_out):
        emit_json([r.model_dump(mode="json") for r in rows])
        return
    zone = RUNTIME.settings.zone
    # One line per reminder (and its error under it): channel URLs are too long for a table.
    for r in rows:
        if r.status == "sent" and r.sent_at:
            state = f"sent {render.local(r.sent_at, zone)}"
        else:
            state = f"{r.status}, next try {render.local(r.next_attempt_at, zone)}"
        tries = f"{r.attempts} tr{'y' if r.attempts == 1 else 'ies'}"
        about = f"follow-up {r.followup_id}" if r.followup_id is not None else r.message_id
        render.console.print(
            f"#{r.id} {about} {r.kind} via {r.channel}: {state} ({tries})",
            markup=False,
        )
        if r.last_error:
            render.console.print(f"    last error: {r.last_error}", markup=False)
    render.console.print(f"{len(rows)} reminder(s)", style="dim")
