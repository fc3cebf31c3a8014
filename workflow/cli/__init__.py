"""The ``ivig`` command line: thin over the services; no rule lives here.

``main`` translates errors once: malformed input exits 2, a refusal exits 1, each
with one sentence on stderr and no traceback (``IVIG_DEBUG=1`` shows one).

Start-up is part of every command's time, so each command group's module is imported
only when that group is run (``SUBCOMMANDS``): ``ivig patient show`` never loads the
web app, the scheduler, the plotting or the migrations. **A new command group is one
line in ``SUBCOMMANDS``** (not an ``app.add_typer`` of an imported module), and a
heavy library (fastapi, alembic, matplotlib, lifelines, argon2, fhir.resources, PDF
or QR code makers…) is imported inside the command function that needs it, never at
the top of a module a read command imports. ``tests/test_startup.py`` enforces this.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import logging
import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption
from typer.models import TyperInfo

from workflow.cli.common import RUNTIME
from workflow.errors import IvigError, log_unexpected

_display_type = TyperOption.display_type_rich


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    """An on/off flag takes no value, so ``--help`` shows no ``<bool>`` beside it."""
    return None if self.is_flag else _display_type(self, ctx)


# Typer's rich help prints a type for every option, flags included; a user reading
# ``--json <bool>`` types ``--json true`` and is refused.
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]

#: Command group name -> the ``workflow.cli`` module whose ``app`` (a ``typer.Typer``)
#: holds its commands, in the order ``ivig --help`` lists them.
SUBCOMMANDS: dict[str, str] = {
    "db": "db",
    "patient": "patient",
    "course": "course",
    "followups": "followups",
    "reminders": "reminders",
    "scheduler": "scheduler",
    "report": "report",
    "rules": "rules",
    "demo": "demo",
    "serve": "serve",
    "user": "user",
    "letters": "letters",
    "fhir": "fhir",
    "export": "export",
}


class LazyGroup(TyperGroup):
    """The root command: a group's module is imported the first time it is asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in SUBCOMMANDS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in SUBCOMMANDS:
            module = importlib.import_module(f"workflow.cli.{SUBCOMMANDS[cmd_name]}")
            self.add_command(_lazy_group(module.app, cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)


class LazyCommands(TyperGroup):
    """A command group whose commands are built from their functions when first asked
    for: ``ivig patient show`` builds the options of ``show`` only, not of every
    patient command (reading each function's annotations is most of the cost).
    ``commands`` (click's mapping of them all) builds the rest when read."""

    pending: dict[str, Any]  # name -> the Typer command info, until built
    order: list[str]  # the names in the order they were declared
    build: Any

    @property  # type: ignore[override]
    def commands(self) -> dict[str, Any]:
        for name in list(self.__dict__.get("pending", ())):
            self._built(name)
        return self._commands

    @commands.setter
    def commands(self, value: dict[str, Any]) -> None:
        self._commands = value

    def _built(self, name: str) -> None:
        info = self.pending.pop(name, None)
        if info is not None:
            self._commands[name] = self.build(info)
            # In the order declared, whichever was built first (help lists them so).
            self._commands = {n: self._commands[n] for n in self.order if n in self._commands}

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        self._built(cmd_name)
        return self._commands.get(cmd_name)


def _lazy_group(app: typer.Typer, name: str) -> TyperGroup:
    """The click group of ``app`` as ``typer.main.get_group_from_info`` makes it, but
    with its commands left to be built on first use."""
    shell = copy.copy(app)
    shell.registered_commands = []
    shell.info = copy.copy(app.info)
    shell.info.cls = LazyCommands
    group = typer.main.get_group_from_info(
        TyperInfo(shell, name=name),
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
        suggest_commands=app.suggest_commands,
    )
    if not isinstance(group, LazyCommands):  # Typer did not take the class: build all
        return typer.main.get_group_from_info(
            TyperInfo(app, name=name),
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
            suggest_commands=app.suggest_commands,
        )
    group.pending = {
        info.name or typer.main.get_command_name(info.callback.__name__): info
        for info in app.registered_commands
        if info.callback is not None
    }
    group.order = [*group.pending, *group._commands]
    group.build = functools.partial(
        typer.main.get_command_from_info,
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
    )
    return group


app = typer.Typer(
    name="ivig",
    help="Runs IVIG treatment courses from request to re-treatment.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyGroup,
)


@app.callback()
def _root(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")
    ] = False,
) -> None:
    RUNTIME.json_default = json_out


@functools.cache
def _command() -> Any:
    """The click command Typer builds from the annotations, built once per process
    (building it is most of a short command's run time)."""
    return typer.main.get_command(app)


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"ivig: {message}\n")
    sys.exit(code)


def _setting(name: str) -> Any:
    """One setting, or None when the settings are bad (the command will say which)."""
    from workflow.config import get_settings

    try:
        return getattr(get_settings(), name)
    except IvigError:
        return None


def _new_sqlite_file() -> str | None:
    """The configured SQLite file if it does not exist yet (to remove it again should
    the command fail: a mistyped path must not leave an empty database behind)."""
    url = str(_setting("database_url") or "")
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    return None if not path or os.path.exists(path) else path


def _forget_new_file(path: str | None) -> None:
    if path is None or not os.path.exists(path):
        return
    from workflow.db import dispose_engines

    dispose_engines()
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            os.remove(path + suffix)


def _connection_failure(exc: Exception) -> str | None:
    """One sentence naming the setting, for a database that cannot be reached."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    text = str(getattr(exc, "orig", exc)).lower()
    if "unable to open database file" in text:
        return "IVIG_DATABASE_URL: the SQLite file cannot be opened (does its directory exist?)."
    if "locked" in text or "no such table" in text:
        return None
    return "IVIG_DATABASE_URL: the database cannot be reached (is the server running?)."


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    logging.basicConfig(
        level=_setting("log_level") or "WARNING",
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    fresh = _new_sqlite_file()
    try:
        _main(argv)
    except SystemExit as exc:
        if exc.code not in (0, None):
            _forget_new_file(fresh)
        raise


def _main(argv: list[str] | None) -> None:
    try:
        code = _command().main(args=argv, prog_name="ivig", standalone_mode=False)
        # Without standalone mode, click returns (not raises) the code of a typer.Exit.
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except typer.Abort:
        _fail("interrupted; nothing was saved.", 130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: exit 2
        message = " ".join(exc.format_message().split())
        if not message:  # a bare group name: its help was printed
            sys.exit(exc.exit_code)
        _fail(message, exc.exit_code)
    except IvigError as exc:
        _fail(exc.message, exc.exit_code)
    except Exception as exc:  # the last edge: never a traceback for a user
        unreachable = _connection_failure(exc)
        if unreachable is not None:
            _fail(unreachable, 2)
        if _setting("debug"):
            raise
        words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
        log_unexpected(logging.getLogger("ivig"), exc, f"in 'ivig {' '.join(words[:2])}'")
        _fail(
            f"internal error ({type(exc).__name__}); nothing was saved. "
            "Set IVIG_DEBUG=1 to see the details.",
            3,
        )
