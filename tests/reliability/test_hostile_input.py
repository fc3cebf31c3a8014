"""Attacks with hostile or odd input: control characters, lax types, odd dates."""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import assert_refused
from tests.conftest import Ivig
from tests.factories import register, request, request_doc


def _add(mrn: str, name: str) -> list[str]:
    return [
        "patient",
        "add",
        "--mrn",
        mrn,
        "--name",
        name,
        "--birth-date",
        "1960-01-01",
        "--sex",
        "male",
        "--weight-kg",
        "80",
    ]


@pytest.mark.parametrize("name", ["Ann\x00Lee", "Ann\x1b[31mLee", "Ann\u202eeeL"])
def test_names_with_control_characters_are_refused(ivig: Ivig, name: str) -> None:
    result = assert_refused(ivig, _add("M1", name), code=2, names=["name"])
    assert "control character" in result.err


def test_a_note_with_a_nul_is_refused_naming_it(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1")["id"]
    args = ["course", "cancel", str(cid), "--reason", "dup\x00licate"]
    assert "control character" in assert_refused(ivig, args, code=2, names=["reason"]).err


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("severity_grade", True),
        ("days", False),
        ("dose_g_per_kg_per_day", True),
        ("hepatic_disease", "yes"),
        ("pregnant", 1),
        ("requested_on", "19700101"),
        ("requested_on", "1970-W01-1"),
        ("hba1c_date", 0),
    ],
)
def test_the_request_document_has_strict_types(ivig: Ivig, field: str, value: object) -> None:
    register(ivig, "M1")
    doc = json.dumps(request_doc("M1", **{field: value}))
    assert_refused(ivig, ["course", "request", "--file", "-"], code=2, names=[field], stdin=doc)


@pytest.mark.parametrize("day", ["19700101", "1970-W01-1", "2026-1-5"])
def test_command_dates_are_yyyy_mm_dd_only(ivig: Ivig, day: str) -> None:
    register(ivig, "M1")
    args = ["patient", "measure", "M1", "--date", day, "--hba1c", "7"]
    assert_refused(ivig, args, code=2, names=["date"])
