"""The worklist's first page: the next open follow-ups by due date, with their patient
and course, read through the existing ``(status, due_date)`` index.

``list_followups`` returns every matching row (what ``followups list`` prints), which
is right for a command but not for a page over 1.5 million follow-ups. Here the open
statuses are read one arm each, every arm an index range scan in ``(due_date, id)``
order stopped after ``limit`` rows, and only those few rows are merged, sorted and
joined. A single ``status IN ('scheduled', 'raised') ORDER BY due_date`` would instead
sort every open row before taking the first page.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, bindparam, select, true, union_all
from sqlalchemy.orm import Session

from workflow.errors import InvalidInput
from workflow.followups import OPEN_STATUSES
from workflow.models import Course, FollowUp, Patient
from workflow.read.queries import read
from workflow.schemas import FollowUpRead

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class DueFollowUp:
    """One worklist row: the follow-up as ``followups list`` shows it, and its course."""

    followup: FollowUpRead
    course_state: str | None
    indication: str | None


_COLUMNS = (
    FollowUp.id,
    FollowUp.due_date,
    FollowUp.kind,
    FollowUp.course_id,
    FollowUp.status,
    FollowUp.patient_id,
)


@functools.lru_cache(maxsize=8)
def _page(limit: int, bounded: bool) -> Select[int, date, str, int | None, str, str, str, str]:
    """The first ``limit`` open follow-ups by (due_date, id), with MRN and course.

    Each arm reads its rows' columns straight from the index range scan, so the
    follow-ups table is never joined back; patients and courses are looked up by
    primary key for the ``limit`` rows only. ``bounded``: only rows due before the
    ``due_before`` parameter. Built once per shape: composing the statement costs more
    than running it.
    """
    arms = [
        select(*_COLUMNS)
        .where(FollowUp.status == status)
        .where(FollowUp.due_date < bindparam("due_before") if bounded else true())
        .order_by(FollowUp.due_date, FollowUp.id)
        .limit(limit)
        .subquery(f"arm_{n}")
        for n, status in enumerate(OPEN_STATUSES)
    ]
    due = union_all(*(select(*arm.c) for arm in arms)).subquery("due")
    first = select(*due.c).order_by(due.c.due_date, due.c.id).limit(limit).subquery("page")
    return (
        select(
            first.c.id,
            first.c.due_date,
            first.c.kind,
            first.c.course_id,
            first.c.status,
            Patient.mrn,
            Course.state,
            Course.indication,
        )
        .join(Patient, Patient.id == first.c.patient_id)
        .outerjoin(Course, Course.id == first.c.course_id)
        .order_by(first.c.due_date, first.c.id)
    )


def next_due(
    *,
    session: Session,
    today: date | None = None,
    limit: int = DEFAULT_LIMIT,
    due_before: date | None = None,
) -> list[DueFollowUp]:
    """The ``limit`` open follow-ups due soonest (overdue first), joined to patient and
    course; ``due_before``: only those due before that date."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: {limit} is not between 1 and {MAX_LIMIT}.")
    return [
        DueFollowUp(
            read(
                FollowUpRead,
                row,
                days_overdue=None if today is None else max((today - row.due_date).days, 0),
            ),
            row.state,
            row.indication,
        )
        for row in session.execute(_page(limit, due_before is not None), {"due_before": due_before})
    ]
