"""``ivig course infuse`` / ``stop``: the infusion days and the follow-ups they create."""

from __future__ import annotations

from typing import Any

from tests.cli.helpers import assert_refused, transitions
from tests.conftest import Ivig
from tests.factories import approve, course_in, register, request


def _infuse(course_id: int, on: str, grams: str = "32.8", *extra: str) -> list[str]:
    return ["course", "infuse", str(course_id), "--date", on, "--grams", grams, *extra]


def _shown(ivig: Ivig, course_id: int) -> dict[str, Any]:
    return ivig.ok("course", "show", str(course_id))  # type: ignore[no-any-return]


def test_infuse_prints_the_course_as_course_show_does_with_the_new_day(ivig: Ivig) -> None:
    cid = course_in(ivig, "infusing")

    printed = ivig.ok(*_infuse(cid, "2026-10-02"))

    assert [i["date"] for i in printed["infusions"]] == ["2026-10-01", "2026-10-02"]
    assert printed == _shown(ivig, cid)


def test_first_infusion_starts_the_course(ivig: Ivig) -> None:
    cid = course_in(ivig, "reviewed")

    ivig.ok(*_infuse(cid, "2026-10-01"))

    course = _shown(ivig, cid)
    assert course["state"] == "infusing"
    assert [(i["day"], i["date"], i["grams"]) for i in course["infusions"]] == [
        (1, "2026-10-01", 32.8)
    ]
    assert transitions(course["history"])[-1] == ("reviewed", "infusing")
    assert course["history"][-1]["date"] == "2026-10-01"
    assert course["followups"] == []


def test_the_last_planned_day_moves_to_monitoring_and_creates_follow_ups(ivig: Ivig) -> None:
    cid = course_in(ivig, "reviewed")  # diabetic patient, 5 days planned
    for day in range(1, 5):
        course = ivig.ok(*_infuse(cid, f"2026-10-0{day}"))
        assert course["state"] == "infusing"
        assert course["followups"] == []

    ivig.ok(*_infuse(cid, "2026-10-05"))

    course = _shown(ivig, cid)
    assert course["state"] == "monitoring"
    assert [i["day"] for i in course["infusions"]] == [1, 2, 3, 4, 5]
    assert transitions(course["history"])[-1] == ("infusing", "monitoring")
    due = {f["kind"]: (f["due_date"], f["status"]) for f in course["followups"]}
    assert due == {
        "reassess_2w": ("2026-10-19", "scheduled"),
        "reassess_1m": ("2026-11-05", "scheduled"),
        "hba1c": ("2027-01-05", "scheduled"),
        "monofilament": ("2027-10-05", "scheduled"),
    }
    listed = ivig.ok("followups", "list", "--mrn", "M1")
    assert sorted((f["kind"], f["due_date"]) for f in listed) == sorted(
        (k, d) for k, (d, _) in due.items()
    )
    by_kind = {f["kind"]: f for f in listed}
    assert by_kind["reassess_2w"]["course_id"] == cid
    assert by_kind["reassess_1m"]["course_id"] == cid
    # HbA1c and the foot test belong to the patient, not to the course.
    assert by_kind["hba1c"]["course_id"] is None
    assert by_kind["monofilament"]["course_id"] is None


def test_a_patient_without_diabetes_gets_only_the_reassessments(ivig: Ivig) -> None:
    register(ivig, "M1", diabetes="none")
    cid = request(ivig, "M1", days=2)["id"]
    approve(ivig, cid)
    ivig.ok(*_infuse(cid, "2026-10-01"))

    course = ivig.ok(*_infuse(cid, "2026-10-02"))

    assert course["state"] == "monitoring"
    assert {f["kind"]: f["due_date"] for f in course["followups"]} == {
        "reassess_2w": "2026-10-16",
        "reassess_1m": "2026-11-02",
    }


