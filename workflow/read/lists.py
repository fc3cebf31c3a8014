"""Read-only views the worklist page and the patient list need beside ``workflow.read.queries``.

The worklist is composed from the same queries ``course list`` and ``followups
list`` use; the patient list and measurements are plain reads with no rule in them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.models import Patient
from workflow.paging import Page
from workflow.read import queries
from workflow.read.worklist import next_due
from workflow.review import load_policy
from workflow.schemas import CourseSummary, FollowUpRead, PatientRead
from workflow.service import notices, selfreport


def list_patients(
    *, session: Session, search: str | None = None, limit: int = 200, offset: int = 0
) -> list[PatientRead]:
    """Patients by MRN; ``search`` matches the start of the MRN or part of the name."""
    return queries.list_patients(session=session, search=search, limit=limit, offset=offset)


#: Rows each worklist section shows at a time, unless the caller says otherwise.
PAGE_SIZE = 50

#: The worklist's lists, each paged on its own (the page's cursor parameters).
SECTIONS = ("followups", "reviews", "information", "relapses", "lapsing", "approved")


@dataclass(frozen=True)
class Worklist:
    """What a coordinator or reviewer has to act on: every section one page of its rows
    and the total it has."""

    pending_reviews: Page[CourseSummary]
    awaiting_information: Page[CourseSummary]
    suspected_relapses: Page[CourseSummary]
    approved: Page[CourseSummary]
    followups: Page[FollowUpRead]  # soonest due first
    due_by: date
    #: MRN -> name of the patients on this page of follow-ups.
    names: dict[str, str] = field(default_factory=dict)
    review_deadline: str = ""
    # Approved courses not yet infused whose approval lapses within the policy's days.
    lapsing_approvals: Page[LapsingApproval] = field(
        default_factory=lambda: Page([], 0, 0, PAGE_SIZE)
    )

    @property
    def followups_total(self) -> int:
        return self.followups.total


@dataclass(frozen=True)
class LapsingApproval:
    course_id: int
    mrn: str
    approved_on: date
    valid_until: date
    days_left: int
    name: str = ""


def lapsing_approvals(
    *,
    session: Session,
    today: date,
    mrn: str | None = None,
    offset: int = 0,
    size: int | None = None,
) -> Page[LapsingApproval]:
    """Approvals lapsing within the policy's warning days, soonest first, a page at a
    time: the courses approved in a window of days and not yet infused. Patients are
    read for the rows shown only, in one query."""
    from workflow.review import load_policy
    from workflow.service.common import patient_by_mrn
    from workflow.service.safety import lapsing_soon

    size = size or PAGE_SIZE
    rows = lapsing_soon(session, today=today, policy=load_policy())
    if mrn is not None:
        wanted = patient_by_mrn(session, mrn).id
        rows = [(course, until) for course, until in rows if course.patient_id == wanted]
    shown = rows[offset : offset + size]
    ids = {course.patient_id for course, _ in shown}
    who = (
        {
            pid: (m, name)
            for pid, m, name in session.execute(
                select(Patient.id, Patient.mrn, Patient.name).where(Patient.id.in_(ids))
            )
        }
        if ids
        else {}
    )
    found = [
        LapsingApproval(
            course_id=course.id,
            mrn=who[course.patient_id][0],
            approved_on=course.approved_on or until,
            valid_until=until,
            days_left=(until - today).days,
            name=who[course.patient_id][1],
        )
        for course, until in shown
    ]
    return Page(found, len(rows), offset, size)


def _section(
    session: Session, mrn: str | None, offset: int, size: int, **filters: Any
) -> Page[CourseSummary]:
    rows = queries.list_courses(session=session, mrn=mrn, limit=size, offset=offset, **filters)
    return Page(rows, queries.count_courses(session=session, mrn=mrn, **filters), offset, size)


def _followups(
    session: Session,
    *,
    today: date,
    before: date,
    mrn: str | None,
    kind: str | None,
    offset: int,
    size: int,
) -> Page[FollowUpRead]:
    total = queries.count_open_followups(session=session, due_before=before, mrn=mrn, kind=kind)
    if mrn is None and kind is None and offset == 0:  # the programme's first page: the index
        due = next_due(session=session, today=today, limit=size, due_before=before)
        rows = [row.followup for row in due]
        selfreport.annotate(session, rows, today=today)
        return Page(rows, total, offset, size)
    rows = queries.list_followups(
        session=session,
        mrn=mrn,
        kind=kind,
        due_before=before,
        today=today,
        open_only=True,
        limit=size,
        offset=offset,
    )
    return Page(rows, total, offset, size)


def worklist(
    *,
    session: Session,
    today: date,
    due_by: date | None = None,
    mrn: str | None = None,
    kind: str | None = None,
    offsets: Mapping[str, int] | None = None,
    size: int | None = None,
) -> Worklist:
    """Pending reviews, requests awaiting information, suspected relapses, approved
    courses waiting for infusions, approvals lapsing soon, and the open follow-ups due by
    ``due_by`` (default today). Every section is filtered and paged in SQL, with its
    total: a national programme has thousands of requests and tens of thousands of open
    follow-ups. ``offsets``: where each section's page starts (by ``SECTIONS`` name, 0
    when absent); ``size``: rows a page (default ``PAGE_SIZE``)."""
    at = {name: (offsets or {}).get(name, 0) for name in SECTIONS}
    size = size or PAGE_SIZE
    until = due_by or today
    before = until + timedelta(days=1)
    followups = _followups(
        session, today=today, before=before, mrn=mrn, kind=kind, offset=at["followups"], size=size
    )
    deadline = load_policy().review.deadline_working_days
    return Worklist(
        pending_reviews=_waiting(
            session,
            _section(session, mrn, at["reviews"], size, state="requested", awaiting=False),
            today=today,
            deadline=deadline,
        ),
        awaiting_information=_section(
            session, mrn, at["information"], size, state="requested", awaiting=True
        ),
        # Only courses in monitoring carry the flag (relapse, dismissal and closing clear
        # it), so no state filter: the partial index on flagged courses answers it.
        suspected_relapses=_section(session, mrn, at["relapses"], size, suspected=True),
        approved=_section(session, mrn, at["approved"], size, state=("reviewed", "infusing")),
        followups=followups,
        due_by=until,
        names=_names(session, {f.mrn for f in followups.rows}),
        review_deadline=f"{deadline} working days",
        lapsing_approvals=lapsing_approvals(
            session=session, today=today, mrn=mrn, offset=at["lapsing"], size=size
        ),
    )


def _names(session: Session, mrns: set[str]) -> dict[str, str]:
    if not mrns:
        return {}
    rows = session.execute(select(Patient.mrn, Patient.name).where(Patient.mrn.in_(mrns)))
    return {mrn: name for mrn, name in rows}


def _waiting(
    session: Session, section: Page[CourseSummary], *, today: date, deadline: int
) -> Page[CourseSummary]:
    """Pending reviews with the working days each has waited (since the request, or
    since the requester's last answer to a question)."""
    answered = notices.waiting_since(session, [c.id for c in section.rows])
    rows = []
    for c in section.rows:
        start = c.requested_on or c.requested_at.date()
        since = max(start, answered.get(c.id, start))
        days = notices.working_days_between(since, today)
        rows.append(
            c.model_copy(update={"waiting_working_days": days, "waiting_overdue": days > deadline})
        )
    return Page(rows, section.total, section.offset, section.limit)
