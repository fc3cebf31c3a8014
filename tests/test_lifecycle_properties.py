"""Random sequences of use-cases through the real services and database: a course only
ever takes the table's transitions, every accepted change writes exactly one history
row, and every refused one writes nothing at all."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select

from tests.factories import request_doc
from workflow.clock import FixedClock
from workflow.db import transaction
from workflow.errors import IvigError
from workflow.models import Base, Course, Event, FollowUp
from workflow.review import load_policy
from workflow.schemas import CourseRequestIn, PatientIn
from workflow.service import courses, monitoring, patients, treatment
from workflow.states import TRANSITIONS, CourseState

#: Slow (hypothesis drives dozens of whole lifecycles): outside ``pytest -m "not slow"``.
pytestmark = pytest.mark.slow

CLOCK = FixedClock(datetime(2026, 11, 20, 15, tzinfo=UTC))
POLICY = load_policy("default")
ALLOWED_EDGES = {(s.value, (t.dest or s).value) for t in TRANSITIONS for s in t.sources}
OPS = ["approve", "deny", "info", "amend", "cancel", "infuse", "stop", "assess", "relapse",
       "retreat", "close"]  # fmt: skip


def _apply(session, op: str, course_id: int, step: int) -> None:  # type: ignore[no-untyped-def]
    on = date(2026, 9, 1) + timedelta(days=step)
    common = {"session": session, "course_id": course_id, "by": "prop", "clock": CLOCK}
    data = CourseRequestIn.model_validate(request_doc())
    if op in ("approve", "deny", "info"):
        courses.review(**common, decision=op, reviewer="dr.other", note="n", override_reason="o")
    elif op == "amend":
        courses.amend(**common, data=data, note="answer", policy=POLICY)
    elif op == "cancel":
        courses.cancel(**common, reason="withdrawn")
    elif op == "infuse":
        treatment.infuse(**common, on=on, grams=32.8, override_reason=None)
    elif op == "stop":
        treatment.stop(**common, on=on, reason="reaction")
    elif op == "assess":
        monitoring.assess(**common, on=on, vas=3, mrc_sum=50, walking_distance_m=200, policy=POLICY)
    elif op == "relapse":
        monitoring.relapse(**common, on=on, note=None)
    elif op == "retreat":
        courses.retreat(**common, data=data, policy=POLICY)
    elif op == "close":
        monitoring.close(**common, on=on)


def _snapshot(engine, course_id: int) -> tuple[str, int, int]:  # type: ignore[no-untyped-def]
    with transaction(engine) as s:
        course = s.get_one(Course, course_id)
        events = s.scalar(
            select(func.count()).select_from(Event).where(Event.course_id == course_id)
        )
        followups = s.scalar(select(func.count()).select_from(FollowUp))
        return course.state, int(events or 0), int(followups or 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(OPS), min_size=1, max_size=14))
def test_random_use_cases_follow_the_table_and_always_leave_history(ops: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'p.db'}")
        Base.metadata.create_all(engine)
        with transaction(engine) as s:
            patient = PatientIn(mrn="M1", name="P", birth_date=date(1960, 1, 1), sex="female",
                                weight_kg=82, diabetes="type2")  # fmt: skip
            patients.add_patient(session=s, data=patient, by="prop", clock=CLOCK)
            data = CourseRequestIn.model_validate(request_doc())
            course_id = courses.request_course(
                session=s, data=data, by="prop", clock=CLOCK, policy=POLICY
            ).id
        for step, op in enumerate(ops):
            before = _snapshot(engine, course_id)
            try:
                with transaction(engine) as s:
                    _apply(s, op, course_id, step)
            except IvigError:
                assert _snapshot(engine, course_id) == before  # refused: nothing written
                continue
            state, events, _ = _snapshot(engine, course_id)
            assert events == before[1] + 1, op  # exactly one history row
            assert (before[0], state) in ALLOWED_EDGES, (op, before[0], state)
        with transaction(engine) as s:
            rows = s.scalars(select(Event).where(Event.course_id == course_id)).all()
            assert rows[0].to_state == CourseState.REQUESTED
            for earlier, later in zip(rows, rows[1:], strict=False):
                assert later.from_state == earlier.to_state  # an unbroken chain
        engine.dispose()
