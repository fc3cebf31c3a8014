"""The whole request as a reviewer reads it: what was written, and what the rules made of it.

``course show`` (text and ``--json`` ``request_details``), the course page and the
review form all show this, so a reviewer sees the medications with their doses and
matched names, the steroid history, kidney and liver function with dates, risk
factors, HbA1c with its date, height, BMI and the dosing against the registered
weight, and who prescribed and who entered the request, whether or not a finding
happens to quote them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.models import Course, Event, Patient
from workflow.review.labs import LabValue, creatinine_clearance, hba1c
from workflow.review.medicines import match
from workflow.review.products import match_product
from workflow.schemas import CourseRequestIn
from workflow.service import prescriber
from workflow.service.record import review_context
from workflow.states import REQUEST_TRIGGER


def _lab(lab: LabValue | None, unit: str) -> dict[str, Any] | None:
    if lab is None:
        return None
    return {
        unit: lab.value,
        "date": lab.on.isoformat() if lab.on else None,
        "from": lab.origin,
        **({"note": lab.note} if lab.note else {}),
    }


def _written(value: float | None, on: date | None, unit: str) -> dict[str, Any] | None:
    if value is None:
        return None
    return {unit: value, "date": on.isoformat() if on else None}


def entered_by(session: Session, course: Course) -> str | None:
    """Who entered the request: the column when the schema has one, else the history."""
    stored = getattr(course, "entered_by", None)
    if isinstance(stored, str):
        return stored
    return session.scalar(
        select(Event.actor)
        .where(Event.course_id == course.id, Event.trigger == REQUEST_TRIGGER)
        .order_by(Event.id)
        .limit(1)
    )


def _corrected(session: Session, course: Course) -> str | None:
    """The prescriber a correction named, if the request was attributed anew."""
    names = prescriber.names(session, course)
    return names[-1] if len(names) > 1 else None


def request_details(session: Session, course: Course) -> dict[str, Any] | None:
    """The request's fields with the vocabulary matches and the lab values used."""
    try:
        data = CourseRequestIn.model_validate(course.request)
    except ValidationError:
        return None  # a document stored under an older schema: the raw request still shows
    patient = session.get_one(Patient, course.patient_id)
    context = review_context(session, patient, None, course.requested_on)
    product = match_product(data.product)
    height = patient.height_cm
    bmi = None if height is None else round(data.weight_kg / (height / 100) ** 2, 1)
    medications = []
    for line in data.medications:
        found = match(line.name)
        medications.append(
            {
                "name": line.name,
                "mg_per_day": line.mg_per_day,
                # A misspelling read as a medicine: matched names the medicine, and
                # guessed says that the name itself is not known.
                "matched": None
                if found is None
                else (found.generic if found.guessed_from else found.label()),
                "guessed": found is not None and found.guessed_from is not None,
                "generic": None if found is None else found.generic,
                "class": None if found is None else found.medicine.klass,
                "atc": None if found is None else found.medicine.atc,
            }
        )
    return {
        "medications": medications,
        "product": {
            "name": data.product,
            "matched": None if product is None else product.product.name,
            "stabiliser": None if product is None else product.product.stabiliser,
            "route": None if product is None else product.product.route,
        },
        "steroids": None if data.steroids is None else data.steroids.model_dump(mode="json"),
        "creatinine_clearance": _lab(creatinine_clearance(data, context), "ml_min"),
        # What the request itself said, shown beside a newer measurement the rules used.
        "creatinine_clearance_in_request": _written(
            data.creatinine_clearance_ml_min, data.creatinine_clearance_date, "ml_min"
        ),
        "hba1c_in_request": _written(
            data.hba1c_percent if data.hba1c_percent is not None else data.hba1c_mmol_mol,
            data.hba1c_date,
            "percent"
            if data.hba1c_mmol_mol is None or data.hba1c_percent is not None
            else "mmol_mol",
        ),
        "hepatic_disease": data.hepatic_disease,
        "hba1c": _lab(hba1c(data, context), "percent"),
        "thromboembolic_risk_factors": list(data.thromboembolic_risk_factors),
        "diabetes": patient.diabetes,
        "height_cm": height,
        "bmi": bmi,
        "dosing_weight_kg": data.weight_kg,
        "registered_weight_kg": patient.weight_kg,
        "requested_by": data.requested_by,
        "corrected_requested_by": _corrected(session, course),
        "entered_by": entered_by(session, course),
    }
