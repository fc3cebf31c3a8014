"""Use-cases on patients: registration, corrections and diabetes-care measurements."""

from __future__ import annotations

import math
from datetime import date
from enum import Enum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow.catalogue import Actor, PatientUpdateBody
from workflow.clock import Clock
from workflow.errors import Conflict, InvalidInput, TransitionRefused
from workflow.models import Measurement, Patient, normalise_mrn
from workflow.schemas import PatientIn
from workflow.service import selfreport
from workflow.service.common import clinical_date, patient_by_mrn, record, required_text
from workflow.service.followups import complete_with_measurement, diabetes_changed, has_diabetes
from workflow.service.permissions import check_allowed


def add_patient(
    *, session: Session, data: PatientIn, by: str, clock: Clock, role: str | None = None
) -> Patient:
    """Registers a patient; a duplicate MRN is refused (and a role that may not register)."""
    check_allowed(role, "register")
    clinical_date(data.birth_date, today=clock.today(), field="birth_date")
    existing = session.scalar(select(Patient.mrn).where(Patient.mrn_key == normalise_mrn(data.mrn)))
    if existing is not None:
        # MRNs are matched without regard to case: the stored spelling is named.
        raise Conflict(f"mrn: a patient with MRN {existing} is already registered.")
    now = clock.now()
    patient = Patient(
        mrn=data.mrn,
        mrn_key=normalise_mrn(data.mrn),
        name=data.name,
        birth_date=data.birth_date,
        sex=data.sex.value,
        weight_kg=data.weight_kg,
        height_cm=data.height_cm,
        diabetes=data.diabetes.value,
        created_at=now,
    )
    session.add(patient)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"mrn: a patient with MRN {data.mrn} is already registered.") from None
    record(session, patient_id=patient.id, trigger="register", by=by, at=now)
    return patient


