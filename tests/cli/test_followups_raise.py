"""``ivig followups raise``, ``ivig reminders list`` and ``ivig scheduler run --once``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Ivig
from tests.factories import approve, course_in, register, request


def _sink(ivig: Ivig, tmp_path: Path) -> Path:
    path = tmp_path / "reminders.jsonl"
    ivig.monkeypatch.setenv("IVIG_NOTIFY", path.as_uri())
    return path


def _lines(path: Path) -> list[dict[str, Any]]:
    """The follow-up messages (reminders, escalations) the file channel received; the
    requester's review notices share the channel and are tested with the notices."""
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [line for line in lines if line["reminder"] in FOLLOWUP_MESSAGES]


FOLLOWUP_MESSAGES = {"reminder", "escalation"}


def _followup_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["followup_id"] is not None]


def _course_infused_on(ivig: Ivig, days: list[str]) -> int:
    register(ivig, "M1")
    course = int(request(ivig, "M1", requested_on=days[0])["id"])
    approve(ivig, course, on=days[0])
    for day in days:
        ivig.ok("course", "infuse", str(course), "--date", day, "--grams", "32.8")
    return course


def test_raise_raises_what_is_due_today_once_and_sends_one_reminder_each(
    ivig: Ivig, tmp_path: Path
) -> None:
    sink = _sink(ivig, tmp_path)
    course = course_in(ivig, "monitoring")  # due 2026-10-19 and 2026-11-05; today 2026-11-20

    raised = ivig.ok("followups", "raise")
    again = ivig.ok("followups", "raise")

    assert [(r["kind"], r["status"], r["course_id"]) for r in raised] == [
        ("reassess_2w", "raised", course),
        ("reassess_1m", "raised", course),
    ]
    assert {"id", "kind", "mrn", "course_id", "due_date", "status"} <= set(raised[0])
    assert again == []
    reminders = [line for line in _lines(sink) if line["reminder"] == "reminder"]
    assert sorted(line["followup_id"] for line in reminders) == sorted(r["id"] for r in raised)
    listed = ivig.ok("followups", "list", "--status", "raised")
    assert [r["id"] for r in listed] == [r["id"] for r in raised]


def test_as_of_raises_up_to_and_including_the_date(ivig: Ivig, tmp_path: Path) -> None:
    _sink(ivig, tmp_path)
    course_in(ivig, "monitoring")
    assert ivig.ok("followups", "raise", "--as-of", "2026-10-18") == []
    assert [r["kind"] for r in ivig.ok("followups", "raise", "--as-of", "2026-10-19")] == [
        "reassess_2w"
    ]
    future = ivig.ok("followups", "raise", "--as-of", "2027-01-05")
    assert [r["kind"] for r in future] == ["reassess_1m", "hba1c"]


def test_escalation_is_sent_once_for_a_followup_left_open(ivig: Ivig, tmp_path: Path) -> None:
    sink = _sink(ivig, tmp_path)
    course_in(ivig, "monitoring")
    ivig.ok("followups", "raise", "--as-of", "2026-10-19")
    ivig.ok("followups", "raise", "--as-of", "2026-10-25")  # six days late: no escalation yet
    assert [line["reminder"] for line in _lines(sink)] == ["reminder"]
    ivig.ok("followups", "raise", "--as-of", "2026-10-26")
    ivig.ok("followups", "raise", "--as-of", "2026-10-30")
    escalations = [line for line in _lines(sink) if line["reminder"] == "escalation"]
    assert len(escalations) == 1 and escalations[0]["kind"] == "reassess_2w"
    kinds = {r["kind"] for r in _followup_rows(ivig.ok("reminders", "list"))}
    assert kinds == {"reminder", "escalation"}


def test_an_assessment_in_time_prevents_the_escalation(ivig: Ivig, tmp_path: Path) -> None:
    sink = _sink(ivig, tmp_path)
    course = course_in(ivig, "monitoring")
    ivig.ok("followups", "raise", "--as-of", "2026-10-19")
    ivig.ok("course", "assess", str(course), "--date", "2026-10-20", "--vas", "4")
    ivig.ok("followups", "raise", "--as-of", "2026-10-30")
    assert all(
        line["kind"] != "reassess_2w" or line["reminder"] == "reminder" for line in _lines(sink)
    )


def test_without_notify_the_reminder_is_only_logged(ivig: Ivig) -> None:
    course_in(ivig, "monitoring")
    raised = ivig.ok("followups", "raise")
    reminders = _followup_rows(ivig.ok("reminders", "list", "--status", "sent"))
    assert {r["channel"] for r in reminders} == {"log"}
    assert {r["followup_id"] for r in reminders} == {r["id"] for r in raised}


