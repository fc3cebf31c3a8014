"""``ivig patient update``: a patient's record is corrected, and the history keeps
what it was (the proof action of the catalogue: one entry + one service function)."""

from __future__ import annotations

import pytest

from tests.cli.helpers import assert_refused
from tests.conftest import Ivig
from tests.factories import course_in, infuse_all, register


def test_update_changes_only_the_fields_given_and_keeps_old_and_new(ivig: Ivig) -> None:
    register(ivig)
    before = ivig.ok("patient", "show", "M1")

    doc = ivig.ok(
        "patient", "update", "M1", "--weight-kg", "79.5", "--diabetes", "none",
        "--reason", "re-weighed; diabetes was entered in error",
    )  # fmt: skip

    assert doc["weight_kg"] == 79.5 and doc["diabetes"] == "none"
    assert doc["name"] == before["name"] and doc["height_cm"] == before["height_cm"]
    history = ivig.ok("patient", "history", "M1")
    assert [e["trigger"] for e in history] == ["register", "update"]
    assert history[-1]["reason"] == "re-weighed; diabetes was entered in error"
    assert history[-1]["changes"] == {
        "weight_kg": {"old": before["weight_kg"], "new": 79.5},
        "diabetes": {"old": before["diabetes"], "new": "none"},
    }


def test_update_of_name_and_height(ivig: Ivig) -> None:
    register(ivig)
    doc = ivig.ok(
        "patient", "update", "M1", "--name", "Test Patient-Smith", "--height-cm", "171",
        "--reason", "married name; measured",
    )  # fmt: skip
    assert doc["name"] == "Test Patient-Smith" and doc["height_cm"] == 171


def test_an_update_that_changes_nothing_is_refused(ivig: Ivig) -> None:
    patient = register(ivig)
    weight = f"{patient['weight_kg']:g}"
    assert_refused(
        ivig, ["patient", "update", "M1", "--weight-kg", weight, "--reason", "x"],
        code=1, names=["update"],
    )  # fmt: skip


def test_an_update_without_any_field_is_malformed(ivig: Ivig) -> None:
    register(ivig)
    assert_refused(ivig, ["patient", "update", "M1", "--reason", "x"], code=2, names=["update"])


@pytest.mark.parametrize(
    ("option", "value"),
    [("--weight-kg", "-3"), ("--weight-kg", "900"), ("--height-cm", "5"), ("--name", "  ")],
)
def test_bad_values_exit_2_naming_the_field(ivig: Ivig, option: str, value: str) -> None:
    register(ivig)
    assert_refused(
        ivig, ["patient", "update", "M1", option, value, "--reason", "x"], code=2, names=[option]
    )


def test_an_unknown_diabetes_value_is_a_usage_error(ivig: Ivig) -> None:
    register(ivig)
    assert_refused(
        ivig, ["patient", "update", "M1", "--diabetes", "type3", "--reason", "x"],
        code=2, names=["--diabetes"],
    )  # fmt: skip


def test_the_reason_is_required(ivig: Ivig) -> None:
    register(ivig)
    assert_refused(ivig, ["patient", "update", "M1", "--weight-kg", "70"], code=2, names=["reason"])


def test_an_unknown_mrn_is_refused(ivig: Ivig) -> None:
    assert_refused(
        ivig, ["patient", "update", "NOPE", "--weight-kg", "70", "--reason", "x"],
        code=1, names=["mrn"], mrns=(),
    )  # fmt: skip


# --- a change of diabetes status plans or cancels the diabetes follow-ups -------------

DIABETES_KINDS = {"hba1c", "monofilament"}


def _diabetes_followups(ivig: Ivig) -> list[dict[str, object]]:
    rows = ivig.ok("followups", "list", "--mrn", "M1")
    return [r for r in rows if r["kind"] in DIABETES_KINDS]


def _update_diabetes(ivig: Ivig, value: str, reason: str = "diabetes status corrected") -> None:
    ivig.ok("patient", "update", "M1", "--diabetes", value, "--reason", reason)


