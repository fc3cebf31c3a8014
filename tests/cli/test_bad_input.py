"""Every refusal: malformed input exits 2, a well-formed refusal exits 1; each with one
sentence on stderr naming the field or rule, nothing on stdout under ``--json``, and the
database exactly as it was (``assert_refused`` compares everything before and after)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import assert_one_sentence, assert_refused, snapshot, table_rows
from tests.conftest import Ivig
from tests.factories import course_in, register, request_doc

TODAY = "2026-11-20"  # the default test clock
TOMORROW = "2026-11-21"


@dataclass(frozen=True)
class Case:
    """``args`` may name ``{id}`` (a course in ``state``), ``{file}`` (a file holding
    ``file``) and ``{missing}`` (a path that does not exist)."""

    id: str
    state: str | None
    args: tuple[str, ...]
    names: tuple[str, ...]
    file: str | None = None
    stdin: str | None = None


def _run_group(ivig: Ivig, tmp_path: Path, cases: list[Case], code: int) -> None:
    """Runs every case against one world (a course in the cases' state).

    A refusal writes nothing, so one world serves all of them: each case is checked
    against the raw rows of every table, and everything a user can see through the
    commands is compared once more at the end. Failures are collected so one run names
    every case that went wrong.
    """
    state = cases[0].state
    cid = course_in(ivig, state) if state is not None else 0
    if state is None:
        register(ivig, "M1")
    seen = snapshot(ivig)
    rows = seen["tables"]
    failures: list[str] = []
    for case in cases:
        file = tmp_path / "request.json"
        file.write_text(case.file or "", encoding="utf-8")
        args = [
            a.replace("{id}", str(cid))
            .replace("{file}", str(file))
            .replace("{missing}", str(tmp_path / "no-such.json"))
            for a in case.args
        ]
        result = ivig(*args, "--json", stdin=case.stdin)
        try:
            assert_one_sentence(result, code, case.names)
            assert result.out == "", f"--json failure printed on stdout: {result.out!r}"
            assert table_rows() == rows, "the database changed"
        except AssertionError as exc:
            failures.append(f"{case.id}: {' '.join(str(exc).split())[:300]}")
            rows = table_rows()  # go on from whatever it left, to name every failure
    assert not failures, "\n".join(failures)
    assert snapshot(ivig) == seen, "what the commands show changed"


def _groups(cases: list[Case]) -> dict[str, list[Case]]:
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.state or "patient only", []).append(case)
    return groups


def _doc(**changes: Any) -> str:
    doc = request_doc("M1")
    for key, value in changes.items():
        if value is _DROP:
            doc.pop(key)
        else:
            doc[key] = value
    return json.dumps(doc)


_DROP = object()


def _add(**options: str) -> tuple[str, ...]:
    given = {
        "mrn": "M9",
        "name": "New Patient",
        "birth-date": "1970-05-06",
        "sex": "female",
        "weight-kg": "70",
    } | options
    args: list[str] = ["patient", "add"]
    for key, value in given.items():
        args += [f"--{key}", value]
    return tuple(args)


def _infuse(on: str = "2026-10-01", grams: str = "32.8") -> tuple[str, ...]:
    return ("course", "infuse", "{id}", "--date", on, "--grams", grams)


def _request(path: str = "{file}") -> tuple[str, ...]:
    return ("course", "request", "--file", path)


MALFORMED = [
    # dates
    Case("infuse date month 13", "reviewed", _infuse(on="2026-13-01"), ("date",)),
    Case("infuse date 'yesterday'", "reviewed", _infuse(on="yesterday"), ("date",)),
    Case("birth date month 13", None, _add(**{"birth-date": "2026-13-01"}), ("birth",)),
    Case("birth date in the future", None, _add(**{"birth-date": TOMORROW}), ("birth",)),
    Case(
        "measure date 'yesterday'",
        None,
        ("patient", "measure", "M1", "--date", "yesterday", "--hba1c", "7"),
        ("date",),
    ),
    Case(
        "followups due-before month 13",
        None,
        ("followups", "list", "--due-before", "2026-13-01"),
        ("due-before",),
    ),
    # a clinical date may be past, never future (the clock says 2026-11-20)
    Case("infuse tomorrow", "reviewed", _infuse(on=TOMORROW), ("date",)),
    Case(
        "stop tomorrow",
        "infusing",
        ("course", "stop", "{id}", "--date", TOMORROW, "--reason", "rash"),
        ("date",),
    ),
    Case(
        "assess tomorrow",
        "monitoring",
        ("course", "assess", "{id}", "--date", TOMORROW, "--vas", "3"),
        ("date",),
    ),
    Case(
        "relapse tomorrow",
        "monitoring",
        ("course", "relapse", "{id}", "--date", TOMORROW),
        ("date",),
    ),
    Case(
        "close tomorrow", "monitoring", ("course", "close", "{id}", "--date", TOMORROW), ("date",)
    ),
    Case(
        "measure tomorrow",
        None,
        ("patient", "measure", "M1", "--date", TOMORROW, "--hba1c", "7"),
        ("date",),
    ),
    # scores and quantities out of range
    Case(
        "VAS 11",
        "monitoring",
        ("course", "assess", "{id}", "--date", TODAY, "--vas", "11"),
        ("vas",),
    ),
    Case(
        "VAS -1",
        "monitoring",
        ("course", "assess", "{id}", "--date", TODAY, "--vas", "-1"),
        ("vas",),
    ),
    Case(
        "MRC 61",
        "monitoring",
        ("course", "assess", "{id}", "--date", TODAY, "--mrc-sum", "61"),
        ("mrc",),
    ),
    Case(
        "walking distance -5",
        "monitoring",
        ("course", "assess", "{id}", "--date", TODAY, "--walking-distance-m", "-5"),
        ("walking",),
    ),
    Case("weight -3", None, _add(**{"weight-kg": "-3"}), ("weight",)),
    Case("weight 0", None, _add(**{"weight-kg": "0"}), ("weight",)),
    Case("grams 0", "reviewed", _infuse(grams="0"), ("grams",)),
    Case("grams negative", "reviewed", _infuse(grams="-32.8"), ("grams",)),
    Case("grams not a number", "reviewed", _infuse(grams="lots"), ("grams",)),
    Case(
        "hba1c 40 %",
        None,
        ("patient", "measure", "M1", "--date", TODAY, "--hba1c", "40"),
        ("hba1c",),
    ),
    Case(
        "monofilament 11 of 10",
        None,
        ("patient", "measure", "M1", "--date", TODAY, "--monofilament-sites-felt", "11"),
        ("monofilament",),
    ),
    # unknown enum values
    Case("sex unknown value", None, _add(sex="alien"), ("sex",)),
    Case("diabetes unknown value", None, _add(diabetes="type3"), ("diabetes",)),
    Case(
        "decision unknown value",
        "requested",
        ("course", "review", "{id}", "--decision", "maybe", "--reviewer", "dr.r", "--note", "n"),
        ("decision",),
    ),
    Case("list state unknown", None, ("course", "list", "--state", "sleeping"), ("state",)),
    Case(
        "followups status unknown",
        None,
        ("followups", "list", "--status", "forgotten"),
        ("status",),
    ),
    Case("course id not a number", None, ("course", "show", "one"), ("ID",)),
    # the request document
    Case("file unreadable", None, _request("{missing}"), ("file",)),
    Case("file is a directory", None, _request(str(Path("/"))), ("file",)),
    Case("file is not JSON", None, _request(), ("file", "JSON"), file="mrn: M1\n"),
    Case("file is empty", None, _request(), ("file",), file=""),
    Case("JSON is a list", None, _request(), ("object",), file="[1, 2]"),
    Case("JSON is a string", None, _request(), ("object",), file='"M1"'),
    Case("stdin is not JSON", None, _request("-"), ("JSON",), stdin="{not json"),
    Case("indication unknown", None, _request(), ("indication",), file=_doc(indication="gout")),
    Case("severity grade 5", None, _request(), ("severity_grade",), file=_doc(severity_grade=5)),
    Case("severity grade 0", None, _request(), ("severity_grade",), file=_doc(severity_grade=0)),
    Case("days 0", None, _request(), ("days",), file=_doc(days=0)),
    Case("days 11", None, _request(), ("days",), file=_doc(days=11)),
    Case("days not a number", None, _request(), ("days",), file=_doc(days="five")),
    Case(
        "dose 0", None, _request(), ("dose_g_per_kg_per_day",), file=_doc(dose_g_per_kg_per_day=0)
    ),
    Case("weight_kg -3", None, _request(), ("weight_kg",), file=_doc(weight_kg=-3)),
    Case(
        "repeat_every_weeks -1",
        None,
        _request(),
        ("repeat_every_weeks",),
        file=_doc(repeat_every_weeks=-1),
    ),
    Case(
        "baseline.vas missing",
        None,
        _request(),
        ("baseline", "vas"),
        file=_doc(baseline={"mrc_sum": 48}),
    ),
    Case("baseline.vas 11", None, _request(), ("baseline", "vas"), file=_doc(baseline={"vas": 11})),
    Case(
        "baseline.mrc_sum 61",
        None,
        _request(),
        ("mrc_sum",),
        file=_doc(baseline={"vas": 8, "mrc_sum": 61}),
    ),
    Case(
        "steroid trial unknown",
        None,
        _request(),
        ("trial",),
        file=_doc(steroids={"trial": "sort_of"}),
    ),
    Case("unknown field", None, _request(), ("colour",), file=_doc(colour="blue")),
    *[
        Case(f"{name} missing", None, _request(), (name,), file=_doc(**{name: _DROP}))
        for name in (
            "mrn",
            "indication",
            "severity_grade",
            "product",
            "dose_g_per_kg_per_day",
            "days",
            "weight_kg",
            "baseline",
            "requested_by",
        )
    ],
    Case(
        "retreat with a malformed document",
        "relapsed",
        ("course", "retreat", "{id}", "--file", "{file}"),
        ("days",),
        file=_doc(days=0),
    ),
]


@pytest.mark.parametrize("world", list(_groups(MALFORMED)))
def test_malformed_input_exits_2_and_writes_nothing(ivig: Ivig, tmp_path: Path, world: str) -> None:
    _run_group(ivig, tmp_path, _groups(MALFORMED)[world], code=2)


_REVIEW = ("--decision", "approve", "--reviewer", "dr.r", "--note", "n")
_RETREAT = ("course", "retreat", "{id}", "--file", "{file}")

REFUSED = [
    # unknown ids and MRNs
    *[
        Case(f"{args[1]} unknown course", "monitoring", args, ("course", "999"), file=_doc())
        for args in (
            ("course", "show", "999"),
            ("course", "review", "999", *_REVIEW),
            ("course", "infuse", "999", "--date", TODAY, "--grams", "32.8"),
            ("course", "stop", "999", "--date", TODAY, "--reason", "r"),
            ("course", "assess", "999", "--date", TODAY, "--vas", "3"),
            ("course", "relapse", "999", "--date", TODAY),
            ("course", "retreat", "999", "--file", "{file}"),
            ("course", "close", "999", "--date", TODAY),
            ("course", "cancel", "999", "--reason", "r"),
        )
    ],
    Case(
        "measure unknown MRN",
        None,
        ("patient", "measure", "NOPE", "--date", TODAY, "--hba1c", "7"),
        ("mrn",),
    ),
    Case("show unknown MRN", None, ("patient", "show", "NOPE"), ("mrn",)),
    Case("request unregistered MRN", None, _request(), ("mrn",), file=_doc(mrn="NOPE")),
    Case("duplicate MRN", None, _add(mrn="M1"), ("mrn",)),
    # transitions the current state does not allow
    Case(
        "approve a reviewed course",
        "reviewed",
        ("course", "review", "{id}", *_REVIEW),
        ("reviewed",),
    ),
    Case(
        "approve a cancelled course",
        "cancelled",
        ("course", "review", "{id}", *_REVIEW),
        ("cancelled",),
    ),
    Case("infuse a requested course", "requested", _infuse(), ("requested",)),
    Case(
        "infuse a discontinued course", "discontinued", _infuse(on="2026-10-02"), ("discontinued",)
    ),
    Case(
        "relapse a requested course",
        "requested",
        ("course", "relapse", "{id}", "--date", TODAY),
        ("requested",),
    ),
    Case(
        "relapse a completed course",
        "completed",
        ("course", "relapse", "{id}", "--date", TODAY),
        ("completed",),
    ),
    Case(
        "close a relapsed course",
        "relapsed",
        ("course", "close", "{id}", "--date", TODAY),
        ("relapsed",),
    ),
    Case(
        "stop a monitoring course",
        "monitoring",
        ("course", "stop", "{id}", "--date", TODAY, "--reason", "r"),
        ("monitoring",),
    ),
    Case(
        "cancel an infusing course",
        "infusing",
        ("course", "cancel", "{id}", "--reason", "r"),
        ("infusing",),
    ),
    Case(
        "cancel a denied course",
        "denied",
        ("course", "cancel", "{id}", "--reason", "r"),
        ("denied",),
    ),
    Case("retreat a monitoring course", "monitoring", _RETREAT, ("monitoring",), file=_doc()),
    Case("retreat a requested course", "requested", _RETREAT, ("requested",), file=_doc()),
    Case("retreat a retreated course", "retreated", _RETREAT, ("retreated",), file=_doc()),
    Case(
        "assess a requested course",
        "requested",
        ("course", "assess", "{id}", "--date", TODAY, "--vas", "3"),
        ("requested",),
    ),
    # the rules of a well-formed change
    Case("grams 11 % over the plan", "reviewed", _infuse(grams="36.5"), ("grams",)),
    Case("infusion on the same day again", "infusing", _infuse(on="2026-10-01"), ("date",)),
    Case("infusion before the previous one", "infusing", _infuse(on="2026-09-30"), ("date",)),
    Case(
        "requester reviews",
        "requested",
        ("course", "review", "{id}", "--decision", "approve", "--reviewer", "dr.requester")
        + ("--note", "n"),
        ("reviewer",),
    ),
]


@pytest.mark.parametrize("world", list(_groups(REFUSED)))
def test_well_formed_refusal_exits_1_and_writes_nothing(
    ivig: Ivig, tmp_path: Path, world: str
) -> None:
    _run_group(ivig, tmp_path, _groups(REFUSED)[world], code=1)


def test_approving_a_not_supported_request_without_override_exits_1(
    ivig: Ivig, tmp_path: Path
) -> None:
    register(ivig, "M1")
    for changes in ({"indication": "diabetic_symmetric_polyneuropathy"}, {"repeat_every_weeks": 0}):
        course = ivig.ok("course", "request", "--file", "-", stdin=_doc(**changes))
        assert course["recommendation"]["outcome"] == "not_supported"
        assert_refused(
            ivig, ["course", "review", str(course["id"]), *_REVIEW], code=1, names=["override"]
        )
        ivig.ok("course", "cancel", str(course["id"]), "--reason", "one active course a patient")


def test_a_refused_request_leaves_no_course_behind(ivig: Ivig) -> None:
    register(ivig, "M1")

    assert ivig("course", "request", "--file", "-", stdin=_doc(days=0)).code == 2
    assert ivig("course", "request", "--file", "-", stdin=_doc(mrn="NOPE")).code == 1

    assert ivig.ok("course", "list") == []