def test_no_deliver_leaves_the_reminders_to_the_scheduler(ivig: Ivig, tmp_path: Path) -> None:
    sink = _sink(ivig, tmp_path)
    course_in(ivig, "monitoring")
    raised = ivig.ok("followups", "raise", "--no-deliver")
    assert len(raised) == 2 and _lines(sink) == []
    assert {r["status"] for r in _followup_rows(ivig.ok("reminders", "list"))} == {"pending"}
    once = ivig.ok("scheduler", "run", "--once")
    # 2 reminders + 2 escalations, and the requester's notice of the approval.
    assert once["raised"] == [] and len(once["sent"]) == 5
    assert sorted({line["followup_id"] for line in _lines(sink)}) == sorted(r["id"] for r in raised)


def test_scheduler_once_raises_and_delivers(ivig: Ivig, tmp_path: Path) -> None:
    sink = _sink(ivig, tmp_path)
    course_in(ivig, "monitoring")
    first = ivig.ok("scheduler", "run", "--once")
    second = ivig.ok("scheduler", "run", "--once")
    assert len(first["raised"]) == 2 and first["failed"] == []
    assert second == {"raised": [], "escalated": [], "sent": [], "failed": []}
    # Every message sent reached the file: the follow-ups' and the approval notice.
    everything = [json.loads(line) for line in sink.read_text().splitlines()]
    assert len(everything) == len(first["sent"]) and len(_lines(sink)) == 4


def test_a_bad_notify_url_is_refused_before_anything_is_written(ivig: Ivig) -> None:
    course_in(ivig, "monitoring")
    ivig.monkeypatch.setenv("IVIG_NOTIFY", "ftp://files.example/reminders")
    result = ivig("followups", "raise")
    assert result.code == 2 and "IVIG_NOTIFY" in result.err
    assert {r["status"] for r in ivig.ok("followups", "list")} == {"scheduled"}


def test_reminders_list_rejects_an_unknown_status(ivig: Ivig) -> None:
    result = ivig("reminders", "list", "--status", "lost")
    assert result.code == 2 and "status" in result.err


@pytest.mark.parametrize(
    ("made_at", "infusions", "instant", "due"),
    [
        # 00:30 BST on 25 October 2026 (the night the clocks go back) is 23:30 UTC on the 24th.
        (
            "2026-11-20T15:00:00+00:00",
            [f"2026-10-{d:02d}" for d in range(7, 12)],
            "2026-10-24T23:30:00+00:00",
            "2026-10-25",
        ),
        # 00:30 BST on 29 March 2027, the first night after the clocks went forward.
        (
            "2027-03-20T12:00:00+00:00",
            [f"2027-03-{d:02d}" for d in range(11, 16)],
            "2027-03-28T23:30:00+00:00",
            "2027-03-29",
        ),
    ],
)
def test_today_is_the_clinic_date_across_daylight_saving_changes(
    ivig: Ivig, made_at: str, infusions: list[str], instant: str, due: str
) -> None:
    ivig.now(made_at)
    _course_infused_on(ivig, infusions)
    ivig.now(instant)
    ivig.monkeypatch.setenv("IVIG_TIMEZONE", "UTC")  # still the day before in UTC
    assert ivig.ok("followups", "raise", "--no-deliver") == []
    ivig.monkeypatch.setenv("IVIG_TIMEZONE", "Europe/London")
    listed = ivig.ok("followups", "list", "--status", "scheduled")
    assert (listed[0]["due_date"], listed[0]["when"]) == (due, "due today")
    raised = ivig.ok("followups", "raise")
    assert [(r["kind"], r["due_date"]) for r in raised] == [("reassess_2w", due)]


def test_month_ends_clamp_the_due_dates(ivig: Ivig) -> None:
    ivig.now("2027-03-01T12:00:00+00:00")
    _course_infused_on(ivig, [f"2027-01-{d}" for d in range(27, 32)])  # L = 2027-01-31
    due = {r["kind"]: r["due_date"] for r in ivig.ok("followups", "list")}
    assert due == {
        "reassess_2w": "2027-02-14",
        "reassess_1m": "2027-02-28",
        "hba1c": "2027-04-30",
        "monofilament": "2028-01-31",
    }
    assert [r["kind"] for r in ivig.ok("followups", "raise", "--as-of", "2027-02-27")] == [
        "reassess_2w"
    ]
    assert [r["kind"] for r in ivig.ok("followups", "raise", "--as-of", "2027-02-28")] == [
        "reassess_1m"
    ]


def test_scheduler_refuses_a_bad_notify_url(ivig: Ivig) -> None:
    ivig.monkeypatch.setenv("IVIG_NOTIFY", "smtp://mail.example:25")
    result = ivig("scheduler", "run", "--once")
    assert result.code == 2 and "IVIG_NOTIFY" in result.err and "to=" in result.err