def test_diabetes_on_plans_the_diabetes_followups_as_the_course_would_have(ivig: Ivig) -> None:
    register(ivig, diabetes="none")
    cid = course_in(ivig, "monitoring", register_patient=False)  # last infusion 2026-10-05
    assert _diabetes_followups(ivig) == []

    _update_diabetes(ivig, "type2", "HbA1c 7.9 % at the GP: type 2 diabetes")

    rows = {r["kind"]: r for r in _diabetes_followups(ivig)}
    assert {k: (r["due_date"], r["status"]) for k, r in rows.items()} == {
        "hba1c": ("2027-01-05", "scheduled"),  # L + 3 months
        "monofilament": ("2027-10-05", "scheduled"),  # L + 12 months
    }
    assert all(r["course_id"] is None for r in rows.values())  # the patient's, as planned
    event = ivig.ok("patient", "history", "M1")[-1]
    assert event["changes"] == {"diabetes": {"old": "none", "new": "type2"}}
    assert event["reason"].startswith("HbA1c 7.9 % at the GP: type 2 diabetes; ")
    assert f"{rows['hba1c']['id']} (hba1c, due 2027-01-05)" in event["reason"]
    assert f"planned from course {cid}" in event["reason"]
    # A measurement completes them as it would any planned one, and plans the next.
    ivig.now("2027-01-03T10:00:00+00:00")
    ivig.ok("patient", "measure", "M1", "--date", "2027-01-03", "--hba1c", "7.9")
    hba1c = {r["status"]: r["due_date"] for r in _diabetes_followups(ivig) if r["kind"] == "hba1c"}
    assert hba1c == {"done": "2027-01-05", "scheduled": "2027-04-03"}


def test_type1_to_type2_changes_no_followup(ivig: Ivig) -> None:
    course_in(ivig, "monitoring")  # registered with type 2: the plan has them
    before = _diabetes_followups(ivig)
    assert {r["kind"] for r in before} == DIABETES_KINDS

    _update_diabetes(ivig, "type1")

    assert _diabetes_followups(ivig) == before
    assert ivig.ok("patient", "history", "M1")[-1]["reason"] == "diabetes status corrected"


def test_diabetes_off_cancels_the_open_diabetes_followups_and_keeps_them(ivig: Ivig) -> None:
    course_in(ivig, "monitoring")
    before = {r["id"]: r for r in _diabetes_followups(ivig)}
    reassess = [r for r in ivig.ok("followups", "list", "--mrn", "M1") if r["id"] not in before]

    _update_diabetes(ivig, "none", "diabetes was entered in error")

    after = {r["id"]: r for r in _diabetes_followups(ivig)}
    assert after.keys() == before.keys()  # kept, not deleted
    assert {r["status"] for r in after.values()} == {"cancelled"}
    # The course's own follow-ups are not the diabetes plan: untouched.
    still = [r for r in ivig.ok("followups", "list", "--mrn", "M1") if r["id"] not in before]
    assert still == reassess
    event = ivig.ok("patient", "history", "M1")[-1]
    assert event["changes"] == {"diabetes": {"old": "type2", "new": "none"}}
    assert event["reason"].startswith("diabetes was entered in error; follow-ups ")
    assert event["reason"].endswith("cancelled: the patient has no diabetes")
    # No diabetes reminder is raised any more.
    raised = ivig.ok("followups", "raise", "--as-of", "2028-01-01")
    assert {r["kind"] for r in raised} == {"reassess_2w", "reassess_1m"}

    # On again: new ones are planned; the cancelled ones stay as they were.
    _update_diabetes(ivig, "type1")
    rows = _diabetes_followups(ivig)
    assert sorted(r["status"] for r in rows) == ["cancelled", "cancelled", "scheduled", "scheduled"]


def test_diabetes_on_after_the_planned_date_makes_them_due_that_day(ivig: Ivig) -> None:
    register(ivig, diabetes="none")
    course_in(ivig, "completed", register_patient=False)  # the plan outlives the course
    ivig.now("2027-03-01T10:00:00+00:00")

    _update_diabetes(ivig, "type2")

    due = {r["kind"]: r["due_date"] for r in _diabetes_followups(ivig)}
    # L + 3 months (2027-01-05) has passed: due today, not overdue since January.
    assert due == {"hba1c": "2027-03-01", "monofilament": "2027-10-05"}


def test_diabetes_on_without_a_course_in_follow_up_plans_nothing_yet(ivig: Ivig) -> None:
    register(ivig, diabetes="none")
    cid = course_in(ivig, "infusing", register_patient=False)

    _update_diabetes(ivig, "type2")
    assert _diabetes_followups(ivig) == []

    infuse_all(ivig, cid, days=4, start_day=2)  # enters monitoring: planned then
    assert {r["kind"] for r in _diabetes_followups(ivig)} == DIABETES_KINDS
