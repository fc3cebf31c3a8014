"""Which laboratory value the rules use, and how old it is.

A request may carry a creatinine clearance or an HbA1c, dated or not; the patient's
record holds dated measurements. The newest dated value wins; an undated value of the
request is used only when nothing dated is known (an undated figure cannot be shown
to be newer than last month's laboratory result). Each finding says which value it
used and from when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from workflow.review.context import ReviewContext
from workflow.schemas import CourseRequestIn


@dataclass(frozen=True)
class LabValue:
    value: float
    on: date | None  # None: undated (a request value without its date)
    origin: str  # "request" or "measurement"

    def when(self) -> str:
        """ "measured 2026-10-01 (record)" / "undated, from the request"."""
        where = "the request" if self.origin == "request" else "the patient's measurements"
        return f"of {self.on.isoformat()} from {where}" if self.on else f"undated, from {where}"


def newest(
    request_value: float | None,
    request_date: date | None,
    measurements: tuple[tuple[date, float], ...],
) -> LabValue | None:
    """The newest dated value; an undated request value only when nothing is dated.

    On the same date the request's value wins (it was written for this request).
    """
    dated = [LabValue(v, d, "measurement") for d, v in measurements]
    if request_value is not None and request_date is not None:
        dated.append(LabValue(request_value, request_date, "request"))
    if dated:
        return max(dated, key=lambda lab: (lab.on, lab.origin == "request"))
    if request_value is not None:
        return LabValue(request_value, None, "request")
    return None


def creatinine_clearance(request: CourseRequestIn, context: ReviewContext) -> LabValue | None:
    return newest(
        request.creatinine_clearance_ml_min,
        request.creatinine_clearance_date,
        context.clearance_measurements,
    )


def months_old(lab: LabValue, as_of: date | None) -> float | None:
    """Age in months (days / 30.4375), or None when undated or no reference date."""
    if lab.on is None or as_of is None:
        return None
    return (as_of - lab.on).days / 30.4375
