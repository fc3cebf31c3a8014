"""The README's main job: ``ivig demo`` walks a course to re-treatment and ends with
the relapse report of a synthetic cohort and its plot."""

from __future__ import annotations

import io
import json
import shlex
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from workflow.cli import main

pytestmark = pytest.mark.slow  # whole processes, or a large cohort


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(out):
            main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue()


def test_demo_walks_one_course_to_retreatment_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IVIG_DATABASE_URL", raising=False)
    code, out = _run("demo")
    assert code == 0, out
    for seen in (
        "may not review it",  # the requester cannot approve their own request
        "is now monitoring",
        "completes follow-up",
        "is now relapsed",
        "re-treatment after course 1",
        "retreatment.prior_response",
        "Relapse report as of 2026-11-01",
        "What to try next",
    ):
        assert seen in out, seen
    assert (tmp_path / "ivig-demo-relapse.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "ivig.db").exists()  # the demo never touches the user's database

    monkeypatch.setenv("IVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'ivig-demo.db'}")
    code, out = _run("course", "show", "1", "--json")
    first = json.loads(out)
    assert first["state"] == "retreated" and first["next_course_id"] == 2
    assert [h["to"] for h in first["history"] if h["from"] != h["to"]] == [
        "requested", "reviewed", "infusing", "monitoring", "relapsed", "retreated",
    ]  # fmt: skip


def test_printed_commands_run_when_pasted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = _run("demo", "--no-report")
    assert code == 0, out
    printed = [shlex.split(line[2:]) for line in out.splitlines() if line.startswith("$ ")]
    export = printed[0]
    assert export[0] == "export" and export[1].startswith("IVIG_DATABASE_URL=sqlite:///")
    commands = [argv[1:] for argv in printed if argv[0] == "ivig"]
    assert ["course", "relapse", "1", "--date", "2026-06-20", "--note",
            "VAS back to 7, right thigh"] in commands  # fmt: skip
    request = next(argv for argv in commands if argv[:2] == ["course", "request"])
    assert Path(request[-1]).is_file()  # the file a pasted command names is still there
    monkeypatch.setenv("IVIG_DATABASE_URL", export[1].split("=", 1)[1])
    assert _run(*next(argv for argv in commands if argv[:2] == ["course", "show"]))[0] == 0


def test_demo_runs_again_on_a_fresh_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _run("demo", "--no-report")[0] == 0
    assert _run("demo", "--no-report")[0] == 0
