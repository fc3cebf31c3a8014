"""One ``transitions`` Machine for every course, bound only for one operation.

Following the library maintainer's advice: a single Machine without models,
``auto_transitions=False``, ``add_model(..., initial=<stored state>)`` and
``remove_model`` in a ``finally``. A Machine per row would cost ~0.5 ms and
~11 KiB each.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from transitions import Machine, MachineError

from workflow.errors import TransitionRefused
from workflow.states import TRANSITIONS, CourseState, allowed_sources


class HasState(Protocol):
    id: int
    state: str


class _Binding:
    """What the Machine drives: writes through to the course's ``state`` column."""

    def __init__(self, course: HasState) -> None:
        self._course = course

    @property
    def state(self) -> CourseState:
        return CourseState(self._course.state)

    @state.setter
    def state(self, value: CourseState) -> None:
        self._course.state = CourseState(value).value


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


MACHINE = _build()
# add_model/remove_model mutate the Machine's model list; the web app runs threads.
_LOCK = threading.Lock()


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
    binding = _Binding(course)
    before = binding.state
    with _LOCK:
        MACHINE.add_model(binding, initial=before)
        try:
            getattr(binding, trigger)()
        except (MachineError, AttributeError):
            raise _refusal(course, trigger) from None
        finally:
            MACHINE.remove_model(binding)
    return before, binding.state


def may(course: HasState, trigger: str) -> bool:
    """Whether the table allows ``trigger`` now (decides which actions a page shows)."""
    return CourseState(course.state) in allowed_sources(trigger)
