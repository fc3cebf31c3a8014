"""``ivig user …``: the accounts that sign in to the web app and its API."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from workflow.cli import render
from workflow.cli.common import RUNTIME, JsonOpt, emit_json, parse_date, read, run, wants_json
from workflow.errors import InvalidInput
from workflow.service import users

app = typer.Typer(help="Web users, their roles and API tokens.", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line: a trailing newline from `echo` or a file is not part of the password.
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InvalidInput("password: no terminal to prompt on; pass --password-stdin.")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@app.command("add")
def add(
    username: Annotated[str, typer.Option(help="The name to sign in with (unique).")],
    full_name: Annotated[str, typer.Option(help="The person's full name.")],
    role: Annotated[str, typer.Option(help="coordinator, reviewer or admin.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Create a user (the password is prompted for unless --password-stdin)."""
    users.check_role(role)  # before the prompt: a typo should not cost a password entry
    password = _read_password(password_stdin)
    clock = RUNTIME.clock
    result = run(
        lambda s: users.user_read(
            users.add_user(
                session=s,
                username=username,
                full_name=full_name,
                role=role,
                password=password,
                clock=clock,
            )
        )
    )
    if wants_json(json_out):
        emit_json(result)
    else:
        typer.echo(f"User {result.username} ({result.role}) created.")


@app.command("token")
def token(
    username: str,
    revoke: Annotated[bool, typer.Option("--revoke", help="Remove the token instead.")] = False,
    actor: Annotated[
        str | None, typer.Option(help="Who mints it (default IVIG_ACTOR, else the OS user).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Print a new API token for USERNAME (replaces the previous one; shown only once).

    A token minted by someone other than USERNAME is recorded in the account audit and
    cannot be used to review: reviewers mint their own (``--actor`` = themselves)."""
    by, at = RUNTIME.actor(actor), RUNTIME.clock.now()
    if revoke:
        run(lambda s: users.revoke_token(session=s, username=username, by=by, at=at))
        if wants_json(json_out):
            emit_json({"username": username, "token": None})
        else:
            typer.echo(f"The API token of {username} is revoked.")
        return
    value = run(lambda s: users.issue_token(session=s, username=username, by=by, at=at))
    if wants_json(json_out):
        emit_json({"username": username, "token": value})
    else:
        typer.echo(value)


@app.command("list")
def list_(json_out: JsonOpt = False) -> None:
    """List users and their roles."""
    rows = read(lambda s: [users.user_read(u) for u in users.list_users(session=s)])
    if wants_json(json_out):
        emit_json([r.model_dump(mode="json") for r in rows])
        return
    for r in rows:
        state = "active" if r.active else "deactivated"
        typer.echo(f"{r.username}\t{r.role}\t{state}\t{r.full_name}")


@app.command("password")
def password(
    username: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin's first line.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Set a new password for USERNAME (every session of the account ends)."""
    value = _read_password(password_stdin)
    by, at = RUNTIME.actor(None), RUNTIME.clock.now()
    result = run(
        lambda s: users.user_read(
            users.set_password(session=s, username=username, password=value, by=by, at=at)
        )
    )
    if wants_json(json_out):
        emit_json(result)
    else:
        typer.echo(f"Password of {result.username} changed.")


@app.command("deactivate")
def deactivate(username: str, json_out: JsonOpt = False) -> None:
    """Stop USERNAME from signing in (the account and its history remain; every
    session and the API token end)."""
    by, at = RUNTIME.actor(None), RUNTIME.clock.now()
    result = run(
        lambda s: users.user_read(
            users.set_active(session=s, username=username, active=False, by=by, at=at)
        )
    )
    if wants_json(json_out):
        emit_json(result)
    else:
        typer.echo(f"User {result.username} deactivated.")


@app.command("access-log")
def access_log(
    mrn: Annotated[str | None, typer.Option(help="Only views of this patient's record.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only views by this user.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only views on or after this date (YYYY-MM-DD).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most N rows, newest first.", min=1)] = 100,
    json_out: JsonOpt = False,
) -> None:
    """Who viewed which patient's record through the web pages and the API, newest first
    (lists and searches show their query)."""
    from workflow.read.audit import access_log as read_access_log

    since_day = parse_date(since, "since") if since is not None else None
    rows = read(
        lambda s: read_access_log(session=s, mrn=mrn, actor=actor, since=since_day, limit=limit)
    )
    if wants_json(json_out):
        emit_json([r.model_dump(mode="json") for r in rows])
        return
    zone = RUNTIME.settings.zone
    for r in rows:
        whose = " ".join(
            part
            for part in (
                f"MRN {r.mrn}" if r.mrn else "",
                f"course {r.course_id}" if r.course_id else "",
            )
            if part
        )
        typer.echo(f"{render.local(r.at, zone)}\t{r.actor}\t{r.what}\t{whose}".rstrip())
    if not rows:
        typer.echo("No view of a patient's record is logged for these filters.")


@app.command("audit")
def audit(
    username: Annotated[str | None, typer.Option(help="Only this account's events.")] = None,
    limit: Annotated[int, typer.Option(help="At most N rows, newest first.", min=1)] = 100,
    json_out: JsonOpt = False,
) -> None:
    """What was done to accounts, newest first: tokens minted (and by whom), passwords
    changed, sign-outs, deactivations, refused sign-ins."""
    from workflow.read.audit import account_events

    rows = read(lambda s: account_events(session=s, username=username, limit=limit))
    if wants_json(json_out):
        emit_json([r.model_dump(mode="json") for r in rows])
        return
    zone = RUNTIME.settings.zone
    for r in rows:
        detail = f"\t{r.detail}" if r.detail else ""
        typer.echo(f"{render.local(r.at, zone)}\t{r.actor}\t{r.action}\t{r.username}{detail}")
    if not rows:
        typer.echo("No account event is recorded for these filters.")
