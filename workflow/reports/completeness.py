"""Outcome completeness: how many due reassessments were actually recorded.

A reassessment (``reassess_2w``, ``reassess_1m``) is *due* by ``as_of`` when its due
date is on or before it and it was not cancelled (its course closed or stopped);
it is *recorded* when an assessment completed it on or before ``as_of``. The
coordinator is whoever recorded the course's request (its ``request`` history row).

Recorded reassessments are split by who gave the values: ``by_patient`` (completed by
an assessment the patient reported on the self-report form) and ``by_clinician``
(entered by staff). A missing one the patient has answered (the 1-month review also
needs an MRC sum, which only a clinician can take) says so: ``answered_by_patient``.

Two set-based queries: one aggregate per coordinator, one list of the missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from workflow.followups import Status
from workflow.models import Assessment, Event, FollowUp, Invitation, Patient
from workflow.states import REQUEST_TRIGGER

REASSESSMENT_KINDS: tuple[str, ...] = ("reassess_2w", "reassess_1m")


@dataclass(frozen=True)
class Tally:
    due: int
    recorded: int
    by_patient: int = 0

    @property
    def by_clinician(self) -> int:
        return self.recorded - self.by_patient

    @property
    def missing(self) -> int:
        return self.due - self.recorded

    @property
    def completeness(self) -> float | None:
        return self.recorded / self.due if self.due else None

    def as_json(self) -> dict[str, Any]:
        share = self.completeness
        return {
            "due": self.due,
            "recorded": self.recorded,
            "recorded_by_patient": self.by_patient,
            "recorded_by_clinician": self.by_clinician,
            "missing": self.missing,
            "completeness": None if share is None else round(share, 4),
        }


@dataclass(frozen=True)
class Missing:
    followup_id: int
    course_id: int
    mrn: str
    kind: str
    due_date: date
    days_overdue: int
    coordinator: str
    answered_by_patient: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "followup_id": self.followup_id,
            "course_id": self.course_id,
            "mrn": self.mrn,
            "kind": self.kind,
            "due_date": self.due_date.isoformat(),
            "days_overdue": self.days_overdue,
            "coordinator": self.coordinator,
            "answered_by_patient": self.answered_by_patient,
        }


@dataclass(frozen=True)
class CompletenessReport:
    as_of: date
    overall: Tally
    by_coordinator: dict[str, Tally]
    missing: list[Missing] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            **self.overall.as_json(),
            "by_coordinator": {name: t.as_json() for name, t in self.by_coordinator.items()},
            "missing_reassessments": [m.as_json() for m in self.missing],
        }


def _requesters() -> Any:
    # min() only makes the row unique should a course ever carry two request rows.
    return (
        select(Event.course_id, func.min(Event.actor).label("coordinator"))
        .where(Event.trigger == REQUEST_TRIGGER, Event.course_id.is_not(None))
        .group_by(Event.course_id)
        .subquery()
    )


def _due(as_of: date) -> ColumnElement[bool]:
    return and_(
        FollowUp.kind.in_(REASSESSMENT_KINDS),
        FollowUp.course_id.is_not(None),
        FollowUp.due_date <= as_of,
        FollowUp.status != Status.CANCELLED.value,
    )


def _recorded(as_of: date) -> ColumnElement[bool]:
    return and_(FollowUp.status == Status.DONE.value, FollowUp.completed_on <= as_of)


def _by_patient() -> ColumnElement[bool]:
    """Completed by an assessment the patient reported (``completed_by`` names it)."""
    ref = literal("assessment:") + cast(Assessment.id, String)
    return (
        select(Assessment.id)
        .where(Assessment.source == "patient", ref == FollowUp.completed_by)
        .exists()
    )


def _answered() -> ColumnElement[bool]:
    """The patient answered this follow-up's invitation."""
    return (
        select(Invitation.id)
        .where(Invitation.followup_id == FollowUp.id, Invitation.used_at.is_not(None))
        .exists()
    )


def completeness_report(session: Session, as_of: date) -> CompletenessReport:
    requesters = _requesters()
    coordinator = func.coalesce(requesters.c.coordinator, "unknown")
    recorded = _recorded(as_of)
    tallies = session.execute(
        select(
            coordinator,
            func.count(),
            func.sum(case((recorded, 1), else_=0)),
            func.sum(case((and_(recorded, _by_patient()), 1), else_=0)),
        )
        .select_from(FollowUp)
        .outerjoin(requesters, requesters.c.course_id == FollowUp.course_id)
        .where(_due(as_of))
        .group_by(coordinator)
    ).all()
    by_coordinator = {
        str(name): Tally(int(due), int(done or 0), int(patient or 0))
        for name, due, done, patient in sorted(tallies)
    }
    missing_rows = session.execute(
        select(
            FollowUp.id,
            FollowUp.course_id,
            Patient.mrn,
            FollowUp.kind,
            FollowUp.due_date,
            coordinator,
            _answered(),
        )
        .join(Patient, Patient.id == FollowUp.patient_id)
        .outerjoin(requesters, requesters.c.course_id == FollowUp.course_id)
        .where(_due(as_of), ~recorded)
        .order_by(FollowUp.due_date, FollowUp.id)
    ).all()
    missing = [
        Missing(fid, cid, mrn, kind, due, (as_of - due).days, str(who), bool(answered))
        for fid, cid, mrn, kind, due, who, answered in missing_rows
    ]
    overall = Tally(
        sum(t.due for t in by_coordinator.values()),
        sum(t.recorded for t in by_coordinator.values()),
        sum(t.by_patient for t in by_coordinator.values()),
    )
    return CompletenessReport(as_of, overall, by_coordinator, missing)
