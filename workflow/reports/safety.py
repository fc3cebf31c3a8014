"""Safety and product-recall reports: adverse events per 100 treated courses, and
every patient, course and day that received a product lot.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.models import AdverseEvent, Course, Infusion, Patient
from workflow.service.safety import AdverseEventKind

GRADES = (1, 2, 3, 4, 5)


class Rate(BaseModel):
    events: int
    per_100_courses: float | None


class KindRate(Rate):
    by_grade: dict[str, Rate]


class SafetyReport(BaseModel):
    as_of: date
    # Courses with at least one infusion on or before as_of: who could have had an event.
    courses_treated: int
    courses_with_event: int
    events: int
    per_100_courses: float | None
    by_kind: dict[str, KindRate]
    by_grade: dict[str, Rate]


def _rate(events: int, courses: int) -> Rate:
    return Rate(
        events=events, per_100_courses=round(100 * events / courses, 1) if courses else None
    )


def safety_report(session: Session, as_of: date) -> SafetyReport:
    """Adverse events dated on or before ``as_of`` per 100 treated courses, by kind and
    CTCAE grade (every kind and grade listed, zeros included)."""
    courses = int(
        session.scalar(
            select(func.count()).select_from(Course).where(Course.first_infusion_date <= as_of)
        )
        or 0
    )
    rows = session.execute(
        select(AdverseEvent.kind, AdverseEvent.grade, AdverseEvent.course_id).where(
            AdverseEvent.date <= as_of
        )
    ).all()
    by_pair = Counter((kind, grade) for kind, grade, _ in rows)
    by_kind = {
        kind.value: KindRate(
            **_rate(sum(by_pair[(kind.value, g)] for g in GRADES), courses).model_dump(),
            by_grade={str(g): _rate(by_pair[(kind.value, g)], courses) for g in GRADES},
        )
        for kind in AdverseEventKind
    }
    by_grade = {str(g): _rate(sum(1 for _, gr, _ in rows if gr == g), courses) for g in GRADES}
    total = _rate(len(rows), courses)
    return SafetyReport(
        as_of=as_of,
        courses_treated=courses,
        courses_with_event=len({course for _, _, course in rows}),
        events=total.events,
        per_100_courses=total.per_100_courses,
        by_kind=by_kind,
        by_grade=by_grade,
    )


class LotRecipient(BaseModel):
    mrn: str
    name: str
    course_id: int
    course_state: str
    date: date
    day: int
    grams: float


class LotReport(BaseModel):
    lot: str
    patients: int
    courses: int
    infusions: list[LotRecipient]


def lot_report(session: Session, lot: str) -> LotReport:
    """Every live infusion of ``lot`` (compared without regard to case or surrounding
    spaces), by date: for a product recall. Voided infusion days are left out."""
    wanted = lot.strip().lower()
    rows = session.execute(
        select(Patient.mrn, Patient.name, Course.id, Course.state, Infusion)
        .join(Course, Course.id == Infusion.course_id)
        .join(Patient, Patient.id == Course.patient_id)
        .where(func.lower(Infusion.lot) == wanted, Infusion.voided_at.is_(None))
        .order_by(Infusion.date, Patient.mrn, Infusion.id)
    ).all()
    recipients = [
        LotRecipient(
            mrn=mrn,
            name=name,
            course_id=course_id,
            course_state=state,
            date=infusion.date,
            day=infusion.day_number,
            grams=infusion.grams,
        )
        for mrn, name, course_id, state, infusion in rows
    ]
    return LotReport(
        lot=lot.strip(),
        patients=len({r.mrn for r in recipients}),
        courses=len({r.course_id for r in recipients}),
        infusions=recipients,
    )
