"""Notices about requests under review: the requester hears of a question and of the
decision; the reviewers hear, once, of a request waiting past the review deadline."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import Ivig
from tests.factories import register, request
from workflow.service.notices import working_days_between


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _channel(ivig: Ivig, tmp_path: Path) -> Path:
    path = tmp_path / "notices.jsonl"
    ivig.monkeypatch.setenv("IVIG_NOTIFY", f"file://{path}")
    return path


def _review(ivig: Ivig, cid: int, decision: str, note: str) -> None:
    ivig.ok("course", "review", str(cid), "--decision", decision, "--reviewer", "dr.reviewer",
            "--note", note, "--override-reason", "panel agreed")  # fmt: skip


def test_the_requester_hears_of_a_question_and_of_the_decision(ivig: Ivig, tmp_path: Path) -> None:
    path = _channel(ivig, tmp_path)
    register(ivig)
    cid = int(request(ivig)["id"])

    _review(ivig, cid, "info", "which steroids were tried?")
    _review(ivig, cid, "approve", "meets the guidance")
    ivig.ok("followups", "raise")

    records = _records(path)
    assert [r["reminder"] for r in records] == ["review_question", "review_decision"]
    assert {r["to"] for r in records} == {"dr.requester"}
    assert all(r["course_id"] == cid and r["mrn"] == "M1" for r in records)
    assert records[1]["decision"] == "approve"
    assert len({r["message_id"] for r in records}) == 2
    assert "Test Patient" not in path.read_text(encoding="utf-8")


def test_reviewers_hear_once_of_a_request_waiting_past_the_deadline(
    ivig: Ivig, tmp_path: Path
) -> None:
    path = _channel(ivig, tmp_path)
    register(ivig)
    late = int(request(ivig, requested_on="2026-11-10")["id"])  # today: Friday 2026-11-20
    register(ivig, "M2")
    request(ivig, "M2", requested_on="2026-11-16")  # 4 working days: not yet

    ivig.ok("followups", "raise")
    ivig.ok("followups", "raise", "--as-of", "2026-11-21")

    overdue = [r for r in _records(path) if r["reminder"] == "escalation"]
    assert [(r["course_id"], r["working_days_waited"]) for r in overdue] == [(late, 8)]
    assert overdue[0]["to"] == "reviewers"


def test_a_request_with_an_open_question_waits_on_the_requester(ivig: Ivig, tmp_path: Path) -> None:
    path = _channel(ivig, tmp_path)
    register(ivig)
    cid = int(request(ivig, requested_on="2026-11-02")["id"])
    _review(ivig, cid, "info", "which steroids?")

    ivig.ok("followups", "raise")

    assert [r["reminder"] for r in _records(path)] == ["review_question"]


@given(st.dates(date(2020, 1, 1), date(2030, 1, 1)), st.integers(0, 60))
def test_working_days_count_monday_to_friday(start: date, days: int) -> None:
    from datetime import timedelta

    end = start + timedelta(days=days)
    expected = sum(1 for n in range(1, days + 1) if (start + timedelta(n)).weekday() < 5)
    assert working_days_between(start, end) == expected
