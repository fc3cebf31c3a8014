"""The transition table is the single source of truth for what a course may do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.diagram import document
from workflow.errors import TransitionRefused
from workflow.machine import MACHINE, fire, may
from workflow.states import FINAL_STATES, TRANSITIONS, CourseState, destination, triggers

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class FakeCourse:
    id: int
    state: str


PAIRS = [(state, trigger) for state in CourseState for trigger in triggers()]


@pytest.mark.parametrize(("state", "trigger"), PAIRS, ids=[f"{s.value}-{t}" for s, t in PAIRS])
def test_every_state_and_trigger_does_what_the_table_says(state: CourseState, trigger: str) -> None:
    course = FakeCourse(1, state.value)
    expected = destination(state, trigger)
    if expected is None:
        with pytest.raises(TransitionRefused, match=trigger):
            fire(course, trigger)
        assert course.state == state.value
        assert not may(course, trigger)
    else:
        assert fire(course, trigger) == (state, expected)
        assert course.state == expected.value
        assert may(FakeCourse(1, state.value), trigger)


def test_final_states_allow_no_state_change() -> None:
    for row in TRANSITIONS:
        if row.dest is not None:
            assert not FINAL_STATES.intersection(row.sources), row


def test_one_machine_holds_no_course_after_an_operation() -> None:
    fire(FakeCourse(1, "requested"), "approve")
    with pytest.raises(TransitionRefused):
        fire(FakeCourse(2, "denied"), "approve")
    assert MACHINE.models == []


@given(st.lists(st.sampled_from(triggers()), max_size=30))
def test_random_trigger_sequences_only_follow_the_table(sequence: list[str]) -> None:
    course = FakeCourse(1, CourseState.REQUESTED.value)
    for trigger in sequence:
        before = CourseState(course.state)
        allowed = destination(before, trigger)
        try:
            fire(course, trigger)
        except TransitionRefused:
            assert allowed is None
            assert course.state == before.value
        else:
            assert allowed is not None
            assert course.state == allowed.value


def test_docs_state_diagram_is_up_to_date() -> None:
    on_disk = (ROOT / "docs" / "states.md").read_text(encoding="utf-8")
    assert on_disk == document(), "run: python scripts/gen_state_diagram.py"
