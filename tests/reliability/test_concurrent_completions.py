"""Two courses of one patient finishing their infusions at the same moment never
collide on the patient's follow-ups (one open HbA1c and one open monofilament check a
patient at most): both finish, the patient gets one of each, and no command ends in an
internal error (exit 3 / HTTP 500).

The one-active-course rule makes this rare, not impossible: a course in monitoring
does not hold up a new request, and voiding the first course's days takes it back
before monitoring, so two approved courses of one patient can finish at once.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from tests.cli.helpers import run_scripts
from tests.conftest import DEFAULT_NOW, Ivig
from tests.factories import approve, register, request
from workflow.cli.common import unit_of_work
from workflow.clock import FixedClock
from workflow.db import engine_for
from workflow.errors import IvigError
from workflow.service import treatment

pytestmark = pytest.mark.slow

CLOCK = FixedClock(datetime.fromisoformat(DEFAULT_NOW), ZoneInfo("UTC"))
WAIT = 120  # seconds: a bound for a hang, never reached when all is well
PATIENT_KINDS = ("hba1c", "monofilament")


def _two_approved_courses(ivig: Ivig) -> tuple[int, int]:
    """Two approved one-day courses of patient M1 (with diabetes), none in monitoring."""
    register(ivig, "M1")
    first = request(ivig, "M1", days=1)["id"]
    approve(ivig, first)
    ivig.ok("course", "infuse", str(first), "--date", "2026-10-01", "--grams", "32.8")
    second = request(ivig, "M1", days=1)["id"]  # the first is in monitoring: allowed
    approve(ivig, second)
    voided = ivig.ok(
        "course", "void-infusion", str(first), "--day", "1", "--reason", "wrong patient's chart"
    )
    assert voided["state"] == "reviewed"
    assert _open_patient_followups(ivig) == []
    return first, second


def _open_patient_followups(ivig: Ivig) -> list[str]:
    rows = ivig.ok("followups", "list", "--mrn", "M1")
    return sorted(
        f["kind"]
        for f in rows
        if f["kind"] in PATIENT_KINDS and f["status"] in ("scheduled", "raised")
    )


def _finish(course_id: int, on: date) -> IvigError | None:
    try:
        with unit_of_work() as session:
            treatment.infuse(
                session=session,
                course_id=course_id,
                on=on,
                grams=32.8,
                override_reason=None,
                by="nurse",
                clock=CLOCK,
            )
    except IvigError as exc:
        return exc
    return None


def _until_someone_waits_for_a_lock(url: str) -> None:
    """Returns once another PostgreSQL session waits for a lock (bounded by WAIT)."""
    engine = engine_for(url)
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    polled = threading.Event()
    for _ in range(int(WAIT / 0.02)):
        with engine.connect() as conn:
            if conn.execute(query).scalar_one():
                return
        polled.wait(0.02)  # a bounded poll for a state, not a sleep for timing
    raise AssertionError("the second course never waited for the first")


def test_two_courses_finishing_in_two_threads(ivig: Ivig, db_url: str) -> None:
    """The first holds its finished, uncommitted transaction until the second is under
    way (on PostgreSQL: waiting for the first's lock), then commits."""
    first, second = _two_approved_courses(ivig)
    first_done, commit_first = threading.Event(), threading.Event()

    def finish_first_then_hold() -> None:
        with unit_of_work() as session:
            treatment.infuse(
                session=session,
                course_id=first,
                on=date(2026, 10, 2),
                grams=32.8,
                override_reason=None,
                by="nurse",
                clock=CLOCK,
            )
            session.flush()
            first_done.set()
            assert commit_first.wait(WAIT)

    with ThreadPoolExecutor(max_workers=2) as pool:
        held = pool.submit(finish_first_then_hold)
        assert first_done.wait(WAIT)
        other = pool.submit(_finish, second, date(2026, 10, 3))
        if db_url.startswith("postgresql"):
            _until_someone_waits_for_a_lock(db_url)
        commit_first.set()
        held.result(timeout=WAIT)
        result = other.result(timeout=WAIT)  # an internal error (IntegrityError) raises here

    assert result is None, result.message
    for cid in (first, second):
        assert ivig.ok("course", "show", str(cid))["state"] == "monitoring"
    assert _open_patient_followups(ivig) == ["hba1c", "monofilament"]


def test_two_courses_finishing_in_two_processes(ivig: Ivig) -> None:
    first, second = _two_approved_courses(ivig)

    results = run_scripts(
        ["course", "infuse", str(first), "--date", "2026-10-02", "--grams", "32.8"],
        ["course", "infuse", str(second), "--date", "2026-10-03", "--grams", "32.8"],
    )

    assert [r.code for r in results] == [0, 0], [r.err for r in results]
    assert all("internal error" not in r.err for r in results)
    assert _open_patient_followups(ivig) == ["hba1c", "monofilament"]
