"""What every command prints, the schema commands, and the installed console script."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import (
    IVIG_SCRIPT,
    assert_one_sentence,
    run_script,
    run_scripts,
    script_env,
    table_rows,
    write_json,
)
from tests.conftest import DEFAULT_NOW, Ivig
from tests.factories import course_in, register, request_doc
from workflow.db import engine_for

_ADD = [
    "patient",
    "add",
    "--mrn",
    "M9",
    "--name",
    "Json Check",
    "--birth-date",
    "1950-01-01",
    "--sex",
    "other",
    "--weight-kg",
    "60",
]


_AE = ["--kind", "headache", "--grade", "1"]


def _one_document(ivig: Ivig, *args: str, stdin: str | None = None) -> object:
    result = ivig(*args, "--json", stdin=stdin)
    assert result.code == 0, f"{args}: exit {result.code}: {result.err}"
    return json.loads(result.out)  # the whole of stdout is one document


def test_every_command_prints_exactly_one_json_document(ivig: Ivig, tmp_path: Path) -> None:
    register(ivig, "M1")
    register(ivig, "M2")
    doc = json.dumps(request_doc("M1"))
    c1 = _one_document(ivig, "course", "request", "--file", "-", stdin=doc)
    c2 = _one_document(
        ivig, "course", "request", "--file", write_json(tmp_path / "r.json", request_doc("M2"))
    )
    assert isinstance(c1, dict) and isinstance(c2, dict)
    one, two = str(c1["id"]), str(c2["id"])
    review = ["--decision", "approve", "--reviewer", "dr.r", "--note", "ok", "--date", "2026-09-28"]
    steps: list[tuple[list[str], str | None]] = [
        (["db", "upgrade"], None),
        (_ADD, None),
        (["patient", "show", "M9"], None),
        (["patient", "measure", "M1", "--date", "2026-11-01", "--hba1c", "7.1"], None),
        (["course", "review", one, *review], None),
        (["course", "review", two, *review], None),
        (["course", "cancel", two, "--reason", "duplicate"], None),
    ]
    steps += [
        (["course", "infuse", one, "--date", f"2026-10-0{d}", "--grams", "32.8"], None)
        for d in range(1, 6)
    ]
    steps += [
        (["course", "adverse-event", one, "--date", "2026-10-02"] + _AE, None),
        (["course", "expire-lapsed", "--as-of", "2026-11-20"], None),
        (["report", "safety"], None),
        (["report", "lot", "L1"], None),
        (["course", "assess", one, "--date", "2026-10-19", "--vas", "3"], None),
        (["course", "relapse", one, "--date", "2026-11-10"], None),
        (["course", "retreat", one, "--file", "-"], doc),
        (["course", "show", one], None),
        (["course", "list", "--mrn", "M1", "--state", "retreated"], None),
        (["followups", "list", "--mrn", "M1"], None),
    ]
    for args, stdin in steps:
        _one_document(ivig, *args, stdin=stdin)


def test_json_output_of_stop_and_close(ivig: Ivig) -> None:
    infusing = course_in(ivig, "infusing", mrn="M1")
    monitoring = course_in(ivig, "monitoring", mrn="M2")

    stopped = _one_document(
        ivig, "course", "stop", str(infusing), "--date", "2026-10-01", "--reason", "rash"
    )
    closed = _one_document(ivig, "course", "close", str(monitoring), "--date", "2026-11-19")

    assert isinstance(stopped, dict) and stopped["state"] == "discontinued"
    assert isinstance(closed, dict) and closed["state"] == "completed"


def test_json_is_also_a_global_flag(ivig: Ivig) -> None:
    cid = course_in(ivig, "requested")

    shown = ivig("--json", "course", "show", str(cid))
    listed = ivig("--json", "course", "list")
    added = ivig("--json", *_ADD)

    assert shown.code == 0 and json.loads(shown.out) == ivig.ok("course", "show", str(cid))
    assert listed.code == 0 and [c["id"] for c in json.loads(listed.out)] == [cid]
    assert added.code == 0 and json.loads(added.out)["mrn"] == "M9"


def test_global_json_flag_failure_prints_nothing_on_stdout(ivig: Ivig) -> None:
    register(ivig, "M1")

    result = ivig("--json", "course", "show", "77")

    assert_one_sentence(result, 1, ["77"])
    assert result.out == ""


def test_without_json_the_output_is_for_people(ivig: Ivig) -> None:
    cid = course_in(ivig, "reviewed")

    shown = ivig("course", "show", str(cid))

    assert shown.code == 0
    assert "reviewed" in shown.out and "M1" in shown.out
    with pytest.raises(json.JSONDecodeError):
        json.loads(shown.out)


# -- the schema --------------------------------------------------------------------------


def test_db_upgrade_twice_is_safe_and_keeps_the_data(ivig: Ivig) -> None:
    register(ivig, "M1")
    rows = table_rows()

    first = ivig("db", "upgrade")
    second = ivig.ok("db", "upgrade")

    assert first.code == 0
    assert second["from_revision"] == second["to_revision"]
    assert table_rows() == rows
    assert ivig.ok("patient", "show", "M1")["mrn"] == "M1"


@pytest.fixture
def fresh_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ivig]:
    """A runner on a brand-new SQLite file nobody has migrated."""
    path = tmp_path / "brand-new.db"
    url = f"sqlite:///{path}"
    monkeypatch.setenv("IVIG_DATABASE_URL", url)
    monkeypatch.setenv("IVIG_ACTOR", "coordinator.cole")
    monkeypatch.setenv("IVIG_TIMEZONE", "UTC")
    monkeypatch.setenv("IVIG_FROZEN_NOW", DEFAULT_NOW)
    assert not path.exists()
    yield Ivig(monkeypatch)
    engine_for(url).dispose()


def test_a_brand_new_sqlite_file_works_without_upgrade(fresh_sqlite: Ivig) -> None:
    ivig = fresh_sqlite

    assert register(ivig, "M1")["mrn"] == "M1"
    course = ivig.ok("course", "request", "--file", "-", stdin=json.dumps(request_doc("M1")))

    assert course["state"] == "requested"
    assert ivig.ok("db", "upgrade")["from_revision"] is not None  # already at head


def test_without_a_database_url_a_sqlite_file_in_the_current_directory_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IVIG_DATABASE_URL", raising=False)
    monkeypatch.setenv("IVIG_ACTOR", "coordinator.cole")
    monkeypatch.setenv("IVIG_FROZEN_NOW", DEFAULT_NOW)
    ivig = Ivig(monkeypatch)
    try:
        assert register(ivig, "M1")["mrn"] == "M1"
        assert [p.suffix for p in tmp_path.iterdir() if p.is_file()].count(".db") == 1
        assert ivig.ok("patient", "show", "M1")["mrn"] == "M1"
    finally:
        engine_for("sqlite:///ivig.db").dispose()


# -- the installed console script ---------------------------------------------------------


def test_the_console_script_is_installed() -> None:
    assert IVIG_SCRIPT.exists() and os.access(IVIG_SCRIPT, os.X_OK)


@pytest.mark.slow
def test_console_script_reads_a_request_from_stdin(ivig: Ivig) -> None:
    register(ivig, "M1")

    result = run_script(
        "course", "request", "--file", "-", "--json", stdin=json.dumps(request_doc())
    )

    assert result.code == 0, result.err
    course = json.loads(result.out)
    assert course["state"] == "requested"
    assert ivig.ok("course", "show", str(course["id"]))["mrn"] == "M1"


@pytest.mark.slow
def test_console_script_exit_codes_and_sentences(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")
    rows = table_rows()

    # Refusals only, so they may run side by side.
    malformed, refused, wrong_state, usage = run_scripts(
        ["course", "assess", str(cid), "--date", "2026-11-01", "--vas", "11", "--json"],
        ["course", "show", "999", "--json"],
        ["course", "stop", str(cid), "--date", "2026-11-01", "--reason", "x"],
        ["course", "infuse", str(cid), "--date", "2026-11-01"],
    )

    assert_one_sentence(malformed, 2, ["vas"])
    assert malformed.out == ""
    assert_one_sentence(refused, 1, ["course", "999"])
    assert refused.out == ""
    assert_one_sentence(wrong_state, 1, ["monitoring"])
    assert_one_sentence(usage, 2, ["grams"])
    assert table_rows() == rows


@pytest.mark.slow
def test_console_script_takes_the_actor_from_the_environment(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")

    result = run_script(
        "course",
        "close",
        str(cid),
        "--date",
        "2026-11-19",
        "--json",
        env=script_env(IVIG_ACTOR="dr.env"),
    )

    assert result.code == 0, result.err
    assert json.loads(result.out)["history"][-1]["actor"] == "dr.env"
