"""Corrections: ``course void-infusion``, ``course void-assessment``, ``patient
void-measurement``. The voided record stays, marked; everything derived from it is
worked out again as if it had never been recorded."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cli.helpers import assert_one_sentence, assert_refused
from tests.conftest import Ivig
from tests.factories import course_in


def _statuses(ivig: Ivig, mrn: str = "M1") -> dict[str, str]:
    return {f["kind"]: f["status"] for f in ivig.ok("followups", "list", "--mrn", mrn)}


def _show(ivig: Ivig, cid: int) -> dict[str, Any]:
    return ivig.ok("course", "show", str(cid))  # type: ignore[no-any-return]


def _assess(ivig: Ivig, cid: int, on: str, vas: str) -> int:
    shown = ivig.ok("course", "assess", str(cid), "--date", on, "--vas", vas)
    return int(shown["assessments"][-1]["id"])


@pytest.mark.slow
def test_voiding_the_only_assessment_reopens_its_follow_up_and_the_report_forgets_it(
    ivig: Ivig,
) -> None:
    cid = course_in(ivig, "monitoring")  # baseline VAS 8, L = 2026-10-05
    aid = _assess(ivig, cid, "2026-10-18", "2")
    assert ivig.ok("report", "relapse", "--as-of", "2026-11-20")["responders"] == 1
    assert _statuses(ivig)["reassess_2w"] == "done"

    shown = ivig.ok(
        "course", "void-assessment", str(cid), "--assessment", str(aid), "--reason", "wrong patient"
    )

    assessment = shown["assessments"][0]
    assert assessment["voided"] is True
    assert (assessment["void_reason"], assessment["voided_by"]) == (
        "wrong patient",
        "coordinator.cole",
    )
    assert assessment["vas"] == 2  # kept as entered
    assert shown["history"][-1]["trigger"] == "void_assessment"
    assert "wrong patient" in shown["history"][-1]["reason"]
    assert _statuses(ivig)["reassess_2w"] == "scheduled"
    assert ivig.ok("report", "relapse", "--as-of", "2026-11-20")["responders"] == 0


def test_another_live_assessment_takes_over_the_follow_up(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")
    first = _assess(ivig, cid, "2026-10-18", "2")
    second = _assess(ivig, cid, "2026-10-19", "3")

    ivig.ok("course", "void-assessment", str(cid), "--assessment", str(first), "--reason", "typo")

    done = [f for f in ivig.ok("followups", "list", "--course", str(cid)) if f["status"] == "done"]
    assert [f["kind"] for f in done] == ["reassess_2w"]
    assert f"now completed by assessment {second}" in _show(ivig, cid)["history"][-1]["reason"]


def test_voiding_the_assessment_that_raised_a_suspected_relapse_clears_the_flag(
    ivig: Ivig,
) -> None:
    cid = course_in(ivig, "monitoring")
    _assess(ivig, cid, "2026-10-18", "2")
    high = _assess(ivig, cid, "2026-11-10", "7")
    assert _show(ivig, cid)["suspected_relapse"] is not None

    shown = ivig.ok(
        "course", "void-assessment", str(cid), "--assessment", str(high), "--reason", "typo"
    )

    assert shown["suspected_relapse"] is None
    assert "dismiss-relapse" not in shown["allowed_actions"]


def test_a_voided_last_day_moves_the_course_back_when_nothing_rests_on_it(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")
    assert _statuses(ivig)["reassess_2w"] == "scheduled"

    shown = ivig.ok("course", "void-infusion", str(cid), "--day", "5", "--reason", "wrong day")

    assert shown["state"] == "infusing"
    assert shown["last_infusion_date"] == "2026-10-04"
    assert (shown["dose"]["days_given"], shown["infusions"][-1]["voided"]) == (4, True)
    assert shown["history"][-1]["from"] == "monitoring"
    assert set(_statuses(ivig).values()) == {"cancelled"}

    again = ivig.ok("course", "infuse", str(cid), "--date", "2026-10-06", "--grams", "32.8")
    assert again["state"] == "monitoring"
    assert again["last_infusion_date"] == "2026-10-06"
    assert [i["day"] for i in again["infusions"] if not i["voided"]] == [1, 2, 3, 4, 5]
    live = [f for f in again["followups"] if f["status"] == "scheduled"]
    assert {f["kind"]: f["due_date"] for f in live}["reassess_2w"] == "2026-10-20"


def test_a_voided_day_is_refused_when_an_assessment_rests_on_monitoring(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")
    aid = _assess(ivig, cid, "2026-10-18", "2")

    result = assert_refused(
        ivig,
        ["course", "void-infusion", str(cid), "--day", "5", "--reason", "wrong day"],
        code=1,
        names=[f"assessment {aid}", "void"],
    )
    assert "monitoring" in result.err


def test_a_middle_day_voided_while_infusing_renumbers_the_later_days(ivig: Ivig) -> None:
    cid = course_in(ivig, "infusing")
    ivig.ok("course", "infuse", str(cid), "--date", "2026-10-02", "--grams", "34")
    ivig.ok("course", "infuse", str(cid), "--date", "2026-10-03", "--grams", "32.8")

    shown = ivig.ok("course", "void-infusion", str(cid), "--day", "2", "--reason", "34 g mistyped")

    live = [(i["day"], i["date"]) for i in shown["infusions"] if not i["voided"]]
    assert live == [(1, "2026-10-01"), (2, "2026-10-03")]
    assert shown["dose"]["grams_given"] == 65.6
    assert shown["state"] == "infusing"


def test_voiding_every_day_of_a_course_brings_it_back_to_reviewed(ivig: Ivig) -> None:
    cid = course_in(ivig, "infusing")

    shown = ivig.ok("course", "void-infusion", str(cid), "--day", "1", "--reason", "not given")

    assert shown["state"] == "reviewed"
    assert shown["last_infusion_date"] is None
    again = ivig.ok("course", "infuse", str(cid), "--date", "2026-10-01", "--grams", "32.8")
    assert again["state"] == "infusing"


def test_refusals_name_the_field(ivig: Ivig) -> None:
    cid = course_in(ivig, "infusing")
    assert_refused(
        ivig,
        ["course", "void-infusion", str(cid), "--day", "3", "--reason", "x"],
        code=1,
        names=["day", "3"],
    )
    assert_refused(
        ivig,
        ["course", "void-infusion", str(cid), "--day", "1", "--reason", " "],
        code=2,
        names=["reason"],
    )
    ivig.ok("course", "void-infusion", str(cid), "--day", "1", "--reason", "x")
    ivig.ok("course", "infuse", str(cid), "--date", "2026-10-02", "--grams", "32.8")
    result = ivig("course", "void-assessment", str(cid), "--assessment", "1", "--reason", "x")
    assert_one_sentence(result, 1, ["void_assessment"])


@pytest.mark.slow
def test_completed_course_refuses_to_void_an_infusion(ivig: Ivig) -> None:
    cid = course_in(ivig, "completed")
    assert_refused(
        ivig,
        ["course", "void-infusion", str(cid), "--day", "5", "--reason", "x"],
        code=1,
        names=["completed"],
    )


def test_voiding_a_measurement_reopens_the_hba1c_follow_up(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")  # hba1c due 2027-01-05
    ivig.now("2027-01-06T10:00:00+00:00")
    measured = ivig.ok("patient", "measure", "M1", "--date", "2027-01-04", "--hba1c", "7.1")
    hba1c = [f for f in ivig.ok("followups", "list", "--mrn", "M1") if f["kind"] == "hba1c"]
    assert [f["status"] for f in hba1c] == ["done", "scheduled"]

    shown = ivig.ok(
        "patient",
        "void-measurement",
        "M1",
        "--measurement",
        str(measured["id"]),
        "--reason",
        "another patient's result",
    )

    assert shown["mrn"] == "M1"  # a patient action answers the patient
    hba1c = [f for f in ivig.ok("followups", "list", "--mrn", "M1") if f["kind"] == "hba1c"]
    assert [(f["due_date"], f["status"]) for f in hba1c] == [
        ("2027-01-05", "scheduled"),
        ("2027-04-04", "cancelled"),
    ]
    marks = ivig.ok("patient", "show", "M1")["measurements"][0]
    assert (marks["voided"], marks["void_reason"]) == (True, "another patient's result")
    assert _show(ivig, cid)["state"] == "monitoring"
    again = ivig.ok("patient", "measure", "M1", "--date", "2027-01-05", "--hba1c", "6.9")
    assert again["voided"] is False
    hba1c = [f for f in ivig.ok("followups", "list", "--mrn", "M1") if f["kind"] == "hba1c"]
    assert [f["status"] for f in hba1c] == ["done", "cancelled", "scheduled"]


def test_unknown_measurement_is_refused(ivig: Ivig) -> None:
    course_in(ivig, "monitoring")
    assert_refused(
        ivig,
        ["patient", "void-measurement", "M1", "--measurement", "99", "--reason", "x"],
        code=1,
        names=["measurement", "99"],
    )
