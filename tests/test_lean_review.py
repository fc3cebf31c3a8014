"""A review is written without the unit of work, decision first: what a user would
notice stays as it was. A refused review leaves the course exactly as it was (the
decision written before the rules refused is rolled back), a course the caller
already holds reads as the review left it, and a review sends no more statements
than its four writes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from tests.conftest import Ivig, fixed_now
from tests.factories import register, request
from workflow.clock import FixedClock
from workflow.db import engine_for, transaction
from workflow.errors import IvigError
from workflow.models import Course, Event, Reminder, Review
from workflow.service import courses

CLOCK = FixedClock(fixed_now())


def _review(session: Any, course_id: int, **overrides: Any) -> int:
    arguments: dict[str, Any] = {
        "decision": "approve",
        "reviewer": "dr.reviewer",
        "note": "meets the guidance",
        "override_reason": "reviewed case",
        "by": "dr.reviewer",
        "clock": CLOCK,
        **overrides,
    }
    return courses.review(session=session, course_id=course_id, **arguments)


def _written(url: str, course_id: int) -> tuple[Any, ...]:
    with transaction(engine_for(url), read_only=True) as s:
        course = s.get_one(Course, course_id)
        counts = tuple(
            len(s.scalars(select(model.id).where(model.course_id == course_id)).all())
            for model in (Event, Review, Reminder)
        )
        return (course.state, course.version, course.updated_at, course.approved_on, *counts)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reviewer": "Dr. Requester"}, "reviewer"),  # the requester reviews their own
        ({"version": 7}, "version"),  # the course is not the version the reviewer saw
        ({"override_reason": None}, "override-reason"),  # not supported, no override
        ({"delegated": True}, "authorization"),
    ],
)
def test_a_refused_review_leaves_the_course_as_it_was(
    ivig: Ivig, db_url: str, overrides: dict[str, Any], field: str
) -> None:
    register(ivig, "M1")
    # Not supported (an indication outside the programme): approving it needs an override.
    course = request(
        ivig, "M1", requested_by="Dr. Requester", indication="diabetic_symmetric_polyneuropathy"
    )
    assert course["recommendation"]["outcome"] == "not_supported"
    before = _written(db_url, course["id"])

    with pytest.raises(IvigError) as refused:
        with transaction(engine_for(db_url)) as s:
            _review(s, course["id"], **overrides)

    assert refused.value.message.startswith(f"{field}:")
    assert refused.value.exit_code == 1
    assert _written(db_url, course["id"]) == before


def test_a_course_the_session_holds_reads_as_the_review_left_it(ivig: Ivig, db_url: str) -> None:
    register(ivig, "M1")
    course_id = request(ivig, "M1")["id"]
    with transaction(engine_for(db_url)) as s:
        held = s.get_one(Course, course_id)
        assert (held.state, held.version) == ("requested", 1)
        _review(s, course_id)
        assert (held.state, held.version, held.approved_on) == ("reviewed", 2, CLOCK.today())


def test_a_review_sends_its_four_writes_and_nothing_more(ivig: Ivig, db_url: str) -> None:
    register(ivig, "M1")
    course_id = request(ivig, "M1")["id"]
    engine = engine_for(db_url)
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith(("BEGIN", "PRAGMA", "SELECT 1")):
            sent.append(" ".join(statement.split()[:3]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        with transaction(engine) as s:
            _review(s, course_id)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert sent == [
        "UPDATE courses SET",
        "INSERT INTO events",
        "INSERT INTO reviews",
        "INSERT INTO reminders",
    ]


class _Ticking(FixedClock):
    """A clock that moves a second every time it is read (a real clock moves too)."""

    def now(self) -> Any:
        self.instant = self.instant + timedelta(seconds=1)
        return super().now()


def test_a_review_is_one_instant_in_its_history_review_and_course(ivig: Ivig, db_url: str) -> None:
    register(ivig, "M1")
    course_id = request(ivig, "M1")["id"]
    with transaction(engine_for(db_url)) as s:
        _review(s, course_id, clock=_Ticking(fixed_now()))
    with transaction(engine_for(db_url), read_only=True) as s:
        decided = s.scalars(
            select(Event.at).where(Event.course_id == course_id, Event.trigger == "approve")
        ).one()
        reviewed = s.scalars(select(Review.at).where(Review.course_id == course_id)).one()
        updated = s.get_one(Course, course_id).updated_at
    assert decided == reviewed == updated
