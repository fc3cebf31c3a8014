"""``ivig course review``: the human decision on a request, and its safeguards."""

from __future__ import annotations

from tests.cli.helpers import assert_refused
from tests.conftest import Ivig
from tests.factories import course_in, register, request


def _review(course_id: int, decision: str, *extra: str, reviewer: str = "dr.reviewer") -> list[str]:
    return [
        "course",
        "review",
        str(course_id),
        "--decision",
        decision,
        "--reviewer",
        reviewer,
        "--note",
        "checked against the guidance",
        *extra,
    ]


def test_approve_moves_a_requested_course_to_reviewed(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1")["id"]

    course = ivig.ok(*_review(cid, "approve"))

    assert course["state"] == "reviewed"
    assert ivig.ok("course", "show", str(cid))["state"] == "reviewed"
    last = course["history"][-1]
    assert (last["from"], last["to"]) == ("requested", "reviewed")
    assert "checked against the guidance" in last["reason"]


def test_deny_moves_a_requested_course_to_denied(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1")["id"]

    course = ivig.ok(*_review(cid, "deny"))

    assert course["state"] == "denied"
    assert (course["history"][-1]["from"], course["history"][-1]["to"]) == (
        "requested",
        "denied",
    )
    assert [c["state"] for c in ivig.ok("course", "list")] == ["denied"]


def test_a_not_supported_request_can_be_denied_without_an_override(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1", indication="diabetic_symmetric_polyneuropathy")["id"]

    assert ivig.ok(*_review(cid, "deny"))["state"] == "denied"


def test_approving_a_not_supported_request_needs_an_override_reason(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1", indication="diabetic_symmetric_polyneuropathy")["id"]

    assert_refused(ivig, _review(cid, "approve"), code=1, names=["override"])


def test_approving_a_fixed_schedule_request_needs_an_override_reason(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1", repeat_every_weeks=0)["id"]

    assert_refused(ivig, _review(cid, "approve"), code=1, names=["override"])


def test_with_an_override_reason_the_reviewer_may_approve_against_it(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1", indication="diabetic_symmetric_polyneuropathy")["id"]

    course = ivig.ok(*_review(cid, "approve", "--override-reason", "second opinion from neurology"))

    assert course["state"] == "reviewed"
    # The override is kept with the decision, where an auditor looks for it.
    assert "second opinion from neurology" in course["history"][-1]["reason"]


def test_the_requester_may_not_review_their_own_request(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1", requested_by="dr.house")["id"]

    for decision in ("approve", "deny"):
        assert_refused(
            ivig, _review(cid, decision, reviewer="dr.house"), code=1, names=["reviewer"]
        )


def test_approving_a_reviewed_course_again_is_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "reviewed")

    assert_refused(ivig, _review(cid, "approve"), code=1, names=["reviewed"])


def test_reviewing_a_denied_course_is_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "denied")

    for decision in ("approve", "deny"):
        assert_refused(ivig, _review(cid, decision), code=1, names=["denied"])


def test_reviewing_an_unknown_course_is_refused(ivig: Ivig) -> None:
    register(ivig, "M1")

    assert_refused(ivig, _review(42, "approve"), code=1, names=["course", "42"])


def test_an_unknown_decision_is_malformed(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1")["id"]

    assert_refused(ivig, _review(cid, "maybe"), code=2, names=["decision"])
