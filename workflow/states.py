"""The course's states and triggers, declared once, as data.

Everything else (the Machine, the diagram in docs/states.md, the buttons a page
shows, the property-based tests) is derived from ``TRANSITIONS``; which user
action fires which trigger is declared in ``workflow/catalogue.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CourseState(StrEnum):
    REQUESTED = "requested"
    REVIEWED = "reviewed"
    DENIED = "denied"
    INFUSING = "infusing"
    MONITORING = "monitoring"
    RELAPSED = "relapsed"
    RETREATED = "retreated"
    COMPLETED = "completed"
    DISCONTINUED = "discontinued"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


S = CourseState

#: States a course never leaves.
FINAL_STATES: frozenset[CourseState] = frozenset(
    {S.DENIED, S.RETREATED, S.COMPLETED, S.DISCONTINUED, S.CANCELLED, S.EXPIRED}
)

#: States in which the infusions are over and outcomes may be recorded.
AFTER_INFUSIONS: tuple[CourseState, ...] = (
    S.MONITORING,
    S.RELAPSED,
    S.RETREATED,
    S.COMPLETED,
    S.DISCONTINUED,
)


@dataclass(frozen=True)
class Transition:
    """One row of the table. ``dest`` None: the course stays where it is (a record)."""

    trigger: str
    sources: tuple[CourseState, ...]
    dest: CourseState | None
    label: str


TRANSITIONS: tuple[Transition, ...] = (
    Transition("approve", (S.REQUESTED,), S.REVIEWED, "reviewer approves"),
    Transition("deny", (S.REQUESTED,), S.DENIED, "reviewer denies"),
    Transition("ask_information", (S.REQUESTED,), None, "reviewer asks for information"),
    Transition("amend_request", (S.REQUESTED,), None, "requester answers or amends"),
    Transition(
        "correct_requester", (S.REQUESTED,), None, "request attributed to another prescriber"
    ),
    Transition("cancel", (S.REQUESTED, S.REVIEWED), S.CANCELLED, "request withdrawn"),
    Transition("expire", (S.REVIEWED,), S.EXPIRED, "approval lapsed (system)"),
    Transition("infuse", (S.REVIEWED,), S.INFUSING, "first infusion day"),
    Transition("infuse", (S.INFUSING,), None, "another infusion day"),
    Transition(
        "finish_infusions", (S.REVIEWED, S.INFUSING), S.MONITORING, "last planned infusion day"
    ),
    Transition("stop", (S.INFUSING,), S.DISCONTINUED, "infusions stopped early"),
    Transition("assess", AFTER_INFUSIONS, None, "outcome assessment"),
    Transition("adverse_event", (S.INFUSING, *AFTER_INFUSIONS), None, "adverse event recorded"),
    Transition("dismiss_relapse", (S.MONITORING,), None, "suspected relapse dismissed"),
    Transition("relapse", (S.MONITORING,), S.RELAPSED, "relapse confirmed"),
    Transition("retreat", (S.RELAPSED,), S.RETREATED, "re-treatment requested"),
    Transition("close", (S.MONITORING,), S.COMPLETED, "course closed"),
    # Corrections: a voided record stays, marked; the state follows the live records.
    Transition("void_infusion", (S.INFUSING, S.DISCONTINUED), None, "infusion day voided"),
    Transition(
        "reopen_infusions",
        (S.MONITORING,),
        S.INFUSING,
        "a planned day voided before monitoring had consequences",
    ),
    Transition("unstart_infusions", (S.INFUSING, S.MONITORING), S.REVIEWED, "every day voided"),
    Transition("void_assessment", AFTER_INFUSIONS, None, "assessment voided"),
)

#: Pseudo-trigger of the history row that creates a course.
REQUEST_TRIGGER = "request"


def triggers() -> tuple[str, ...]:
    """Every trigger name, in table order, once each."""
    return tuple(dict.fromkeys(t.trigger for t in TRANSITIONS))


def destination(state: CourseState, trigger: str) -> CourseState | None:
    """Where ``trigger`` takes a course in ``state``; None when the table does not allow it.

    A record that keeps the state returns ``state`` itself.
    """
    for row in TRANSITIONS:
        if row.trigger == trigger and state in row.sources:
            return row.dest or state
    return None


def allowed_triggers(state: CourseState) -> tuple[str, ...]:
    """Triggers the table allows from ``state`` (what a page may offer)."""
    return tuple(dict.fromkeys(t.trigger for t in TRANSITIONS if state in t.sources))


def allowed_sources(trigger: str) -> tuple[CourseState, ...]:
    return tuple(dict.fromkeys(s for t in TRANSITIONS if t.trigger == trigger for s in t.sources))
