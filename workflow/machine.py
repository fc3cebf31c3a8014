"""One ``transitions`` Machine for every course, built once per process.

A single Machine without models, ``auto_transitions=False``, no callbacks or
conditions: what it decides is only "from this state, this trigger leads there".
That answer is read from the Machine's own transitions once, at import
(:data:`MOVES`), and :func:`fire` looks it up. Binding the course as a model for
each operation (``add_model``/``remove_model`` under a lock, the library
maintainer's advice for many models) cost ~80 µs a transition for the same answer;
a Machine per row would cost ~0.5 ms and ~11 KiB each.
"""

from __future__ import annotations

from typing import Any, Protocol

from transitions import Machine

from workflow.errors import TransitionRefused
from workflow.states import TRANSITIONS, CourseState, allowed_sources


class HasState(Protocol):
    id: int
    state: str


def _build() -> Machine:
    table: list[dict[str, Any]] = [
        {
            "trigger": row.trigger,
            "source": list(row.sources),
            "dest": row.dest,  # None: internal transition, the state is kept
        }
        for row in TRANSITIONS
    ]
    return Machine(
        model=None,
        states=list(CourseState),
        transitions=table,
        initial=None,
        auto_transitions=False,
        send_event=False,
    )


def _moves(machine: Machine) -> dict[tuple[str, str], CourseState]:
    """(state, trigger) → the state after, for every transition the Machine holds (an
    internal transition, ``dest`` None, keeps the state)."""
    moves: dict[tuple[str, str], CourseState] = {}
    for trigger, event in machine.events.items():
        for source, rows in event.transitions.items():
            for row in rows:
                after = CourseState[row.dest] if row.dest is not None else CourseState[source]
                moves[(CourseState[source].value, trigger)] = after
    return moves


MACHINE = _build()
#: What the Machine allows: (state, trigger) → the state after. Read-only.
MOVES = _moves(MACHINE)


def _refusal(course: HasState, trigger: str) -> TransitionRefused:
    allowed = ", ".join(s.value for s in allowed_sources(trigger)) or "no state"
    return TransitionRefused(
        f"course {course.id} is {course.state}: '{trigger}' is allowed only from {allowed}."
    )


def require(course: HasState, trigger: str) -> None:
    """Refuses, before any other check, a trigger the table does not allow now."""
    if not may(course, trigger):
        raise _refusal(course, trigger)


def fire(course: HasState, trigger: str) -> tuple[CourseState, CourseState]:
    """Fires ``trigger`` on ``course`` and returns (from, to).

    Raises TransitionRefused, naming the state and what would be allowed, when the
    table does not allow it. The caller's transaction makes it atomic.
    """
    after = MOVES.get((course.state, trigger))
    if after is None:
        raise _refusal(course, trigger)
    before = CourseState(course.state)
    course.state = after.value
    return before, after


def may(course: HasState, trigger: str) -> bool:
    """Whether the table allows ``trigger`` now (decides which actions a page shows)."""
    return CourseState(course.state) in allowed_sources(trigger)
