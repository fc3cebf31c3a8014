"""``ivig course assess`` / ``relapse`` / ``close``: after the infusions."""

from __future__ import annotations

from typing import Any

from tests.cli.helpers import assert_refused, transitions
from tests.conftest import Ivig
from tests.factories import course_in


def _statuses(ivig: Ivig, mrn: str = "M1") -> dict[str, str]:
    return {f["kind"]: f["status"] for f in ivig.ok("followups", "list", "--mrn", mrn)}


def _shown(ivig: Ivig, course_id: int) -> dict[str, Any]:
    return ivig.ok("course", "show", str(course_id))  # type: ignore[no-any-return]


def test_assess_records_the_scores_and_completes_the_two_week_follow_up(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")  # L = 2026-10-05: reassess_2w due 2026-10-19

    printed = ivig.ok("course", "assess", str(cid), "--date", "2026-10-18", "--vas", "4")

    assert printed == _shown(ivig, cid)
    assert printed["state"] == "monitoring"
    assert [(a["date"], a["vas"]) for a in printed["assessments"]] == [("2026-10-18", 4)]
    last = printed["history"][-1]
    assert (last["from"], last["to"], last["date"]) == ("monitoring", "monitoring", "2026-10-18")
    assert _statuses(ivig) == {
        "reassess_2w": "done",
        "reassess_1m": "scheduled",
        "hba1c": "scheduled",
        "monofilament": "scheduled",
    }


def test_a_full_one_month_assessment_completes_the_one_month_follow_up(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")  # reassess_1m due 2026-11-05

    ivig.ok(
        "course",
        "assess",
        str(cid),
        "--date",
        "2026-11-04",
        "--vas",
        "3",
        "--mrc-sum",
        "54",
        "--walking-distance-m",
        "400",
    )

    assessment = _shown(ivig, cid)["assessments"][0]
    assert (assessment["vas"], assessment["mrc_sum"], assessment["walking_distance_m"]) == (
        3,
        54,
        400,
    )
    assert _statuses(ivig)["reassess_1m"] == "done"


def test_a_vas_alone_does_not_complete_the_one_month_follow_up(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")

    ivig.ok("course", "assess", str(cid), "--date", "2026-11-04", "--vas", "3")

    assert _statuses(ivig)["reassess_1m"] == "scheduled"


def test_relapse_moves_monitoring_to_relapsed(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")

    course = ivig.ok(
        "course", "relapse", str(cid), "--date", "2026-11-12", "--note", "pain back in thigh"
    )

    assert course["state"] == "relapsed"
    last = course["history"][-1]
    assert (last["from"], last["to"], last["date"]) == ("monitoring", "relapsed", "2026-11-12")
    assert last["reason"] == "pain back in thigh"


def test_close_completes_the_course_and_cancels_only_its_own_follow_ups(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")

    course = ivig.ok("course", "close", str(cid), "--date", "2026-11-15")

    assert course["state"] == "completed"
    assert transitions(course["history"])[-1] == ("monitoring", "completed")
    assert course["history"][-1]["date"] == "2026-11-15"
    # The course's reassessments end with it; HbA1c and the foot test stay the patient's.
    assert _statuses(ivig) == {
        "reassess_2w": "cancelled",
        "reassess_1m": "cancelled",
        "hba1c": "scheduled",
        "monofilament": "scheduled",
    }


def test_close_keeps_follow_ups_already_done(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")
    ivig.ok("course", "assess", str(cid), "--date", "2026-10-19", "--vas", "2")

    ivig.ok("course", "close", str(cid), "--date", "2026-11-15")

    statuses = _statuses(ivig)
    assert (statuses["reassess_2w"], statuses["reassess_1m"]) == ("done", "cancelled")


def test_relapsing_a_requested_course_is_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "requested")

    assert_refused(
        ivig,
        ["course", "relapse", str(cid), "--date", "2026-11-01"],
        code=1,
        names=["requested"],
    )


def test_closing_a_relapsed_course_is_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "relapsed")

    assert_refused(
        ivig, ["course", "close", str(cid), "--date", "2026-11-15"], code=1, names=["relapsed"]
    )


def test_assessing_a_requested_course_is_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "requested")

    assert_refused(
        ivig,
        ["course", "assess", str(cid), "--date", "2026-11-01", "--vas", "3"],
        code=1,
        names=["requested"],
    )


def test_vas_outside_zero_to_ten_is_malformed(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")

    for vas in ("11", "-1", "10.5"):
        assert_refused(
            ivig,
            ["course", "assess", str(cid), "--date", "2026-11-01", "--vas", vas],
            code=2,
            names=["vas"],
        )


def test_mrc_sum_above_sixty_is_malformed(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")

    assert_refused(
        ivig,
        ["course", "assess", str(cid), "--date", "2026-11-01", "--mrc-sum", "61"],
        code=2,
        names=["mrc"],
    )


def test_the_scale_ends_are_accepted(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")

    ivig.ok("course", "assess", str(cid), "--date", "2026-11-01", "--vas", "0", "--mrc-sum", "0")
    ivig.ok("course", "assess", str(cid), "--date", "2026-11-02", "--vas", "10", "--mrc-sum", "60")

    assert [(a["vas"], a["mrc_sum"]) for a in _shown(ivig, cid)["assessments"]] == [
        (0, 0),
        (10, 60),
    ]
