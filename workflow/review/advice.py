"""Dose advice for first-line agents, fitted to the patient's kidneys and liver.

Recommendation texts of the policy name an agent's advice as ``{advice[pregabalin]}``;
the phrase comes from here so that no finding ever advises more than the label allows
for the recorded creatinine clearance (pregabalin at 25 mL/min: at most 150 mg/day),
nor an agent the label says to avoid.
"""

from __future__ import annotations

from collections.abc import Mapping

from workflow.review.context import ReviewContext
from workflow.review.labs import LabValue, creatinine_clearance
from workflow.review.medicines import Medicine, load_medicines
from workflow.review.policy import Policy
from workflow.schemas import CourseRequestIn


def _g(value: float) -> str:
    return f"{value:g}"


def agent_advice(
    medicine: Medicine,
    adequate: float | None,
    clearance: LabValue | None,
    hepatic_disease: bool,
) -> str:
    """One agent's advice, e.g. "pregabalin 300–600 mg/day"."""
    name = medicine.generic
    avoid_below = medicine.avoid_below_creatinine_clearance
    if clearance is not None and avoid_below is not None and clearance.value < avoid_below:
        return f"not {name} (avoided with creatinine clearance below {_g(avoid_below)} mL/min)"
    if hepatic_disease and medicine.avoid_in_hepatic_disease:
        return f"not {name} (avoided in hepatic disease)"
    upper = medicine.max_mg_per_day
    low = adequate if adequate is not None else (medicine.usual_mg_per_day or (None, None))[0]
    limit = None if clearance is None else medicine.renal_limit(clearance.value)
    if limit is not None and limit.reduced:
        where = limit.where()
        if limit.high <= 0:
            return f"not {name} without specialist renal dosing (the label's most for {where} is 0)"
        target = min(low or limit.high, limit.high)
        if target >= limit.high:
            return f"{name} up to {_g(limit.high)} mg/day (the label's most for {where})"
        return f"{name} {_g(target)}–{_g(limit.high)} mg/day (the label's range for {where})"
    text = f"{name} {_g(low)}–{_g(upper)} mg/day" if low and upper else name
    if clearance is None and medicine.renal_tables:
        text += " (less if creatinine clearance is below 60 mL/min: check it first)"
    return text


def dose_advice(
    request: CourseRequestIn | None, context: ReviewContext | None, policy: Policy
) -> dict[str, str]:
    """Advice per first-line agent; without a request, the generic advice for the docs."""
    clearance = (
        creatinine_clearance(request, context)
        if request is not None and context is not None
        else None
    )
    hepatic = bool(request is not None and request.hepatic_disease)
    adequate = policy.rules.therapy_first_line.adequate_mg_per_day
    vocabulary = load_medicines()
    advice: dict[str, str] = {}
    for generic in adequate:
        medicine = vocabulary.get(generic)
        if medicine is not None:
            advice[generic] = agent_advice(medicine, adequate[generic], clearance, hepatic)
    return advice


def generic_advice(policy: Policy) -> Mapping[str, str]:
    return dose_advice(None, None, policy)
