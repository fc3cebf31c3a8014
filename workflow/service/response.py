"""Whether a course responded, by pain (the contract's 30 %) or by motor function."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.models import Assessment, Course
from workflow.outcomes import motor_response, response
from workflow.review.policy import MotorResponseCriteria


def responded(
    session: Session, course: Course, criteria: MotorResponseCriteria | None = None
) -> bool:
    """A responder by pain, or by the motor thresholds (the packaged defaults if none given)."""
    criteria = criteria or MotorResponseCriteria()
    rows = session.execute(
        select(
            Assessment.date, Assessment.vas, Assessment.mrc_sum, Assessment.walking_distance_m
        ).where(Assessment.course_id == course.id, Assessment.voided_at.is_(None))
    ).all()
    pain = response(
        baseline_vas=course.baseline_vas,
        last_infusion=course.last_infusion_date,
        assessments=[(d, v) for d, v, _, _ in rows],
    )
    if pain.responder:
        return True
    motor = motor_response(
        baseline_mrc_sum=course.baseline_mrc_sum,
        baseline_walking_m=course.baseline_walking_distance_m,
        last_infusion=course.last_infusion_date,
        assessments=[(d, m, w) for d, _, m, w in rows],
        min_mrc_points=criteria.mrc_sum_points,
        min_walking_fraction=criteria.walking_distance_fraction,
    )
    return motor.responder