def test_a_one_day_course_goes_from_reviewed_to_monitoring_in_one_step(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1", days=1, dose_g_per_kg_per_day=2.0)["id"]
    approve(ivig, cid)

    # 2 g/kg in one day is above the 1 g/kg daily ceiling: it needs a reason.
    course = ivig.ok(*_infuse(cid, "2026-10-01", "164", "--override-reason", "as prescribed"))

    assert course["state"] == "monitoring"
    assert transitions(course["history"]) == [
        (None, "requested"),
        ("requested", "reviewed"),
        ("reviewed", "monitoring"),
    ]
    assert len(course["followups"]) == 4


# Calendar months clamp to the month's end; each L gets its own diabetic patient so the
# patient-level kinds are created for every one of them.
MONTH_ENDS = {
    "2026-01-31": ("2026-02-14", "2026-02-28", "2026-04-30", "2027-01-31"),
    "2026-11-30": ("2026-12-14", "2026-12-30", "2027-02-28", "2027-11-30"),
    "2027-12-31": ("2028-01-14", "2028-01-31", "2028-03-31", "2028-12-31"),
    "2028-01-31": ("2028-02-14", "2028-02-29", "2028-04-30", "2029-01-31"),
    "2028-02-29": ("2028-03-14", "2028-03-29", "2028-05-29", "2029-02-28"),
}


def test_follow_up_months_are_clamped_to_the_months_end(ivig: Ivig) -> None:
    for n, (last, expected) in enumerate(MONTH_ENDS.items()):
        mrn = f"E{n}"
        ivig.now(f"{last}T16:00:00+00:00")
        register(ivig, mrn)
        cid = request(ivig, mrn, days=1, dose_g_per_kg_per_day=2.0, requested_on=last)["id"]
        approve(ivig, cid, on=last)

        course = ivig.ok(*_infuse(cid, last, "164", "--override-reason", "as prescribed"))

        due = {f["kind"]: f["due_date"] for f in course["followups"]}
        assert (
            due["reassess_2w"],
            due["reassess_1m"],
            due["hba1c"],
            due["monofilament"],
        ) == expected, last


def test_grams_within_ten_percent_of_the_plan_are_accepted(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1", days=3)["id"]
    approve(ivig, cid)

    # Planned 32.8 g: exactly 10 % above (36.08) and below (29.52) are still within.
    ivig.ok(*_infuse(cid, "2026-10-01", "36.08"))
    ivig.ok(*_infuse(cid, "2026-10-02", "29.52"))

    course = _shown(ivig, cid)
    assert [i["grams"] for i in course["infusions"]] == [36.08, 29.52]
    assert all(i["override_reason"] is None for i in course["infusions"])


def test_grams_more_than_ten_percent_off_are_refused_without_a_reason(ivig: Ivig) -> None:
    cid = course_in(ivig, "reviewed")

    assert_refused(ivig, _infuse(cid, "2026-10-01", "36.2"), code=1, names=["grams"])
    assert_refused(ivig, _infuse(cid, "2026-10-01", "29.4"), code=1, names=["grams"])


def test_grams_off_the_plan_are_accepted_with_an_override_reason(ivig: Ivig) -> None:
    cid = course_in(ivig, "reviewed")

    ivig.ok(*_infuse(cid, "2026-10-01", "40", "--override-reason", "vial size, pharmacy agreed"))

    course = _shown(ivig, cid)
    assert course["state"] == "infusing"
    infusion = course["infusions"][0]
    assert infusion["grams"] == 40
    assert infusion["override_reason"] == "vial size, pharmacy agreed"
    assert "vial size, pharmacy agreed" in course["history"][-1]["reason"]


def test_an_infusion_not_after_the_previous_one_is_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "infusing")  # day 1 on 2026-10-01
    ivig.ok(*_infuse(cid, "2026-10-03"))

    assert_refused(ivig, _infuse(cid, "2026-10-03"), code=1, names=["date"])
    assert_refused(ivig, _infuse(cid, "2026-10-02"), code=1, names=["date"])


def test_infusing_a_requested_course_is_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "requested")

    assert_refused(ivig, _infuse(cid, "2026-10-01"), code=1, names=["requested"])


def test_infusing_a_course_in_monitoring_is_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")

    assert_refused(ivig, _infuse(cid, "2026-10-06"), code=1, names=["monitoring"])


def test_stop_during_infusions_discontinues_the_course(ivig: Ivig) -> None:
    cid = course_in(ivig, "infusing")

    course = ivig.ok(
        "course", "stop", str(cid), "--date", "2026-10-02", "--reason", "severe headache"
    )

    assert course["state"] == "discontinued"
    last = course["history"][-1]
    assert (last["from"], last["to"], last["date"]) == ("infusing", "discontinued", "2026-10-02")
    assert last["reason"] == "severe headache"
    assert ivig.ok("followups", "list", "--mrn", "M1") == []


def test_stopping_a_course_in_monitoring_is_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")

    assert_refused(
        ivig,
        ["course", "stop", str(cid), "--date", "2026-11-01", "--reason", "too late"],
        code=1,
        names=["monitoring"],
    )


def test_today_is_the_clinics_date_in_its_time_zone(ivig: Ivig) -> None:
    # 2026-11-20 15:00 UTC is already 2026-11-21 04:00 in Auckland.
    cid = course_in(ivig, "reviewed")
    assert_refused(ivig, _infuse(cid, "2026-11-21"), code=2, names=["date"])

    ivig.monkeypatch.setenv("IVIG_TIMEZONE", "Pacific/Auckland")
    ivig.ok(*_infuse(cid, "2026-11-21"))

    assert _shown(ivig, cid)["infusions"][0]["date"] == "2026-11-21"


def test_a_date_still_tomorrow_in_the_clinics_zone_is_refused(ivig: Ivig) -> None:
    # 2026-11-20 05:00 UTC is 2026-11-19 21:00 in Los Angeles: the 20th is the future there.
    cid = course_in(ivig, "reviewed")
    ivig.now("2026-11-20T05:00:00+00:00")
    ivig.monkeypatch.setenv("IVIG_TIMEZONE", "America/Los_Angeles")

    assert_refused(ivig, _infuse(cid, "2026-11-20"), code=2, names=["date"])
    ivig.ok(*_infuse(cid, "2026-11-19"))
