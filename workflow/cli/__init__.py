"""The ``ivig`` command line: thin over the services; no rule lives here.

``main`` translates errors once: malformed input exits 2, a refusal exits 1, each
with one sentence on stderr and no traceback (``IVIG_DEBUG=1`` shows one).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from typing import Annotated, Any

import typer

from workflow.cli import (
    course,
    db,
    demo,
    followups,
    letters,
    patient,
    reminders,
    report,
    rules,
    scheduler,
    serve,
    user,
)
from workflow.cli.common import RUNTIME
from workflow.errors import IvigError

app = typer.Typer(
    name="ivig",
    help="Runs IVIG treatment courses from request to re-treatment.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(patient.app, name="patient")
app.add_typer(course.app, name="course")
app.add_typer(followups.app, name="followups")
app.add_typer(reminders.app, name="reminders")
app.add_typer(scheduler.app, name="scheduler")
app.add_typer(report.app, name="report")
app.add_typer(rules.app, name="rules")
app.add_typer(demo.app, name="demo")
app.add_typer(serve.app, name="serve")
app.add_typer(user.app, name="user")
app.add_typer(letters.app, name="letters")


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


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    logging.basicConfig(
        level=os.environ.get("IVIG_LOG_LEVEL", "WARNING").upper(),
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
        if os.environ.get("IVIG_DEBUG"):
            raise
        logging.getLogger("ivig").error("unexpected %s", type(exc).__name__)
        _fail(
            f"internal error ({type(exc).__name__}); nothing was saved. "
            "Set IVIG_DEBUG=1 to see the details.",
            3,
        )
