"""``ivig report completeness``: due reassessments recorded, by coordinator.

Three courses end their infusions on L = 2026-10-05 (the factories' dates), so
``reassess_2w`` is due 2026-10-19 and ``reassess_1m`` 2026-11-05. Clock: 2026-11-20.

- X, requested by coord.ann: a VAS on 2026-10-22 completes its 2-week reassessment.
- Y, requested by coord.bob: nothing recorded.
- Z, requested by coord.bob: closed on 2026-10-10, so its reassessments are cancelled.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Ivig
from tests.factories import approve, infuse_all, register, request_doc


def _course(ivig: Ivig, mrn: str, coordinator: str) -> int:
    register(ivig, mrn)
    doc = request_doc(mrn)
    course = ivig.ok(
        "course", "request", "--file", "-", "--actor", coordinator, stdin=json.dumps(doc)
    )
    approve(ivig, course["id"])
    infuse_all(ivig, course["id"])
    return int(course["id"])


def _cohort(ivig: Ivig) -> tuple[int, int, int]:
    x = _course(ivig, "MX", "coord.ann")
    y = _course(ivig, "MY", "coord.bob")
    z = _course(ivig, "MZ", "coord.bob")
    ivig.ok("course", "assess", str(x), "--date", "2026-10-22", "--vas", "5")
    ivig.ok("course", "close", str(z), "--date", "2026-10-10")
    return x, y, z


@pytest.mark.slow
def test_share_recorded_overall_and_per_coordinator_with_the_missing_listed(ivig: Ivig) -> None:
    x, y, _ = _cohort(ivig)
    doc = ivig.ok("report", "completeness")
    assert doc["as_of"] == "2026-11-20"
    assert (doc["due"], doc["recorded"], doc["missing"]) == (4, 1, 3)
    assert doc["completeness"] == 0.25
    assert doc["by_coordinator"] == {
        "coord.ann": {
            "due": 2,
            "recorded": 1,
            "recorded_by_patient": 0,
            "recorded_by_clinician": 1,
            "missing": 1,
            "completeness": 0.5,
        },
        "coord.bob": {
            "due": 2,
            "recorded": 0,
            "recorded_by_patient": 0,
            "recorded_by_clinician": 0,
            "missing": 2,
            "completeness": 0.0,
        },
    }
    missing = [
        (m["course_id"], m["kind"], m["due_date"], m["days_overdue"])
        for m in doc["missing_reassessments"]
    ]
    assert missing == [
        (y, "reassess_2w", "2026-10-19", 32),
        (x, "reassess_1m", "2026-11-05", 15),
        (y, "reassess_1m", "2026-11-05", 15),
    ]
    first = doc["missing_reassessments"][0]
    assert first["mrn"] == "MY"
    assert first["coordinator"] == "coord.bob"
    listed = ivig.ok("followups", "list", "--course", str(y))
    assert first["followup_id"] in {f["id"] for f in listed if f["kind"] == "reassess_2w"}


def test_as_of_counts_only_what_was_due_and_recorded_by_then(ivig: Ivig) -> None:
    x, y, _ = _cohort(ivig)
    # On 2026-10-20 X's VAS (dated 2026-10-22) had not been taken yet.
    early = ivig.ok("report", "completeness", "--as-of", "2026-10-20")
    assert (early["due"], early["recorded"]) == (2, 0)
    assert {m["course_id"] for m in early["missing_reassessments"]} == {x, y}
    later = ivig.ok("report", "completeness", "--as-of", "2026-10-25")
    assert (later["due"], later["recorded"], later["completeness"]) == (2, 1, 0.5)
    assert [m["days_overdue"] for m in later["missing_reassessments"]] == [6]


def test_nothing_due_gives_null_completeness(ivig: Ivig) -> None:
    _cohort(ivig)
    doc = ivig.ok("report", "completeness", "--as-of", "2026-10-18")
    assert (doc["due"], doc["completeness"]) == (0, None)
    assert doc["by_coordinator"] == {}
    assert doc["missing_reassessments"] == []


@pytest.mark.slow
def test_table_for_people(ivig: Ivig) -> None:
    _cohort(ivig)
    result = ivig("report", "completeness")
    assert result.code == 0, result.err
    assert "coord.bob" in result.out
    assert "Missing reassessments" in result.out
    assert "25%" in result.out
