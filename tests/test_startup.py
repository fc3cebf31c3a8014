"""Read commands start at once: they never import the heavy parts of the program.

Each read command runs as its own process (the console script's ``main``), exactly
as a coordinator or a script runs it, and reports every module it imported. The
web app, migrations, plotting, survival analysis, password hashing, FHIR, PDF and
QR-code makers and the test tools belong only to the commands that use them.

A helper adding a heavy dependency adds it to ``HEAVY`` (and imports it inside the
command or function that needs it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Ivig
from tests.factories import course_in
from workflow.db import forget_engine

#: Top-level packages no read command may import.
HEAVY = frozenset(
    {
        "fastapi",
        "starlette",
        "uvicorn",
        "alembic",
        "matplotlib",
        "lifelines",
        "argon2",
        "fhir",  # fhir.resources
        "reportlab",
        "fpdf",
        "pypdf",
        "segno",
        "limits",  # the self-report form's rate limits (web only)
        "schemathesis",
        "jinja2",
        "apscheduler",
        "httpx",
        "pandas",
        "scipy",
    }
)

READ_COMMANDS = (
    ("patient", "show", "M1"),
    ("patient", "show", "M1", "--json"),
    ("course", "show", "1"),
    ("course", "show", "1", "--json"),
    ("followups", "list"),
    ("followups", "list", "--json"),
)

# Runs one command as the console script does, then writes the names of the loaded
# top-level packages to the file named by argv[1] (even when the command exits).
_PROBE = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(
    lambda: open(out, "w").write(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
)
from workflow.cli import main
main(sys.argv[2:])
"""


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """Start-up does not depend on the database: SQLite alone (overrides conftest's)."""
    path = tmp_path / "ivig.db"
    shutil.copy(sqlite_template, path)
    yield f"sqlite:///{path}"
    forget_engine(f"sqlite:///{path}")


@pytest.fixture
def monitored(ivig: Ivig) -> None:
    assert course_in(ivig, "monitoring") == 1


@pytest.mark.slow
@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_read_command_imports_nothing_heavy(
    monitored: None, command: tuple[str, ...], tmp_path: Path
) -> None:
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(report), *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the command printed nothing"
    loaded = set(json.loads(report.read_text()))
    assert not loaded & HEAVY, f"{' '.join(command)} imported {sorted(loaded & HEAVY)}"
