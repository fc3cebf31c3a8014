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

import functools
import importlib
import logging
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
            group = typer.main.get_group_from_info(
                TyperInfo(module.app, name=cmd_name),
                pretty_exceptions_short=module.app.pretty_exceptions_short,
                rich_markup_mode=module.app.rich_markup_mode,
                suggest_commands=module.app.suggest_commands,
            )
            self.add_command(group, cmd_name)
        return super().get_command(ctx, cmd_name)


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


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    logging.basicConfig(
        level=_setting("log_level") or "WARNING",
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
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
        if _setting("debug"):
            raise
        words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
        log_unexpected(logging.getLogger("ivig"), exc, f"in 'ivig {' '.join(words[:2])}'")
        _fail(
            f"internal error ({type(exc).__name__}); nothing was saved. "
            "Set IVIG_DEBUG=1 to see the details.",
            3,
        )
