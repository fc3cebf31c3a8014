"""The follow-up plan, as data, each kind with the guidance statement it rests on.

Due dates count from the last infusion date L of the course. "+N months" are
calendar months clamped to the month's end (dateutil's relativedelta does this:
2026-01-31 + 1 month = 2026-02-28), as the contract requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from dateutil.relativedelta import relativedelta

#: An assessment or measurement completes open follow-ups due up to this many days after it.
COMPLETION_WINDOW_DAYS = 7
#: A raised follow-up still open this many days after its due date is escalated once.
ESCALATION_AFTER_DAYS = 7


class Level(StrEnum):
    COURSE = "course"  # belongs to one course; cancelled with it
    PATIENT = "patient"  # belongs to the patient; at most one open per kind


class Status(StrEnum):
    SCHEDULED = "scheduled"
    RAISED = "raised"
    DONE = "done"
    CANCELLED = "cancelled"


OPEN_STATUSES = (Status.SCHEDULED.value, Status.RAISED.value)


@dataclass(frozen=True)
class FollowUpKind:
    kind: str
    level: Level
    first_due: relativedelta  # after the last infusion date
    repeat_every: relativedelta | None  # after the measurement that completes it
    completed_by: frozenset[str]  # fields the assessment/measurement must carry
    diabetes_only: bool
    what: str
    source: str
    # Not part of the monitoring plan: made only for a course stopped after an adverse
    # event, for a patient at risk (the policy's ``safety.followup``).
    safety_only: bool = False


PLAN: tuple[FollowUpKind, ...] = (
    FollowUpKind(
        kind="reassess_2w",
        level=Level.COURSE,
        first_due=relativedelta(days=14),
        repeat_every=None,
        completed_by=frozenset({"vas"}),
        diabetes_only=False,
        what="pain VAS two weeks after the course",
        source="seed 003, 'Monitoring Strategy Post-Treatment': pain is re-scored on the "
        "VAS at 2 weeks and at 1 month after IVIG",
    ),
    FollowUpKind(
        kind="reassess_1m",
        level=Level.COURSE,
        first_due=relativedelta(months=1),
        repeat_every=None,
        completed_by=frozenset({"vas", "mrc_sum", "walking_distance_m"}),
        diabetes_only=False,
        what="pain VAS, MRC strength sum and walking distance one month after the course",
        source="seed 003, 'Monitoring Strategy Post-Treatment': VAS at 1 month, and motor "
        "function (MRC scale, walking distance) evaluated at 1 month",
    ),
    FollowUpKind(
        kind="hba1c",
        level=Level.PATIENT,
        first_due=relativedelta(months=3),
        repeat_every=relativedelta(months=3),
        completed_by=frozenset({"hba1c_percent"}),
        diabetes_only=True,
        what="HbA1c every three months",
        source="seed 003, 'Monitoring Strategy Post-Treatment': HbA1c is checked every 3 months",
    ),
    FollowUpKind(
        kind="monofilament",
        level=Level.PATIENT,
        first_due=relativedelta(months=12),
        repeat_every=relativedelta(months=12),
        completed_by=frozenset({"monofilament_sites_felt"}),
        diabetes_only=True,
        what="10-g monofilament foot test every year",
        source="seed 003, 'Monitoring Strategy Post-Treatment': a 10-g monofilament test "
        "each year finds feet at risk of ulceration",
    ),
    FollowUpKind(
        kind="renal_check",
        level=Level.PATIENT,
        first_due=relativedelta(days=7),  # the policy's safety.followup may say otherwise
        repeat_every=None,
        completed_by=frozenset({"creatinine_clearance_ml_min"}),
        diabetes_only=False,
        what="renal function (creatinine clearance) after a course stopped for an adverse "
        "event, for a patient at renal risk",
        source="seed 003, 'Step 2: Repeat IVIG Therapy': renal dysfunction is one of the "
        "adverse effects of IVIG to monitor for",
        safety_only=True,
    ),
)

BY_KIND: dict[str, FollowUpKind] = {k.kind: k for k in PLAN}
KINDS: tuple[str, ...] = tuple(BY_KIND)


def plan_for(*, has_diabetes: bool) -> tuple[FollowUpKind, ...]:
    """The kinds a course's entry into monitoring calls for."""
    return tuple(k for k in PLAN if not k.safety_only and (has_diabetes or not k.diabetes_only))


def first_due_date(kind: FollowUpKind, last_infusion: date) -> date:
    return last_infusion + kind.first_due


def next_due_date(kind: FollowUpKind, measured_on: date) -> date | None:
    """The next due date after a measurement completes ``kind``; None if it does not recur."""
    return None if kind.repeat_every is None else measured_on + kind.repeat_every


def satisfied_kinds(fields: set[str], level: Level) -> tuple[FollowUpKind, ...]:
    """Kinds of ``level`` that a record carrying ``fields`` completes."""
    return tuple(k for k in PLAN if k.level is level and k.completed_by <= fields)


#: Where an item sits on the coordinator's worklist, in the order it is shown.
WORKLIST_GROUPS = ("overdue", "due today", "upcoming", "closed")


def worklist_group(status: str, due_date: date, today: date) -> str:
    """Overdue, due today, upcoming (open items) or closed (done or cancelled)."""
    if status not in OPEN_STATUSES:
        return "closed"
    if due_date < today:
        return "overdue"
    return "due today" if due_date == today else "upcoming"
