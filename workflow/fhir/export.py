"""A patient's or a course's record as a FHIR R4B Bundle (type ``collection``).

Every resource is built as a plain document, validated by its R4B model, and given a
``urn:uuid:`` fullUrl derived from what it stands for (uuid5), so exporting the same
record twice gives the same Bundle and every reference resolves inside it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflow import models
from workflow.models import Assessment, Course, Event, FollowUp, Infusion, Measurement, Patient
from workflow.service import prescriber
from workflow.terminology import Code, Terminology, terminology

#: Fixed namespace for the resources' uuid5 ids (any fixed UUID would do).
NAMESPACE = uuid.UUID("1c0e5d0a-7a43-4f6e-9a59-3c6f1a2b9d10")

_R4B_MODULES = {
    "AdverseEvent": "adverseevent",
    "CarePlan": "careplan",
    "Condition": "condition",
    "DetectedIssue": "detectedissue",
    "GuidanceResponse": "guidanceresponse",
    "MedicationAdministration": "medicationadministration",
    "MedicationRequest": "medicationrequest",
    "Observation": "observation",
    "Patient": "patient",
    "Provenance": "provenance",
    "Task": "task",
}

#: Course state -> MedicationRequest.status.
REQUEST_STATUS = {
    "requested": "draft",
    "reviewed": "active",
    "infusing": "active",
    "monitoring": "completed",
    "relapsed": "completed",
    "retreated": "completed",
    "completed": "completed",
    "discontinued": "stopped",
    "denied": "cancelled",
    "cancelled": "cancelled",
    "expired": "cancelled",
}
#: Follow-up status -> CarePlan.activity.detail.status and Task.status.
ACTIVITY_STATUS = {
    "scheduled": "scheduled",
    "raised": "in-progress",
    "done": "completed",
    "cancelled": "cancelled",
}
TASK_STATUS = {"scheduled": "requested", "raised": "ready"}
ISSUE_SEVERITY = {"block": "high", "warn": "moderate", "info": "low"}
#: CTCAE grade -> AdverseEvent.severity (HL7 adverse-event-severity).
AE_SEVERITY = {1: "mild", 2: "moderate", 3: "severe", 4: "severe", 5: "severe"}
CAREPLAN_STATUS = {
    "monitoring": "active",
    "relapsed": "completed",
    "retreated": "completed",
    "completed": "completed",
}


def urn(kind: str, key: object) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{kind}/{key}')}"


def _ref(full_url: str) -> dict[str, str]:
    return {"reference": full_url}


def _coding(code: Code) -> dict[str, str]:
    return {"system": code.uri, "code": code.code, "display": code.display}


def concept(code: Code, text: str | None = None) -> dict[str, Any]:
    codings = [_coding(code)]
    if code.broader is not None:
        codings.append(_coding(code.broader))
    return {"coding": codings, "text": text or code.display}


def quantity(value: float, unit: str, terms: Terminology) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": terms.uri("ucum"), "code": unit}


def _instant(value: datetime) -> str:
    return value.isoformat()


@dataclass
class _Builder:
    terms: Terminology
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, full_url: str, resource: dict[str, Any]) -> str:
        resource = {**resource, "id": full_url.removeprefix("urn:uuid:")}
        self.entries[full_url] = resource
        return full_url

    def identifier(self, system: str, value: object) -> list[dict[str, str]]:
        return [{"system": self.terms.uri(system), "value": str(value)}]

    def bundle(self, *, timestamp: datetime) -> Bundle:
        for resource in self.entries.values():
            validate(resource)
        return Bundle.model_validate(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "timestamp": _instant(timestamp),
                "entry": [{"fullUrl": u, "resource": r} for u, r in self.entries.items()],
            }
        )


def validate(resource: dict[str, Any]) -> Resource:
    """Validates one resource document with its R4B model (raises on any fault)."""
    import importlib

    name = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{_R4B_MODULES[name]}")
    model: type[Resource] = getattr(module, name)
    return model.model_validate(resource)


# --- the patient and their measurements -------------------------------------------


def _patient(b: _Builder, patient: Patient) -> str:
    return b.add(
        urn("Patient", patient.mrn.lower()),
        {
            "resourceType": "Patient",
            "identifier": [
                {**b.identifier("mrn", patient.mrn)[0], "type": {"text": "MRN"}, "use": "usual"}
            ],
            "name": [{"text": patient.name}],
            "gender": patient.sex,
            "birthDate": patient.birth_date.isoformat(),
        },
    )


def _observation(
    b: _Builder,
    *,
    key: str,
    measure: str,
    value: float,
    on: date,
    subject: str,
    based_on: str | None = None,
    voided: bool = False,
    performer: str | None = None,
) -> str:
    code = b.terms.measures[measure]
    assert code.unit is not None
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": b.identifier("record", key),
        "status": "entered-in-error" if voided else "final",
        "code": concept(code),
        "subject": _ref(subject),
        "effectiveDateTime": on.isoformat(),
        "valueQuantity": quantity(value, code.unit, b.terms),
    }
    if based_on is not None:
        resource["basedOn"] = [_ref(based_on)]
    if performer == "patient":  # self-reported: the patient is the performer
        resource["performer"] = [_ref(subject)]
    elif performer:
        resource["performer"] = [{"display": performer}]
    return b.add(urn("Observation", key), resource)


def _measurements(b: _Builder, rows: Iterable[Measurement], subject: str) -> None:
    for row in rows:
        voided = getattr(row, "voided_at", None) is not None
        for measure, value in (
            ("hba1c_percent", row.hba1c_percent),
            ("monofilament_sites_felt", row.monofilament_sites_felt),
            ("creatinine_clearance_ml_min", row.creatinine_clearance_ml_min),
        ):
            if value is not None:
                _observation(
                    b,
                    key=f"measurement/{row.id}/{measure}",
                    measure=measure,
                    value=float(value),
                    on=row.date,
                    subject=subject,
                    voided=voided,
                    performer=row.actor,
                )


# --- one course -------------------------------------------------------------------


def _medication(b: _Builder, product: str) -> dict[str, Any]:
    return concept(b.terms.medicines["ivig"], text=product)


def _course(b: _Builder, session: Session, course: Course, patient_url: str) -> None:
    key = f"course/{course.id}"
    request_url = urn("MedicationRequest", key)
    condition_url = _condition(b, course, patient_url)
    weight_url = _observation(
        b,
        key=f"{key}/request/weight_kg",
        measure="weight_kg",
        value=course.weight_kg,
        on=course.requested_on,
        subject=patient_url,
    )
    _baseline(b, course, patient_url, request_url)
    requester = prescriber.current(session, course)  # as corrected, if it was
    _medication_request(b, course, requester, patient_url, request_url, condition_url, weight_url)
    _recommendation(b, course, patient_url, request_url)
    for review in course.reviews:
        b.add(
            urn("Task", f"review/{review.id}"),
            {
                "resourceType": "Task",
                "identifier": b.identifier("record", f"review/{review.id}"),
                "status": "completed",
                "intent": "order",
                "code": concept(b.terms.activities["review"]),
                "businessStatus": {"text": review.decision},
                "focus": _ref(request_url),
                "for": _ref(patient_url),
                "authoredOn": _instant(review.at),
                "lastModified": _instant(review.at),
                "owner": {"display": review.reviewer},
                "note": [
                    {"text": text}
                    for text in (
                        f"decision: {review.decision}",
                        review.note,
                        review.override_reason and f"override: {review.override_reason}",
                        f"recommendation was {review.recommendation_outcome}",
                    )
                    if text
                ],
            },
        )
    for infusion in course.infusions:
        _administration(b, course, infusion, patient_url, request_url)
    for assessment in course.assessments:
        _assessment(b, assessment, patient_url, request_url)
    model = getattr(models, "AdverseEvent", None)
    if model is not None:  # issue 11's adverse events, once they exist
        rows = session.scalars(
            select(model).where(model.course_id == course.id).order_by(model.date, model.id)
        ).all()
        for row in rows:
            _adverse_event(b, course, row, patient_url)


def _condition(b: _Builder, course: Course, patient_url: str) -> str:
    indication = b.terms.indications[course.indication]
    text = indication.display
    if course.indication_detail:
        text += f" ({course.indication_detail})"
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "identifier": b.identifier("record", f"course/{course.id}/indication"),
        "clinicalStatus": {
            "coding": [{"system": b.terms.uri("condition_clinical"), "code": "active"}]
        },
        "code": concept(indication, text=text),
        "subject": _ref(patient_url),
        "recordedDate": course.requested_on.isoformat(),
    }
    grade = b.terms.severity.get(course.severity_grade)
    if grade is not None:
        resource["severity"] = concept(grade)
    return b.add(urn("Condition", f"course/{course.id}"), resource)


def _baseline(b: _Builder, course: Course, patient_url: str, request_url: str) -> None:
    request = course.request or {}
    values = {
        "vas": course.baseline_vas,
        "mrc_sum": course.baseline_mrc_sum,
        "walking_distance_m": course.baseline_walking_distance_m,
        "hba1c_percent": request.get("hba1c_percent"),
        "hba1c_mmol_mol": request.get("hba1c_mmol_mol"),
        "creatinine_clearance_ml_min": request.get("creatinine_clearance_ml_min"),
    }
    for measure, value in values.items():
        if value is None:
            continue
        on = request.get(_DATE_FIELDS.get(measure, ""), None)
        _observation(
            b,
            key=f"course/{course.id}/request/{measure}",
            measure=measure,
            value=float(value),
            on=date.fromisoformat(on) if isinstance(on, str) else course.requested_on,
            subject=patient_url,
            based_on=request_url,
        )


_DATE_FIELDS = {
    "hba1c_percent": "hba1c_date",
    "hba1c_mmol_mol": "hba1c_date",
    "creatinine_clearance_ml_min": "creatinine_clearance_date",
}


def _medication_request(
    b: _Builder,
    course: Course,
    requester: str,
    patient_url: str,
    request_url: str,
    condition_url: str,
    weight_url: str,
) -> None:
    t = b.terms
    dosing = (
        f"{course.dose_g_per_kg_per_day:g} g/kg/day for {course.days} day(s), "
        f"{course.grams_per_day:g} g a day, {course.total_grams:g} g in all; dosing weight "
        f"{course.dosing_weight_kg:g} kg ({course.dosing_weight_rule})"
    )
    if course.repeat_every_weeks:
        dosing += f"; repeat every {course.repeat_every_weeks} weeks"
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "identifier": b.identifier("course", course.id),
        "status": REQUEST_STATUS.get(course.state, "unknown"),
        "intent": "order",
        "medicationCodeableConcept": _medication(b, course.product),
        "subject": _ref(patient_url),
        "authoredOn": course.requested_on.isoformat(),
        "requester": {"display": requester},
        "reasonReference": [_ref(condition_url)],
        "supportingInformation": [_ref(weight_url)],
        "note": [{"text": f"course state: {course.state}"}],
        "dosageInstruction": [
            {
                "text": dosing,
                "timing": {
                    "repeat": {
                        "count": course.days,
                        "frequency": 1,
                        "period": 1,
                        "periodUnit": "d",
                    }
                },
                "route": {"text": "intravenous"},
                "doseAndRate": [{"doseQuantity": quantity(course.grams_per_day, "g", t)}],
            }
        ],
        "dispenseRequest": {"quantity": quantity(course.total_grams, "g", t)},
    }
    if course.prior_course_id is not None:
        resource["priorPrescription"] = {
            "identifier": b.identifier("course", course.prior_course_id)[0],
            "display": f"course {course.prior_course_id}",
        }
        if urn("MedicationRequest", f"course/{course.prior_course_id}") in b.entries:
            resource["priorPrescription"]["reference"] = urn(
                "MedicationRequest", f"course/{course.prior_course_id}"
            )
    b.add(request_url, resource)


def _recommendation(b: _Builder, course: Course, patient_url: str, request_url: str) -> None:
    rec = course.recommendation or {}
    policy = f"{b.terms.uri('policy')}/{course.policy_id}/{course.policy_version}"
    override = next((r.override_reason for r in course.reviews if r.override_reason), None)
    for index, finding in enumerate(rec.get("findings", [])):
        resource: dict[str, Any] = {
            "resourceType": "DetectedIssue",
            "identifier": b.identifier("record", f"course/{course.id}/finding/{index}"),
            "status": "final",
            "code": {
                "coding": [{"system": b.terms.uri("rule"), "code": finding["rule"]}],
                "text": finding["rule"],
            },
            "severity": ISSUE_SEVERITY.get(finding.get("severity", ""), "low"),
            "patient": _ref(patient_url),
            "identifiedDateTime": _instant(course.requested_at),
            "author": {"display": f"review policy {course.policy_id} {course.policy_version}"},
            "implicated": [_ref(request_url)],
            "detail": f"{finding['message']} (source: {finding['source']})",
            "reference": policy,
        }
        if override and finding.get("severity") in ("block", "warn"):
            resource["mitigation"] = [{"action": {"text": f"reviewer override: {override}"}}]
        b.add(urn("DetectedIssue", f"course/{course.id}/{index}"), resource)
    b.add(
        urn("GuidanceResponse", f"course/{course.id}"),
        {
            "resourceType": "GuidanceResponse",
            "identifier": b.identifier("record", f"course/{course.id}/recommendation"),
            "moduleUri": policy,
            "status": "success",
            "subject": _ref(patient_url),
            "occurrenceDateTime": _instant(course.requested_at),
            "performer": {"display": f"review policy {course.policy_id}"},
            "note": [
                {"text": f"outcome: {rec.get('outcome')}"},
                {"text": f"policy: {course.policy_id} version {course.policy_version}"},
            ],
            "reasonReference": [{"reference": urn("Condition", f"course/{course.id}")}],
        },
    )


def _administration(
    b: _Builder, course: Course, infusion: Infusion, patient_url: str, request_url: str
) -> None:
    voided = getattr(infusion, "voided_at", None) is not None
    medication = _medication(b, course.product)
    lot = getattr(infusion, "lot", None)
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "identifier": b.identifier("record", f"infusion/{infusion.id}"),
        "status": "entered-in-error" if voided else "completed",
        "medicationCodeableConcept": medication,
        "subject": _ref(patient_url),
        "effectiveDateTime": infusion.date.isoformat(),
        "performer": [{"actor": {"display": infusion.actor}}],
        "request": _ref(request_url),
        "dosage": {
            "text": f"day {infusion.day_number} of {course.days}",
            "route": {"text": "intravenous"},
            "dose": quantity(infusion.grams, "g", b.terms),
        },
    }
    notes = [f"lot {lot}"] if lot else []
    if infusion.override_reason:
        notes.append(f"override: {infusion.override_reason}")
    if notes:
        resource["note"] = [{"text": n} for n in notes]
    if lot:
        # MedicationAdministration has no lot of its own: the lot is the medication's batch.
        resource.pop("medicationCodeableConcept")
        resource["contained"] = [
            {
                "resourceType": "Medication",
                "id": "med",
                "code": medication,
                "batch": {"lotNumber": lot},
            }
        ]
        resource["medicationReference"] = {"reference": "#med"}
    b.add(urn("MedicationAdministration", f"infusion/{infusion.id}"), resource)


def _adverse_event(b: _Builder, course: Course, row: Any, patient_url: str) -> None:
    """An adverse event, with the infusion day given on or before it as the suspect."""
    grade = int(row.grade)
    severity: dict[str, Any] = {
        "coding": [
            {"system": b.terms.uri("ae_severity"), "code": AE_SEVERITY.get(grade, "severe")}
        ],
        "text": f"CTCAE grade {grade}",
    }
    local = b.terms.severity.get(grade)
    if local is not None:
        severity["coding"].append(_coding(local))
    kind = b.terms.adverse_events.get(row.kind)
    resource: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "identifier": b.identifier("record", f"adverse-event/{row.id}")[0],
        "actuality": "actual",
        "event": {
            "coding": [_coding(kind)] if kind is not None else [],
            "text": row.kind + (f": {row.note}" if getattr(row, "note", None) else ""),
        },
        "subject": _ref(patient_url),
        "date": row.date.isoformat(),
        "severity": severity,
    }
    if getattr(row, "recorded_at", None) is not None:
        resource["recordedDate"] = _instant(row.recorded_at)
    if getattr(row, "actor", None):
        resource["recorder"] = {"display": row.actor}
    if grade == 5:
        resource["outcome"] = {"coding": [{"system": b.terms.uri("ae_outcome"), "code": "fatal"}]}
    given = [
        i for i in course.infusions if i.date <= row.date and getattr(i, "voided_at", None) is None
    ]
    if given:
        suspect = urn("MedicationAdministration", f"infusion/{given[-1].id}")
        resource["suspectEntity"] = [{"instance": _ref(suspect)}]
    b.add(urn("AdverseEvent", f"adverse-event/{row.id}"), resource)


def _assessment(b: _Builder, row: Assessment, patient_url: str, request_url: str) -> None:
    voided = getattr(row, "voided_at", None) is not None
    for measure, value in (
        ("vas", row.vas),
        ("mrc_sum", row.mrc_sum),
        ("walking_distance_m", row.walking_distance_m),
    ):
        if value is not None:
            _observation(
                b,
                key=f"assessment/{row.id}/{measure}",
                measure=measure,
                value=float(value),
                on=row.date,
                subject=patient_url,
                based_on=request_url,
                voided=voided,
                performer="patient" if getattr(row, "source", None) == "patient" else row.actor,
            )


# --- follow-ups and history ---------------------------------------------------------


def _care_plan(
    b: _Builder, course: Course, followups: list[FollowUp], patient_url: str
) -> str | None:
    if not followups:
        return None
    request_url = urn("MedicationRequest", f"course/{course.id}")
    plan_url = urn("CarePlan", f"course/{course.id}")
    activities = []
    for row in followups:
        kind = _activity(b.terms, row.kind)
        detail: dict[str, Any] = {
            "code": concept(kind),
            "status": ACTIVITY_STATUS[row.status],
            "scheduledPeriod": {"start": row.due_date.isoformat()},
            "description": f"follow-up {row.id}: {kind.display}, due {row.due_date}",
        }
        if row.completed_on is not None:
            detail["description"] += f", done {row.completed_on}"
        activities.append({"detail": detail})
    first_infusion = course.first_infusion_date or course.requested_on
    period: dict[str, str] = {"start": first_infusion.isoformat()}
    if course.ended_on is not None:
        period["end"] = course.ended_on.isoformat()
    b.add(
        plan_url,
        {
            "resourceType": "CarePlan",
            "identifier": b.identifier("record", f"course/{course.id}/followups"),
            # A plan with a follow-up still open is active, whatever the course's state
            # (a stopped course's safety check), so it never contradicts its own Tasks.
            "status": "active"
            if any(f.status in TASK_STATUS for f in followups)
            else CAREPLAN_STATUS.get(course.state, "revoked"),
            "intent": "plan",
            "title": f"Follow-up after IVIG course {course.id}",
            "subject": _ref(patient_url),
            "addresses": [_ref(urn("Condition", f"course/{course.id}"))],
            "supportingInfo": [_ref(request_url)],
            "period": period,
            "activity": activities,
        },
    )
    for row in followups:
        if row.status in TASK_STATUS:
            _task(b, row, plan_url, patient_url, request_url if row.course_id else None)
    return plan_url


def _activity(terms: Terminology, kind: str) -> Code:
    """The follow-up kind's code; a kind the data file does not know yet gets a local one
    (the terminology test names it, so it is added before it reaches a release)."""
    known = terms.activities.get(kind)
    if known is not None:
        return known
    return Code(
        key=kind,
        system="local",
        uri=terms.local_system,
        code=kind.replace("_", "-"),
        display=kind.replace("_", " "),
        source="Local code.",
        to_be_mapped=True,
    )


def _task(
    b: _Builder, row: FollowUp, plan_url: str, patient_url: str, request_url: str | None
) -> None:
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "identifier": b.identifier("record", f"followup/{row.id}"),
        "basedOn": [_ref(plan_url)],
        "status": TASK_STATUS[row.status],
        "intent": "plan",
        "code": concept(_activity(b.terms, row.kind)),
        "for": _ref(patient_url),
        "authoredOn": _instant(row.created_at),
        "restriction": {"period": {"end": row.due_date.isoformat()}},
    }
    if request_url is not None:
        resource["focus"] = _ref(request_url)
    b.add(urn("Task", f"followup/{row.id}"), resource)


def _provenance(b: _Builder, events: Iterable[Event], patient_url: str) -> None:
    for event in events:
        if event.course_id is not None:
            target = urn("MedicationRequest", f"course/{event.course_id}")
            if target not in b.entries:
                target = patient_url
        else:
            target = patient_url
        resource: dict[str, Any] = {
            "resourceType": "Provenance",
            "target": [_ref(target)],
            "recorded": _instant(event.at),
            "activity": {
                "coding": [{"system": b.terms.uri("event"), "code": event.trigger}],
                "text": event.trigger
                + (f": {event.from_state} -> {event.to_state}" if event.to_state else ""),
            },
            "agent": [{"who": {"display": event.actor}}],
        }
        if event.clinical_date is not None:
            resource["occurredDateTime"] = event.clinical_date.isoformat()
        if event.reason:
            resource["reason"] = [{"text": event.reason}]
        b.add(urn("Provenance", f"event/{event.id}"), resource)


# --- the two entry points ---------------------------------------------------------


def export_patient(
    session: Session, patient: Patient, *, course_ids: list[int] | None = None, now: datetime
) -> Bundle:
    """The patient's record (all courses, or only ``course_ids``) as one Bundle."""
    b = _Builder(terminology())
    patient_url = _patient(b, patient)
    courses = [c for c in patient.courses if course_ids is None or c.id in course_ids]
    for course in courses:
        _course(b, session, course, patient_url)
    wanted = [c.id for c in courses]
    followups = session.scalars(
        select(FollowUp)
        .where(
            FollowUp.patient_id == patient.id,
            or_(FollowUp.course_id.in_(wanted), FollowUp.origin_course_id.in_(wanted)),
        )
        .order_by(FollowUp.due_date, FollowUp.id)
    ).all()
    for course in courses:
        mine = [
            f
            for f in followups
            if f.course_id == course.id or (f.course_id is None and f.origin_course_id == course.id)
        ]
        _care_plan(b, course, mine, patient_url)
    measurements = session.scalars(
        select(Measurement)
        .where(Measurement.patient_id == patient.id)
        .order_by(Measurement.date, Measurement.id)
    ).all()
    if course_ids is not None:  # one course: the labs taken while it ran or was followed
        start = min(c.requested_on for c in courses)
        ends = [c.ended_on for c in courses]
        end = None if None in ends else max(e for e in ends if e is not None)
        measurements = [
            m for m in measurements if m.date >= start and (end is None or m.date <= end)
        ]
    _measurements(b, measurements, patient_url)
    events = session.scalars(
        select(Event)
        .where(
            Event.patient_id == patient.id,
            or_(Event.course_id.in_(wanted), Event.course_id.is_(None))
            if course_ids is None
            else Event.course_id.in_(wanted),
        )
        .order_by(Event.id)
    ).all()
    _provenance(b, events, patient_url)
    return b.bundle(timestamp=now)


def export_record(
    session: Session, *, mrn: str | None, course_id: int | None, now: datetime
) -> Bundle:
    """``ivig fhir export``: exactly one of ``mrn`` (every course) or ``course_id``."""
    from workflow.errors import InvalidInput
    from workflow.service.common import course_by_id, patient_by_mrn

    if (mrn is None) == (course_id is None):
        raise InvalidInput("fhir export: give exactly one of --mrn or --course.")
    if course_id is not None:
        course = course_by_id(session, course_id, lock=False)
        return export_patient(session, course.patient, course_ids=[course.id], now=now)
    assert mrn is not None
    return export_patient(session, patient_by_mrn(session, mrn), now=now)
