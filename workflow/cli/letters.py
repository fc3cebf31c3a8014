"""``ivig letters print``: the letters to post to patients who report by letter."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Annotated

import typer

from workflow.cli import render
from workflow.cli.common import (
    RUNTIME,
    ActorOpt,
    JsonOpt,
    emit_json,
    parse_date,
    unit_of_work,
    wants_json,
)
from workflow.errors import InvalidInput
from workflow.review.policy import load_policy
from workflow.service import selfreport

app = typer.Typer(
    help="Letters to patients who report their outcomes by post.", no_args_is_help=True
)


@app.command("print")
def print_(
    out: Annotated[str, typer.Option("--out", help="The PDF file to write.")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The date to judge by (YYYY-MM-DD; default: today)."),
    ] = None,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """One page per letter due: new invitations, and one reminder for those unanswered.

    Records on each invitation that its letter was printed (and starts the link's
    window then); nothing is recorded if the PDF cannot be written."""
    from workflow.letters import render as render_pdf

    settings, clock = RUNTIME.settings, RUNTIME.clock
    entered = now = clock.now()
    if as_of is not None:
        day = parse_date(as_of, "as-of")
        if day != clock.today():  # printed for another day: judged at that day's noon
            now = datetime.combine(day, time(12, 0), tzinfo=clock.zone).astimezone(now.tzinfo)
    printed_on = now.astimezone(clock.zone).date()
    target = Path(out)
    if target.suffix.lower() != ".pdf":
        raise InvalidInput(f"out: {out} must be a .pdf file.")
    if not target.parent.is_dir():
        raise InvalidInput(f"out: the folder {target.parent} does not exist.")
    by = actor or settings.default_actor()
    policy = load_policy().self_report
    with unit_of_work() as session:
        letters = selfreport.letters_due(
            session,
            now=now,
            policy=policy,
            base_url=settings.public_base_url,
            by=by,
            entered_at=entered,  # the history keeps when it really happened
            on=printed_on,
        )
        if letters:
            pdf = render_pdf(letters, printed_on=printed_on, contact=settings.patient_contact)
            try:
                target.write_bytes(pdf)
            except OSError as exc:
                raise InvalidInput(f"out: cannot write {out} ({exc.strerror}).") from None
    document = {
        "letters": len(letters),
        "reminders": sum(1 for letter in letters if letter.reminder),
        "out": str(target) if letters else None,
    }
    if wants_json(json_out):
        emit_json(document)
        return
    if letters:
        render.console.print(f"{len(letters)} letter(s) written to {target}")
    else:
        render.console.print("No letters are due; no file written.", style="dim")
