"""Two people changing one course at once: one wins, the other is told so, and nothing
is lost or recorded twice.

Real parallelism, two ways: threads calling the use-cases, each in its own unit of work
(the CLI's own ``unit_of_work``, so a lost race maps to the same refusal a user sees),
released together by a barrier; and separate processes of the installed console script.
No sleeps: every wait is bounded by a timeout that only a hang would reach.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from tests.cli.helpers import (
    assert_one_sentence,
    history_chain_is_continuous,
    run_scripts,
)
from tests.conftest import DEFAULT_NOW, Ivig
from tests.factories import approve, course_in, register, request
from workflow.cli.common import unit_of_work
from workflow.clock import FixedClock
from workflow.errors import IvigError
from workflow.schemas import PatientIn
from workflow.service import courses, patients, treatment

#: Slow (threads racing on one database): outside the fast lane, ``pytest -m "not slow"``.
pytestmark = pytest.mark.slow

CLOCK = FixedClock(datetime.fromisoformat(DEFAULT_NOW), ZoneInfo("UTC"))
WAIT = 120  # seconds; a bound for a hang, never reached when all is well

Job = Callable[[Session], object]


def _race(jobs: list[Job]) -> list[IvigError | None]:
    """Runs the jobs at the same moment, each in its own transaction; None means it won."""
    barrier = threading.Barrier(len(jobs))

    def attempt(job: Job) -> IvigError | None:
        barrier.wait(timeout=WAIT)
        try:
            with unit_of_work() as session:
                job(session)
        except IvigError as exc:
            return exc
        return None

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(attempt, job) for job in jobs]
        return [f.result(timeout=WAIT) for f in futures]


def _review(course_id: int, decision: str, reviewer: str) -> Job:
    return lambda s: courses.review(
        session=s,
        course_id=course_id,
        decision=decision,  # type: ignore[arg-type]
        reviewer=reviewer,
        note=f"{decision} by {reviewer}",
        override_reason=None,
        by=reviewer,
        clock=CLOCK,
    )


def _infuse(course_id: int, on: date) -> Job:
    return lambda s: treatment.infuse(
        session=s,
        course_id=course_id,
        on=on,
        grams=32.8,
        override_reason=None,
        by="nurse",
        clock=CLOCK,
    )


def _cancel(course_id: int) -> Job:
    return lambda s: courses.cancel(
        session=s, course_id=course_id, reason="withdrawn", by="coordinator", clock=CLOCK
    )


def _losers_were_refused(results: list[IvigError | None]) -> None:
    for result in results:
        if result is not None:
            assert result.exit_code == 1, result.message
            assert result.message and "\n" not in result.message


def _shown(ivig: Ivig, course_id: int) -> dict[str, Any]:
    return ivig.ok("course", "show", str(course_id))  # type: ignore[no-any-return]


def test_parallel_reviews_of_one_request_have_exactly_one_winner(ivig: Ivig) -> None:
    for n in range(2):  # one active course per patient: a patient each
        register(ivig, f"M{n}")
        cid = request(ivig, f"M{n}")["id"]
        jobs = [
            _review(cid, "approve", "dr.a"),
            _review(cid, "deny", "dr.b"),
            _review(cid, "approve", "dr.c"),
            _review(cid, "deny", "dr.d"),
        ]

        results = _race(jobs)

        winners = [i for i, r in enumerate(results) if r is None]
        assert len(winners) == 1, [r and r.message for r in results]
        _losers_were_refused(results)
        course = _shown(ivig, cid)
        decisions = [h for h in course["history"] if h["from"] == "requested"]
        assert len(decisions) == 1
        expected = "reviewed" if winners[0] in (0, 2) else "denied"
        assert course["state"] == decisions[0]["to"] == expected
        assert decisions[0]["actor"] == ["dr.a", "dr.b", "dr.c", "dr.d"][winners[0]]
        assert len(course["reviews"]) == 1


def test_parallel_infusions_on_one_day_record_one_row(ivig: Ivig) -> None:
    cid = course_in(ivig, "reviewed")

    results = _race([_infuse(cid, date(2026, 10, 1)) for _ in range(4)])

    assert sum(r is None for r in results) == 1
    _losers_were_refused(results)
    course = _shown(ivig, cid)
    assert [i["date"] for i in course["infusions"]] == ["2026-10-01"]
    assert course["state"] == "infusing"
    assert sum(h["trigger"] == "infuse" for h in course["history"]) == 1


def test_two_courses_of_one_patient_racing_for_one_day_record_one_infusion(ivig: Ivig) -> None:
    for n in range(2):
        mrn = f"M{n}"
        register(ivig, mrn)
        first = request(ivig, mrn)["id"]
        approve(ivig, first)
        for day in range(1, 6):
            ivig.ok(
                "course", "infuse", str(first), "--date", f"2026-09-2{day + 4}", "--grams", "32.8"
            )
        second = request(ivig, mrn)["id"]  # allowed: the first is in monitoring
        approve(ivig, second)
        # The first course's last day was a mistake: it is infusing again, one day to go.
        ivig.ok("course", "void-infusion", str(first), "--day", "5", "--reason", "wrong day")

        results = _race([_infuse(first, date(2026, 10, 1)), _infuse(second, date(2026, 10, 1))])

        assert sum(r is None for r in results) == 1, [r and r.message for r in results]
        _losers_were_refused(results)
        days = [
            i["date"]
            for cid in (first, second)
            for i in _shown(ivig, cid)["infusions"]
            if not i["voided"]
        ]
        assert days.count("2026-10-01") == 1


def test_parallel_infusions_never_exceed_the_planned_days(ivig: Ivig) -> None:
    register(ivig, "M1", diabetes="none")
    cid = request(ivig, "M1", days=3)["id"]
    approve(ivig, cid)

    results = _race([_infuse(cid, date(2026, 10, day)) for day in range(1, 7)])

    _losers_were_refused(results)
    course = _shown(ivig, cid)
    infusions = course["infusions"]
    recorded = len(infusions)
    assert 1 <= recorded <= 3
    assert recorded == sum(r is None for r in results)
    assert [i["day"] for i in infusions] == list(range(1, recorded + 1))
    dates = [i["date"] for i in infusions]
    assert dates == sorted(set(dates)), "two rows for one day, or days out of order"
    infusion_rows = [h for h in course["history"] if h["trigger"] in ("infuse", "finish_infusions")]
    assert len(infusion_rows) == recorded
    assert history_chain_is_continuous(course["history"])
    if recorded == 3:
        assert course["state"] == "monitoring"
        assert sorted(f["kind"] for f in course["followups"]) == ["reassess_1m", "reassess_2w"]
    else:
        assert course["state"] == "infusing"
        assert course["followups"] == []


def test_parallel_last_days_finish_the_course_once(ivig: Ivig) -> None:
    cid = course_in(ivig, "infusing")  # day 1 on 2026-10-01, diabetic patient
    for day in range(2, 5):
        ivig.ok("course", "infuse", str(cid), "--date", f"2026-10-0{day}", "--grams", "32.8")

    results = _race([_infuse(cid, date(2026, 10, day)) for day in (5, 6, 7)])

    assert sum(r is None for r in results) == 1
    _losers_were_refused(results)
    course = _shown(ivig, cid)
    assert course["state"] == "monitoring"
    assert len(course["infusions"]) == 5
    assert sum(h["to"] == "monitoring" and h["from"] == "infusing" for h in course["history"]) == 1
    assert sorted(f["kind"] for f in ivig.ok("followups", "list", "--mrn", "M1")) == [
        "hba1c",
        "monofilament",
        "reassess_1m",
        "reassess_2w",
    ]


def test_competing_changes_leave_an_unbroken_history(ivig: Ivig) -> None:
    cid = course_in(ivig, "requested")

    results = _race(
        [_review(cid, "approve", "dr.a"), _review(cid, "deny", "dr.b"), _cancel(cid), _cancel(cid)]
    )

    _losers_were_refused(results)
    course = _shown(ivig, cid)
    history = course["history"]
    assert history_chain_is_continuous(history)
    assert history[-1]["to"] == course["state"]
    # Every success is one history row, and no row lacks a success behind it.
    assert len(history) - 1 == sum(r is None for r in results)
    assert course["state"] in ("denied", "cancelled")


def test_parallel_registrations_of_one_mrn_register_one_patient(ivig: Ivig) -> None:
    data = PatientIn.model_validate(
        {
            "mrn": "M5",
            "name": "Twice Entered",
            "birth_date": "1960-01-01",
            "sex": "female",
            "weight_kg": 70,
        }
    )

    def register_as(clerk: str) -> Job:
        return lambda s: patients.add_patient(session=s, data=data, by=clerk, clock=CLOCK)

    results = _race([register_as(f"clerk{n}") for n in range(3)])

    assert sum(r is None for r in results) == 1
    _losers_were_refused(results)
    assert all("mrn" in r.message for r in results if r is not None)
    assert ivig.ok("patient", "show", "M5")["mrn"] == "M5"


def test_parallel_console_scripts_review_one_request_once(ivig: Ivig) -> None:
    cid = course_in(ivig, "requested")
    decisions = [("approve", "dr.a"), ("deny", "dr.b"), ("approve", "dr.c")]
    results = run_scripts(
        *[
            ["course", "review", str(cid), "--decision", decision, "--reviewer", reviewer]
            + ["--note", "race", "--actor", reviewer, "--json"]
            for decision, reviewer in decisions
        ]
    )

    winners = [n for n, r in enumerate(results) if r.code == 0]
    assert len(winners) == 1, results
    for n, result in enumerate(results):
        if n != winners[0]:
            assert_one_sentence(result, 1, [])
            assert result.out == ""
    printed = json.loads(results[winners[0]].out)
    course = _shown(ivig, cid)
    assert printed["state"] == course["state"]
    decided = [h for h in course["history"] if h["from"] == "requested"]
    assert len(decided) == 1
    assert decided[0]["actor"] == decisions[winners[0]][1]
