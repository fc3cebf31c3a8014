"""What the rules may know beyond the request document.

Kept apart from the engine so that the rule functions can import it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class PriorCourse:
    """The course a re-treatment follows, with its response computed from assessments.

    ``responder`` and ``assessed`` come from ``workflow.outcomes.response()``.
    """

    id: int
    indication: str
    responder: bool
    assessed: bool
    lowest_vas: float | None
    baseline_vas: float
    last_infusion_date: date | None
    # Motor function improved by the policy's thresholds (``motor_response``), and how.
    motor_evidence: str | None = None
    relapse_date: date | None = None

    @property
    def motor_responder(self) -> bool:
        return self.motor_evidence is not None


@dataclass(frozen=True)
class ReviewContext:
    """The patient's record as far as the rules need it."""

    sex: str
    height_cm: float | None
    diabetes: str  # 'none' | 'type1' | 'type2'
    prior: PriorCourse | None = None
    # The latest HbA1c from ``patient measure``; used when the request carries none.
    latest_hba1c_percent: float | None = None
    # The patient's registered weight, checked against the request's dosing weight.
    registered_weight_kg: float | None = None
    # Age in whole years on the request date (None: unknown).
    age_years: int | None = None
    # The patient's other courses still in monitoring.
    monitoring_courses: tuple[int, ...] = ()
    # Dated values from ``patient measure`` (date, value), any order.
    clearance_measurements: tuple[tuple[date, float], ...] = ()
    hba1c_measurements: tuple[tuple[date, float], ...] = ()
    # The clinical date of the request: labs are aged against it.
    as_of: date | None = None

    @property
    def has_diabetes(self) -> bool:
        return self.diabetes != "none"
