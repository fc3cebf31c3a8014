"""What the outside-in tests share: snapshots of everything a user can see, and one
assertion for "refused, with one clear sentence, and nothing written".

The snapshot is taken twice over: through the commands a coordinator would run
(``course show``/``course list``/``followups list``/``patient show``) and straight from
every table, so a refusal that leaves a stray row behind is caught even where no
command would show it (a patient-level history row, an orphan follow-up).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.conftest import Ivig, Result
from workflow.db import engine_for
from workflow.models import Base

#: The installed console script, next to the interpreter running the tests.
IVIG_SCRIPT = Path(sys.executable).with_name("ivig")

#: Hard bound for a subprocess of the console script (never reached when all is well).
SUBPROCESS_TIMEOUT = 60


def table_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the database the ``ivig`` fixture points at."""
    engine = engine_for(os.environ["IVIG_DATABASE_URL"])
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    return rows


def snapshot(ivig: Ivig, mrns: Iterable[str] = ("M1",)) -> dict[str, Any]:
    """Everything the CLI shows about the database, plus its raw rows."""
    courses = ivig.ok("course", "list")
    return {
        "courses": courses,
        "shown": {c["id"]: ivig.ok("course", "show", str(c["id"])) for c in courses},
        "followups": ivig.ok("followups", "list"),
        "patients": {m: _patient_or_none(ivig, m) for m in mrns},
        "tables": table_rows(),
    }


def _patient_or_none(ivig: Ivig, mrn: str) -> Any:
    result = ivig("patient", "show", mrn, "--json")
    return result.json() if result.code == 0 else None


def assert_one_sentence(result: Result, code: int, names: Sequence[str]) -> None:
    """Exit ``code``, one line on stderr naming every one of ``names``, no traceback."""
    assert result.code == code, f"expected exit {code}, got {result.code}: {result.err!r}"
    lines = result.err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {result.err!r}"
    assert "Traceback" not in result.err
    for name in names:
        assert name.lower() in result.err.lower(), f"{name!r} not named in {result.err!r}"


def assert_refused(
    ivig: Ivig,
    args: Sequence[str],
    *,
    code: int,
    names: Sequence[str],
    stdin: str | None = None,
    mrns: Iterable[str] = ("M1",),
) -> Result:
    """Runs ``ivig ARGS --json`` and asserts a clean refusal that wrote nothing."""
    mrns = tuple(mrns)
    before = snapshot(ivig, mrns)
    result = ivig(*args, "--json", stdin=stdin)
    assert_one_sentence(result, code, names)
    assert result.out == "", f"--json failure printed on stdout: {result.out!r}"
    assert snapshot(ivig, mrns) == before, "a refused command changed the database"
    return result


def write_json(path: Path, document: Any) -> str:
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def script_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess of the console script: the test's database,
    clock and actor (set by the ``ivig`` fixture), nothing from the tests' process state."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVIG_")}
    for name in ("IVIG_DATABASE_URL", "IVIG_FROZEN_NOW", "IVIG_ACTOR", "IVIG_TIMEZONE"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra)
    return env


def run_script(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
    """Runs the installed ``ivig`` console script as a user would."""
    proc = subprocess.run(
        [str(IVIG_SCRIPT), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env if env is not None else script_env(),
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_scripts(*commands: Sequence[str], env: dict[str, str] | None = None) -> list[Result]:
    """Runs several ``ivig`` processes at once (start-up dominates; they overlap it)."""
    procs = [
        subprocess.Popen(
            [str(IVIG_SCRIPT), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env if env is not None else script_env(),
        )
        for args in commands
    ]
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        results.append(Result(proc.returncode, out, err))
    return results


def history_chain_is_continuous(history: Sequence[dict[str, Any]]) -> bool:
    """Each row starts where the previous one ended (no change was lost or overwritten)."""
    return all(prev["to"] == row["from"] for prev, row in zip(history, history[1:], strict=False))


def transitions(history: Sequence[dict[str, Any]]) -> list[tuple[Any, Any]]:
    return [(row["from"], row["to"]) for row in history]
