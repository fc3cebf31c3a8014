"""A request and a context that raise no finding at all, and builders that change them.

Each test changes only what it is about, so a finding that appears can only come
from that change. Imported by basename: tests/review has no ``__init__`` and pytest
puts this folder on ``sys.path``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow.review import ReviewContext
from workflow.schemas import CourseRequestIn

CLEAN_REQUEST: dict[str, Any] = {
    "mrn": "MRN-0001",
    "indication": "dlrpn",
    "severity_grade": 3,
    "product": "Octagam 10%",
    "dose_g_per_kg_per_day": 0.4,
    "days": 5,
    "weight_kg": 82,
    "baseline": {"vas": 7},
    "medications": [{"name": "pregabalin", "mg_per_day": 300}],
    "creatinine_clearance_ml_min": 90,
    "hba1c_percent": 6.8,
    "requested_by": "coordinator-a",
}

CLEAN_CONTEXT: dict[str, Any] = {"sex": "male", "height_cm": 180.0, "diabetes": "type2"}

MakeRequest = Callable[..., CourseRequestIn]
MakeContext = Callable[..., ReviewContext]


def build_request(**changes: Any) -> CourseRequestIn:
    return CourseRequestIn.model_validate({**CLEAN_REQUEST, **changes})


def build_context(**changes: Any) -> ReviewContext:
    return ReviewContext(**{**CLEAN_CONTEXT, **changes})
