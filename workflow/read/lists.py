"""Read-only views the worklist page and the patient list need beside ``workflow.read.queries``.

The worklist is composed from the same queries ``course list`` and ``followups
list`` use; the patient list and measurements are plain reads with no rule in them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.models import Patient
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


#: Rows each worklist section shows; filters narrow the rest, and the totals are said.
PAGE_SIZE = 100


@dataclass(frozen=True)
class Section:
    """The first ``PAGE_SIZE`` rows of one worklist section, and how many there are."""

    rows: list[CourseSummary]
    total: int


@dataclass(frozen=True)
class Worklist:
    """What a coordinator or reviewer has to act on."""

    pending_reviews: Section
    awaiting_information: Section
    suspected_relapses: Section
    approved: Section
    followups: list[FollowUpRead]  # the first PAGE_SIZE, soonest due first
    followups_total: int
    due_by: date
    #: MRN -> name of the patients on this page of follow-ups.
    names: dict[str, str] = field(default_factory=dict)
    review_deadline: str = ""
    # Approved courses not yet infused whose approval lapses within the policy's days.
    lapsing_approvals: list[LapsingApproval] = field(default_factory=list)


@dataclass(frozen=True)
class LapsingApproval:
    course_id: int
    mrn: str
    approved_on: date
    valid_until: date
    days_left: int


def lapsing_approvals(
    *, session: Session, today: date, mrn: str | None = None
) -> list[LapsingApproval]:
    """Approvals lapsing within the policy's warning days, soonest first."""
    from workflow.review import load_policy
    from workflow.service.safety import lapsing_soon

    rows = lapsing_soon(session, today=today, policy=load_policy())
    found = [
        LapsingApproval(
            course_id=course.id,
            mrn=course.patient.mrn,
            approved_on=course.approved_on or until,
            valid_until=until,
            days_left=(until - today).days,
        )
        for course, until in rows[:PAGE_SIZE]
    ]
    return [row for row in found if mrn is None or row.mrn.casefold() == mrn.casefold()]


def _section(session: Session, mrn: str | None, **filters: Any) -> Section:
    return Section(
        rows=queries.list_courses(session=session, mrn=mrn, limit=PAGE_SIZE, **filters),
        total=queries.count_courses(session=session, mrn=mrn, **filters),
    )


def _first_followups(
    session: Session, *, today: date, before: date, mrn: str | None, kind: str | None
) -> list[FollowUpRead]:
    if mrn is None and kind is None:  # the whole programme: index-ordered, no sort
        page = next_due(session=session, today=today, limit=PAGE_SIZE, due_before=before)
        rows = [row.followup for row in page]
        selfreport.annotate(session, rows, today=today)
        return rows
    return queries.list_followups(
        session=session,
        mrn=mrn,
        kind=kind,
        due_before=before,
        today=today,
        open_only=True,
        limit=PAGE_SIZE,
    )


def worklist(
    *,
    session: Session,
    today: date,
    due_by: date | None = None,
    mrn: str | None = None,
    kind: str | None = None,
) -> Worklist:
    """Pending reviews, requests awaiting information, suspected relapses, approved
    courses waiting for infusions, and the open follow-ups due by ``due_by`` (default
    today). Every section is filtered and bounded in SQL, with its total: a national
    programme has thousands of requests and tens of thousands of open follow-ups."""
    until = due_by or today
    before = until + timedelta(days=1)
    approved = [_section(session, mrn, state=state) for state in ("reviewed", "infusing")]
    followups = _first_followups(session, today=today, before=before, mrn=mrn, kind=kind)
    deadline = load_policy().review.deadline_working_days
    return Worklist(
        pending_reviews=_waiting(
            session,
            _section(session, mrn, state="requested", awaiting=False),
            today=today,
            deadline=deadline,
        ),
        awaiting_information=_section(session, mrn, state="requested", awaiting=True),
        # Only courses in monitoring carry the flag (relapse, dismissal and closing clear
        # it), so no state filter: the partial index on flagged courses answers it.
        suspected_relapses=_section(session, mrn, suspected=True),
        approved=Section(
            rows=sorted((c for a in approved for c in a.rows), key=lambda c: c.id),
            total=sum(a.total for a in approved),
        ),
        followups=followups,
        followups_total=queries.count_open_followups(
            session=session, due_before=before, mrn=mrn, kind=kind
        ),
        due_by=until,
        names=_names(session, {f.mrn for f in followups}),
        review_deadline=f"{deadline} working days",
        lapsing_approvals=lapsing_approvals(session=session, today=today, mrn=mrn),
    )


def _names(session: Session, mrns: set[str]) -> dict[str, str]:
    if not mrns:
        return {}
    rows = session.execute(select(Patient.mrn, Patient.name).where(Patient.mrn.in_(mrns)))
    return {mrn: name for mrn, name in rows}


def _waiting(session: Session, section: Section, *, today: date, deadline: int) -> Section:
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
    return Section(rows=rows, total=section.total)