def measure(
    *,
    session: Session,
    mrn: str,
    on: date,
    hba1c_percent: float | None,
    monofilament_sites_felt: int | None,
    by: str,
    clock: Clock,
    creatinine_clearance_ml_min: float | None = None,
    role: str | None = None,
) -> Measurement:
    """Records HbA1c, the monofilament test and/or creatinine clearance.

    Completes the follow-ups they satisfy; the review rules use the newest dated values.
    """
    check_allowed(role, "measure")
    clinical_date(on, today=clock.today())
    given = (hba1c_percent, monofilament_sites_felt, creatinine_clearance_ml_min)
    if all(value is None for value in given):
        raise InvalidInput(
            "measurement: give --hba1c, --monofilament-sites-felt or --creatinine-clearance."
        )
    clearance = creatinine_clearance_ml_min
    if clearance is not None and not (0 <= clearance <= 500 and math.isfinite(clearance)):
        raise InvalidInput(f"creatinine-clearance: {clearance} mL/min is outside 0-500 mL/min.")
    if hba1c_percent is not None and not 2 <= hba1c_percent <= 25:
        raise InvalidInput(f"hba1c: {hba1c_percent} % is outside 2-25 %.")
    if monofilament_sites_felt is not None and not 0 <= monofilament_sites_felt <= 10:
        raise InvalidInput(
            f"monofilament-sites-felt: {monofilament_sites_felt} is outside 0-10 sites."
        )
    patient = patient_by_mrn(session, mrn, lock=True)
    now = clock.now()
    row = Measurement(
        patient_id=patient.id,
        date=on,
        hba1c_percent=hba1c_percent,
        monofilament_sites_felt=monofilament_sites_felt,
        creatinine_clearance_ml_min=creatinine_clearance_ml_min,
        actor=by,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    fields = {
        name
        for name, value in (
            ("hba1c_percent", hba1c_percent),
            ("monofilament_sites_felt", monofilament_sites_felt),
            ("creatinine_clearance_ml_min", creatinine_clearance_ml_min),
        )
        if value is not None
    }
    done = complete_with_measurement(
        session, patient=patient, on=on, fields=fields, ref=f"measurement:{row.id}", clock=clock
    )
    reason = ", ".join(sorted(fields))
    if done:
        reason += "; completes follow-up " + ", ".join(str(f.id) for f in done)
    record(session, patient_id=patient.id, trigger="measure", on=on, reason=reason, by=by, at=now)
    return row


#: The fields ``patient update`` may change (those of its input model but ``reason``).
UPDATABLE = ("weight_kg", "height_cm", "diabetes", "name")


def _plain(value: object) -> object:
    return value.value if isinstance(value, Enum) else value


#: The self-report options of ``patient update`` (docs/self-report.md).
ENROLMENT = ("self_report", "email", "address")
_ENROLMENT_COLUMNS = ("self_report", "email", "postal_address", "self_report_consent_on")


def _enrol(
    patient: Patient,
    data: PatientUpdateBody,
    changes: dict[str, dict[str, object]],
    reason: str,
    *,
    today: date,
) -> str:
    """Applies the self-report options; their old and new values, the consent date
    among them, join the history row's ``changes``."""
    before = {c: getattr(patient, c) for c in _ENROLMENT_COLUMNS}
    mode = _plain(data.self_report) if data.self_report is not None else None
    selfreport.enrol(
        patient,
        mode=str(mode) if mode else None,
        email=data.email,
        address=data.address,
        today=today,
    )
    for column in _ENROLMENT_COLUMNS:
        new = getattr(patient, column)
        if new != before[column]:
            old = before[column]
            changes[column] = {
                "old": old.isoformat() if isinstance(old, date) else old,
                "new": new.isoformat() if isinstance(new, date) else new,
            }
    return reason


def update_patient(
    *, session: Session, target: str, data: PatientUpdateBody, actor: Actor, clock: Clock
) -> Patient:
    """Corrects a patient's record; one history row keeps the old and new values.

    Only the fields given change; an update that gives none, or changes nothing, is
    refused. Courses keep the weight they were dosed with (their request is a record).
    A change of diabetes status plans or cancels the diabetes follow-ups
    (:func:`~workflow.service.followups.diabetes_changed`); the history row says which.
    """
    given = {f: _plain(v) for f in UPDATABLE if (v := getattr(data, f, None)) is not None}
    enrolling = any(getattr(data, f, None) is not None for f in ENROLMENT)
    if not given and not enrolling:
        options = ", ".join("--" + f.replace("_", "-") for f in (*UPDATABLE, *ENROLMENT))
        raise InvalidInput(f"update: give at least one of {options}.")
    reason = required_text(data.reason, "reason")
    patient = patient_by_mrn(session, target, lock=True)
    changes = {
        f: {"old": getattr(patient, f), "new": v}
        for f, v in given.items()
        if getattr(patient, f) != v
    }
    if enrolling:
        reason = _enrol(patient, data, changes, reason, today=clock.today())
        if "self_report" in changes and patient.self_report == selfreport.Mode.NONE.value:
            closed = selfreport.close_open_links(session, patient_id=patient.id, now=clock.now())
            if closed:
                reason = f"{reason}; {closed} self-report link(s) already sent closed"
    if not changes:
        raise TransitionRefused(
            f"update: patient {patient.mrn} already has these values; nothing changed."
        )
    had_diabetes = has_diabetes(patient)
    for f, change in changes.items():
        if f in given:  # the self-report columns are already set by _enrol
            setattr(patient, f, change["new"])
    note = diabetes_changed(session, patient=patient, had_diabetes=had_diabetes, clock=clock)
    if note is not None:
        reason = f"{reason}; {note}"
    now = clock.now()
    record(
        session,
        patient_id=patient.id,
        trigger="update",
        by=actor.name,
        at=now,
        on=clock.today(),
        reason=reason,
        changes=changes,
    )
    return patient
