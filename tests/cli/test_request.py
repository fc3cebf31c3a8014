"""``ivig course request`` / ``show`` / ``list``: what a request records and prints."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from tests.cli.helpers import assert_refused, write_json
from tests.conftest import Ivig
from tests.factories import register, request, request_doc

SHOW_FIELDS = {
    "id",
    "mrn",
    "state",
    "indication",
    "prior_course_id",
    "dose",
    "recommendation",
    "history",
    "infusions",
    "assessments",
    "followups",
}


def test_request_from_a_file_prints_the_course_as_course_show(ivig: Ivig, tmp_path: Path) -> None:
    register(ivig, "M1")
    path = write_json(tmp_path / "request.json", request_doc("M1"))

    printed = ivig.ok("course", "request", "--file", path)

    assert SHOW_FIELDS <= printed.keys()
    assert printed["state"] == "requested"
    assert printed["mrn"] == "M1"
    assert printed["indication"] == "dlrpn"
    assert printed["prior_course_id"] is None
    assert printed["infusions"] == [] and printed["assessments"] == []
    assert printed["followups"] == []
    assert ivig.ok("course", "show", str(printed["id"])) == printed


def test_request_from_stdin(ivig: Ivig) -> None:
    register(ivig, "M1")

    printed = ivig.ok("course", "request", "--file", "-", stdin=json.dumps(request_doc("M1")))

    assert printed["state"] == "requested"
    assert [c["id"] for c in ivig.ok("course", "list")] == [printed["id"]]


def test_dose_is_worked_out_from_weight_dose_and_days(ivig: Ivig) -> None:
    register(ivig, "M1")

    dose = request(ivig, "M1")["dose"]

    # 82 kg x 0.4 g/kg = 32.8 g a day; x 5 days = 164 g.
    assert dose["g_per_kg_per_day"] == 0.4
    assert dose["days"] == 5
    assert abs(dose["grams_per_day"] - 32.8) < 1e-9
    assert abs(dose["total_grams"] - 164) < 1e-9


def test_dose_follows_the_requested_weight_and_days(ivig: Ivig) -> None:
    register(ivig, "M1")

    dose = request(ivig, "M1", weight_kg=70, days=2, dose_g_per_kg_per_day=1.0)["dose"]

    assert abs(dose["grams_per_day"] - 70) < 1e-9
    assert abs(dose["total_grams"] - 140) < 1e-9


def test_a_supported_request_has_the_recommendation_shape(ivig: Ivig) -> None:
    register(ivig, "M1")

    recommendation = request(ivig, "M1")["recommendation"]

    assert recommendation["outcome"] == "supported"
    assert isinstance(recommendation["findings"], list)
    assert all(f["severity"] != "block" for f in recommendation["findings"])


def _finding(course: dict[str, object], rule: str) -> dict[str, str]:
    findings = course["recommendation"]["findings"]  # type: ignore[index]
    matches = [f for f in findings if f["rule"] == rule]
    assert matches, f"no finding {rule} in {findings}"
    finding = matches[0]
    assert set(finding) >= {"rule", "severity", "message", "source"}
    assert finding["message"] and finding["source"]
    return finding


def test_symmetric_polyneuropathy_is_not_supported(ivig: Ivig) -> None:
    register(ivig, "M1")

    course = request(ivig, "M1", indication="diabetic_symmetric_polyneuropathy")

    assert course["state"] == "requested"
    assert course["recommendation"]["outcome"] == "not_supported"
    assert _finding(course, "indication.symmetric_polyneuropathy")["severity"] == "block"


def test_a_fixed_repeat_schedule_is_not_supported(ivig: Ivig) -> None:
    register(ivig, "M1")

    course = request(ivig, "M1", repeat_every_weeks=0)

    assert course["recommendation"]["outcome"] == "not_supported"
    assert _finding(course, "schedule.interval")["severity"] == "block"


def test_request_history_has_one_row_into_requested(ivig: Ivig) -> None:
    register(ivig, "M1")

    history = request(ivig, "M1")["history"]

    assert len(history) == 1
    row = history[0]
    assert row["from"] is None
    assert row["to"] == "requested"
    assert row["actor"] == "coordinator.cole"
    assert datetime.fromisoformat(row["at"]).utcoffset() is not None


def test_request_for_an_unregistered_mrn_is_refused(ivig: Ivig) -> None:
    register(ivig, "M1")

    assert_refused(
        ivig,
        ["course", "request", "--file", "-"],
        stdin=json.dumps(request_doc("NOPE")),
        code=1,
        names=["mrn"],
    )


def test_list_prints_the_contract_fields_newest_first(ivig: Ivig) -> None:
    register(ivig, "M1")
    register(ivig, "M2")
    register(ivig, "M3")  # one active course per patient
    ivig.now("2026-11-18T09:00:00+00:00")
    first = request(ivig, "M1")["id"]
    ivig.now("2026-11-19T09:00:00+00:00")
    second = request(ivig, "M2", indication="ici_neuropathy")["id"]
    ivig.now("2026-11-20T09:00:00+00:00")
    third = request(ivig, "M3")["id"]

    rows = ivig.ok("course", "list")

    assert [r["id"] for r in rows] == [third, second, first]
    for row in rows:
        assert {"id", "mrn", "state", "indication", "requested_at"} <= row.keys()
    middle = {k: rows[1][k] for k in ("id", "mrn", "state", "indication")}
    assert middle == {
        "id": second,
        "mrn": "M2",
        "state": "requested",
        "indication": "ici_neuropathy",
    }
    stamps = [datetime.fromisoformat(r["requested_at"]) for r in rows]
    assert stamps == sorted(stamps, reverse=True)
    assert all(s.utcoffset() is not None for s in stamps)


def test_list_filters_by_mrn_and_state(ivig: Ivig) -> None:
    register(ivig, "M1")
    register(ivig, "M2")
    # One active course per patient: M1's duplicate is cancelled before the next request.
    c = request(ivig, "M1")["id"]
    ivig.ok("course", "cancel", str(c), "--reason", "duplicate request")
    a = request(ivig, "M1")["id"]
    b = request(ivig, "M2")["id"]

    assert {r["id"] for r in ivig.ok("course", "list", "--mrn", "M1")} == {a, c}
    assert {r["id"] for r in ivig.ok("course", "list", "--mrn", "M2")} == {b}
    assert {r["id"] for r in ivig.ok("course", "list", "--state", "requested")} == {a, b}
    assert [r["id"] for r in ivig.ok("course", "list", "--state", "cancelled")] == [c]
    assert [r["id"] for r in ivig.ok("course", "list", "--mrn", "M1", "--state", "requested")] == [
        a
    ]
    assert ivig.ok("course", "list", "--state", "monitoring") == []


def test_list_of_an_empty_database_is_an_empty_list(ivig: Ivig) -> None:
    assert ivig.ok("course", "list") == []


def test_show_of_an_unknown_course_is_refused(ivig: Ivig) -> None:
    register(ivig, "M1")
    request(ivig, "M1")

    assert_refused(ivig, ["course", "show", "999"], code=1, names=["course", "999"])


def test_list_limit_keeps_the_newest(ivig: Ivig) -> None:
    ids = []
    for n in range(3):  # one active course per patient: three patients
        register(ivig, f"M{n}")
        ids.append(request(ivig, f"M{n}")["id"])
    assert [r["id"] for r in ivig.ok("course", "list", "--limit", "2")] == ids[:0:-1]
    assert ivig("course", "list", "--limit", "0").code == 2
