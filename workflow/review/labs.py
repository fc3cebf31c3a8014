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
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from workflow.review.context import ReviewContext
from workflow.review.packaged import vocabulary
from workflow.schemas import CourseRequestIn

MONTH_DAYS = 30.4375


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinearConversion(_Frozen):
    slope: float
    intercept: float
    source: str

    def apply(self, value: float) -> float:
        return self.slope * value + self.intercept


class LabData(_Frozen):
    version: str
    hba1c_ifcc_to_ngsp: LinearConversion


@lru_cache(maxsize=1)
def load_lab_data() -> LabData:
    """The packaged conversions (``vocab/labs.yaml``), parsed once."""
    return LabData.model_validate(vocabulary("labs.yaml"))


def ifcc_to_percent(mmol_mol: float) -> float:
    """HbA1c in IFCC mmol/mol as NGSP %, rounded to one decimal as laboratories report it."""
    return round(load_lab_data().hba1c_ifcc_to_ngsp.apply(mmol_mol), 1)


@dataclass(frozen=True)
class LabValue:
    value: float
    on: date | None  # None: undated (a request value without its date)
    origin: str  # "request" or "measurement"
    note: str = ""  # e.g. "converted from 75 mmol/mol"

    def when(self) -> str:
        """ "measured 2026-10-01 (record)" / "undated, from the request"."""
        where = "the request" if self.origin == "request" else "the patient's measurements"
        note = f", {self.note}" if self.note else ""
        if self.on is None:
            return f"undated, from {where}{note}"
        return f"of {self.on.isoformat()} from {where}{note}"


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


def hba1c(request: CourseRequestIn, context: ReviewContext) -> LabValue | None:
    """HbA1c in %, converted from IFCC mmol/mol when the request gives that unit.

    ``context.latest_hba1c_percent`` (an undated figure) is the last resort.
    """
    value, note = request.hba1c_percent, ""
    if value is None and request.hba1c_mmol_mol is not None:
        value = ifcc_to_percent(request.hba1c_mmol_mol)
        note = f"converted from {request.hba1c_mmol_mol:g} mmol/mol"
    found = newest(value, request.hba1c_date, context.hba1c_measurements)
    if found is not None and found.origin == "request" and note:
        found = LabValue(found.value, found.on, found.origin, note)
    if found is None and context.latest_hba1c_percent is not None:
        found = LabValue(context.latest_hba1c_percent, None, "measurement")
    return found


def months_old(lab: LabValue, as_of: date | None) -> float | None:
    """Age in months (days / 30.4375), or None when undated or no reference date."""
    if lab.on is None or as_of is None:
        return None
    return (as_of - lab.on).days / MONTH_DAYS
