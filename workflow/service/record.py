"""The patient's record as the review rules see it: age, other courses, dated labs.

Kept apart from ``workflow.service.courses`` (the request and review use-cases) so that
reading a course (``course show``: the request as the reviewer sees it) does not load
the rule engine, the dosing and the notices the use-cases need.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from workflow.models import Course, Measurement, Patient
from workflow.review.context import PriorCourse, ReviewContext
from workflow.states import CourseState


def age_on(birth_date: date, on: date) -> int:
    """Age in whole years on ``on``."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - before_birthday


def other_courses(session: Session, patient_id: int, exclude: int | None) -> list[Course]:
    query = select(Course).where(Course.patient_id == patient_id).order_by(Course.id)
    if exclude is not None:
        query = query.where(Course.id != exclude)
    return list(session.scalars(query))


def latest_hba1c(session: Session, patient_id: int) -> float | None:
    """The patient's most recent HbA1c from ``patient measure``, if any."""
    return session.scalar(
        select(Measurement.hba1c_percent)
        .where(
            Measurement.patient_id == patient_id,
            Measurement.hba1c_percent.is_not(None),
            Measurement.voided_at.is_(None),
        )
        .order_by(Measurement.date.desc(), Measurement.id.desc())
        .limit(1)
    )


def dated_measurements(
    session: Session, patient_id: int, column: InstrumentedAttribute[float | None]
) -> tuple[tuple[date, float], ...]:
    """(date, value) of every live measurement of the patient with ``column`` set."""
    rows = session.execute(
        select(Measurement.date, column).where(
            Measurement.patient_id == patient_id,
            column.is_not(None),
            Measurement.voided_at.is_(None),
        )
    ).all()
    return tuple((on, float(value)) for on, value in rows if value is not None)


def review_context(
    session: Session,
    patient: Patient,
    prior: PriorCourse | None,
    as_of: date,
    course_id: int | None = None,
) -> ReviewContext:
    """The patient's record as the rules need it: diabetes, prior course, dated labs,
    registered weight, age, and the patient's other courses in monitoring."""
    in_monitoring = tuple(
        other.id
        for other in other_courses(session, patient.id, course_id)
        if other.state == CourseState.MONITORING
    )
    return ReviewContext(
        sex=patient.sex,
        height_cm=patient.height_cm,
        diabetes=patient.diabetes,
        prior=prior,
        latest_hba1c_percent=latest_hba1c(session, patient.id),
        clearance_measurements=dated_measurements(
            session, patient.id, Measurement.creatinine_clearance_ml_min
        ),
        hba1c_measurements=dated_measurements(session, patient.id, Measurement.hba1c_percent),
        as_of=as_of,
        registered_weight_kg=patient.weight_kg,
        age_years=age_on(patient.birth_date, as_of),
        monitoring_courses=in_monitoring,
    )
