"""A course's whole life through the real commands, every exit, and its history."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from typing import Any

import pytest

from tests.cli.helpers import assert_refused, history_chain_is_continuous, transitions
from tests.conftest import Ivig
from tests.factories import approve, course_in, register, request, request_doc


def _shown(ivig: Ivig, course_id: int) -> dict[str, Any]:
    return ivig.ok("course", "show", str(course_id))  # type: ignore[no-any-return]


def _infuse(ivig: Ivig, course_id: int, on: str) -> Any:
    return ivig.ok("course", "infuse", str(course_id), "--date", on, "--grams", "32.8")


def test_request_to_retreatment(ivig: Ivig) -> None:
    register(ivig, "M1", diabetes="type2")
    ivig.now("2026-09-28T10:00:00+00:00")
    cid = request(ivig, "M1")["id"]
    assert approve(ivig, cid)["state"] == "reviewed"

    ivig.now("2026-10-05T18:00:00+00:00")
    states = [_infuse(ivig, cid, f"2026-10-0{day}")["state"] for day in range(1, 6)]
    assert states == ["infusing"] * 4 + ["monitoring"]
    due = {f["kind"]: f["due_date"] for f in _shown(ivig, cid)["followups"]}
    assert due == {
        "reassess_2w": "2026-10-19",
        "reassess_1m": "2026-11-05",
        "hba1c": "2027-01-05",
        "monofilament": "2027-10-05",
    }

    # A responder: VAS 8 at baseline, 4 two weeks after (a 50 % reduction).
    ivig.now("2026-10-19T11:00:00+00:00")
    ivig.ok("course", "assess", str(cid), "--date", "2026-10-19", "--vas", "4")
    ivig.now("2027-02-01T09:00:00+00:00")
    assert ivig.ok("course", "relapse", str(cid), "--date", "2027-01-30")["state"] == "relapsed"

    new = ivig.ok("course", "retreat", str(cid), "--file", "-", stdin=json.dumps(request_doc()))

    assert new["id"] != cid
    assert new["state"] == "requested"
    assert new["prior_course_id"] == cid
    findings = {f["rule"]: f for f in new["recommendation"]["findings"]}
    assert "retreatment.prior_response" in findings
    assert findings["retreatment.prior_response"]["severity"] == "info"
    assert new["recommendation"]["outcome"] == "supported"

    old = _shown(ivig, cid)
    assert old["state"] == "retreated"
    assert transitions(old["history"]) == [
        (None, "requested"),
        ("requested", "reviewed"),
        ("reviewed", "infusing"),
        ("infusing", "infusing"),
        ("infusing", "infusing"),
        ("infusing", "infusing"),
        ("infusing", "monitoring"),
        ("monitoring", "monitoring"),  # the assessment
        ("monitoring", "relapsed"),
        ("relapsed", "retreated"),
    ]
    assert [c["id"] for c in ivig.ok("course", "list", "--mrn", "M1")] == [new["id"], cid]


def test_retreatment_after_a_course_without_response_is_not_supported(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")
    ivig.ok("course", "assess", str(cid), "--date", "2026-10-19", "--vas", "7")  # 8 -> 7
    ivig.ok("course", "relapse", str(cid), "--date", "2026-11-10")

    new = ivig.ok("course", "retreat", str(cid), "--file", "-", stdin=json.dumps(request_doc()))

    assert new["recommendation"]["outcome"] == "not_supported"
    severities = {f["rule"]: f["severity"] for f in new["recommendation"]["findings"]}
    assert severities["retreatment.prior_response"] == "block"


def test_retreating_a_course_in_monitoring_is_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")

    assert_refused(
        ivig,
        ["course", "retreat", str(cid), "--file", "-"],
        stdin=json.dumps(request_doc()),
        code=1,
        names=["monitoring"],
    )


@pytest.mark.parametrize(
    ("start", "command", "end"),
    [
        ("requested", ["course", "cancel", "{id}", "--reason", "patient declined"], "cancelled"),
        ("reviewed", ["course", "cancel", "{id}", "--reason", "patient declined"], "cancelled"),
        (
            "requested",
            [
                "course",
                "review",
                "{id}",
                "--decision",
                "deny",
                "--reviewer",
                "dr.r",
                "--note",
                "no",
            ],
            "denied",
        ),
        (
            "infusing",
            ["course", "stop", "{id}", "--date", "2026-10-01", "--reason", "rash"],
            "discontinued",
        ),
        ("monitoring", ["course", "close", "{id}", "--date", "2026-11-19"], "completed"),
    ],
)
def test_every_exit_of_the_lifecycle(ivig: Ivig, start: str, command: list[str], end: str) -> None:
    cid = course_in(ivig, start)
    before = _shown(ivig, cid)["history"]

    course = ivig.ok(*[part.replace("{id}", str(cid)) for part in command])

    assert course["state"] == end
    assert course["history"][:-1] == before
    assert transitions(course["history"])[-1] == (start, end)
    assert [c["state"] for c in ivig.ok("course", "list", "--mrn", "M1")] == [end]
    # A course that ended has no open follow-ups of its own.
    own = [f for f in ivig.ok("followups", "list", "--course", str(cid))]
    assert all(f["status"] in ("cancelled", "done") for f in own)


def test_cancelling_an_infusing_course_is_refused(ivig: Ivig) -> None:
    cid = course_in(ivig, "infusing")

    assert_refused(
        ivig, ["course", "cancel", str(cid), "--reason", "changed mind"], code=1, names=["infusing"]
    )


# -- history --------------------------------------------------------------------------


def _every_change(cid: int) -> list[tuple[list[str], str, str]]:
    """(command, the clinical date its history row carries, the moment it is entered)
    through a whole course; the assessment is entered two days after the fact."""
    return [
        (
            ["course", "review", str(cid), "--decision", "approve", "--reviewer", "dr.reviewer"]
            + ["--note", "fine"],
            "2026-10-31",
            "2026-10-31T10:30:00+00:00",
        ),
        (
            ["course", "infuse", str(cid), "--date", "2026-11-01", "--grams", "32.8"],
            "2026-11-01",
            "2026-11-01T11:30:00+00:00",
        ),
        (
            ["course", "infuse", str(cid), "--date", "2026-11-02", "--grams", "32.8"],
            "2026-11-02",
            "2026-11-02T12:30:00+00:00",
        ),
        (
            ["course", "assess", str(cid), "--date", "2026-11-10", "--vas", "3"],
            "2026-11-10",
            "2026-11-12T13:30:00+00:00",
        ),
        (
            ["course", "relapse", str(cid), "--date", "2026-11-18"],
            "2026-11-18",
            "2026-11-20T14:30:00+00:00",
        ),
    ]


def test_every_change_adds_exactly_one_history_row_and_never_rewrites_one(ivig: Ivig) -> None:
    register(ivig, "M1")
    ivig.now("2026-10-30T09:00:00+00:00")
    cid = request(ivig, "M1", days=2)["id"]
    history = _shown(ivig, cid)["history"]
    assert len(history) == 1

    for n, (command, clinical_date, instant) in enumerate(_every_change(cid)):
        actor = f"user.{n}"
        ivig.now(instant)
        ivig.ok(*command, "--actor", actor)

        now = _shown(ivig, cid)["history"]
        assert len(now) == len(history) + 1, command
        assert now[: len(history)] == history, "an earlier history row changed"
        row = now[-1]
        assert row["actor"] == actor
        assert row["date"] == clinical_date
        at = datetime.fromisoformat(row["at"])
        assert at.utcoffset() is not None, "history time is not timezone-aware"
        assert at == datetime.fromisoformat(instant)
        history = now

    assert history_chain_is_continuous(history)
    assert transitions(history)[-1] == ("monitoring", "relapsed")


def test_history_actor_defaults_to_ivig_actor(ivig: Ivig) -> None:
    cid = course_in(ivig, "reviewed")
    ivig.monkeypatch.setenv("IVIG_ACTOR", "nurse.nia")

    ivig.ok("course", "infuse", str(cid), "--date", "2026-10-01", "--grams", "32.8")
    ivig.ok(
        "course", "stop", str(cid), "--date", "2026-10-01", "--reason", "rash", "--actor", "dr.x"
    )

    rows = _shown(ivig, cid)["history"]
    assert [r["actor"] for r in rows] == ["coordinator.cole"] * 2 + ["nurse.nia", "dr.x"]


def test_history_reasons_say_why(ivig: Ivig) -> None:
    cid = course_in(ivig, "reviewed")
    ivig.ok("course", "cancel", str(cid), "--reason", "moved to another clinic")

    row = _shown(ivig, cid)["history"][-1]
    assert row["reason"] == "moved to another clinic"


def test_a_refused_change_adds_no_history(ivig: Ivig) -> None:
    cid = course_in(ivig, "monitoring")
    before = _shown(ivig, cid)["history"]

    assert ivig("course", "stop", str(cid), "--date", "2026-11-01", "--reason", "x").code == 1
    assert ivig("course", "assess", str(cid), "--date", "2026-11-01", "--vas", "11").code == 2

    assert _shown(ivig, cid)["history"] == before


def test_history_actor_falls_back_to_the_os_user(ivig: Ivig) -> None:
    cid = course_in(ivig, "requested")
    ivig.monkeypatch.delenv("IVIG_ACTOR")

    ivig.ok("course", "cancel", str(cid), "--reason", "withdrawn")

    assert _shown(ivig, cid)["history"][-1]["actor"] == getpass.getuser()
