"""``ivig export cohort``: one CSV a table and a data dictionary, for R, Stata or pandas.

Patients appear only as a keyed hash of their MRN (HMAC-SHA256 with
``IVIG_PSEUDONYM_KEY``): the same key gives the same pseudonym in every export, so
exports can be joined over time, and nobody without the key can go back to the MRN.
Names, MRNs and birth dates are never written; clinical dates are kept. Voided rows
are written and flagged (``voided`` = 1), never dropped, so a count can be checked
against the record; every figure of the programme's reports leaves them out.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from workflow import models
from workflow.errors import InvalidInput
from workflow.models import Assessment, Course, FollowUp, Infusion, Measurement, Patient
from workflow.terminology import terminology

#: The shortest key accepted: a short key makes pseudonyms guessable from MRNs.
MIN_KEY_LENGTH = 16


def pseudonym(key: bytes, mrn: str) -> str:
    """The patient's pseudonym: HMAC-SHA256 of the MRN (case-folded), hex."""
    return hmac.new(key, mrn.strip().casefold().encode("utf-8"), hashlib.sha256).hexdigest()


def check_key(key: str | None) -> bytes:
    if not key:
        raise InvalidInput(
            "IVIG_PSEUDONYM_KEY: is not set; the cohort export pseudonymises patients with a "
            "keyed hash and refuses to run without a key."
        )
    if len(key) < MIN_KEY_LENGTH:
        raise InvalidInput(
            f"IVIG_PSEUDONYM_KEY: is shorter than {MIN_KEY_LENGTH} characters, too easy to guess."
        )
    return key.encode("utf-8")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # integer, number, date, datetime, text, boolean (0/1)
    description: str
    unit: str = ""  # UCUM
    code: str = ""  # system|code of what the column measures
    read: Callable[[Any], Any] | None = None  # from the row (default: the attribute)


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    query: Callable[[date], Select[Any]]


def _measured(name: str, kind: str, description: str, measure: str) -> Column:
    """A column holding a coded measure: its UCUM unit and code in the dictionary."""
    code = terminology().measures[measure]
    return Column(name, kind, description, unit=code.unit or "", code=f"{code.uri}|{code.code}")


PATIENT = Column("patient", "text", "Pseudonym of the patient: HMAC-SHA256 of the MRN, hex.")
VOIDED = (
    Column("voided", "boolean", "1: the row was voided (entered in error); leave it out."),
    Column("voided_at", "datetime", "When it was voided (UTC)."),
)  # the reason is free text (it may name the patient): left out, like notes


def _tables() -> list[Table]:
    courses = Table(
        "courses",
        "One row per course (request) dated on or before as_of.",
        (
            Column("course_id", "integer", "The course's id.", read=lambda r: r.id),
            PATIENT,
            Column("prior_course_id", "integer", "The course this one re-treats (empty: first)."),
            Column("state", "text", "The course's state when exported (docs/states.md)."),
            Column("indication", "text", "Indication (docs/terminology.md for codes)."),
            Column("severity_grade", "integer", "CTCAE grade of the neuropathy, 1-4."),
            Column("sex", "text", "Patient's sex.", read=lambda r: r.patient.sex),
            Column("diabetes", "text", "Patient's diabetes.", read=lambda r: r.patient.diabetes),
            Column(
                "age_at_request",
                "integer",
                "Age in whole years on the request date.",
                unit="a",
                read=lambda r: _age(r.patient.birth_date, r.requested_on),
            ),
            Column("product", "text", "IVIG product (ATC J06BA02)."),
            Column("dose_g_per_kg_per_day", "number", "Prescribed daily dose.", unit="g/kg/d"),
            Column("days", "integer", "Planned infusion days.", unit="d"),
            Column("repeat_every_weeks", "integer", "Requested repeat interval.", unit="wk"),
            Column("weight_kg", "number", "Weight at request.", unit="kg"),
            Column("dosing_weight_kg", "number", "Weight the dose was computed on.", unit="kg"),
            Column("grams_per_day", "number", "Planned grams a day.", unit="g"),
            Column("total_grams", "number", "Planned grams in all.", unit="g"),
            _measured("baseline_vas", "number", "Pain VAS 0-10 at request.", "vas"),
            _measured("baseline_mrc_sum", "integer", "MRC sum 0-60 at request.", "mrc_sum"),
            _measured(
                "baseline_walking_distance_m",
                "number",
                "Walking distance at request.",
                "walking_distance_m",
            ),
            Column("requested_on", "date", "Clinical date of the request."),
            Column("first_infusion_date", "date", "First live infusion day."),
            Column("last_infusion_date", "date", "Last live infusion day (counts follow-up)."),
            Column("relapse_date", "date", "Confirmed relapse (empty: none)."),
            Column("ended_on", "date", "Closed, stopped or cancelled on."),
            Column(
                "recommendation",
                "text",
                "Decision support outcome at request.",
                read=lambda r: (r.recommendation or {}).get("outcome"),
            ),
            Column("policy_id", "text", "Review policy that judged the request."),
            Column("policy_version", "text", "Its version."),
        ),
        lambda as_of: select(Course).where(Course.requested_on <= as_of).order_by(Course.id),
    )
    infusions = Table(
        "infusions",
        "One row per infusion day dated on or before as_of.",
        (
            Column("infusion_id", "integer", "The infusion's id.", read=lambda r: r.id),
            Column("course_id", "integer", "Its course."),
            PATIENT,
            Column("day_number", "integer", "Day of the course, 1-10."),
            Column("date", "date", "Clinical date."),
            Column("grams", "number", "Grams given.", unit="g"),
            *([Column("lot", "text", "Product lot.")] if hasattr(Infusion, "lot") else []),
            *VOIDED,
        ),
        lambda as_of: select(Infusion).where(Infusion.date <= as_of).order_by(Infusion.id),
    )
    assessments = Table(
        "assessments",
        "One row per outcome assessment dated on or before as_of.",
        (
            Column("assessment_id", "integer", "The assessment's id.", read=lambda r: r.id),
            Column("course_id", "integer", "Its course."),
            PATIENT,
            Column("date", "date", "Clinical date."),
            _measured("vas", "number", "Pain VAS 0-10.", "vas"),
            _measured("mrc_sum", "integer", "MRC sum 0-60.", "mrc_sum"),
            _measured("walking_distance_m", "number", "Walking distance.", "walking_distance_m"),
            *(
                [Column("source", "text", "Who gave the values: clinician or patient.")]
                if hasattr(Assessment, "source")
                else []
            ),
            *VOIDED,
        ),
        lambda as_of: select(Assessment).where(Assessment.date <= as_of).order_by(Assessment.id),
    )
    measurements = Table(
        "measurements",
        "One row per diabetes-care or kidney measurement dated on or before as_of.",
        (
            Column("measurement_id", "integer", "The measurement's id.", read=lambda r: r.id),
            PATIENT,
            Column("date", "date", "Clinical date."),
            _measured("hba1c_percent", "number", "HbA1c.", "hba1c_percent"),
            _measured(
                "monofilament_sites_felt",
                "integer",
                "10-g monofilament sites felt, 0-10.",
                "monofilament_sites_felt",
            ),
            _measured(
                "creatinine_clearance_ml_min",
                "number",
                "Creatinine clearance.",
                "creatinine_clearance_ml_min",
            ),
            *VOIDED,
        ),
        lambda as_of: select(Measurement).where(Measurement.date <= as_of).order_by(Measurement.id),
    )
    followups = Table(
        "followups",
        "One row per follow-up due on or before as_of, or made by then.",
        (
            Column("followup_id", "integer", "The follow-up's id.", read=lambda r: r.id),
            PATIENT,
            Column("course_id", "integer", "Its course (empty: a patient-level follow-up)."),
            Column("origin_course_id", "integer", "The course whose monitoring called for it."),
            Column("kind", "text", "reassess_2w, reassess_1m, hba1c or monofilament."),
            Column("due_date", "date", "Due date."),
            Column("status", "text", "scheduled, raised, done or cancelled (when exported)."),
            Column("completed_on", "date", "Date of the record that completed it."),
        ),
        lambda as_of: (
            select(FollowUp)
            .where(FollowUp.created_at < datetime.combine(as_of + timedelta(days=1), time(), UTC))
            .order_by(FollowUp.id)
        ),
    )
    tables = [courses, infusions, assessments, measurements, followups]
    adverse = getattr(models, "AdverseEvent", None)
    if adverse is not None:  # issue 11's adverse events, once they exist
        tables.append(_adverse_events(adverse))
    return tables


def _adverse_events(model: Any) -> Table:
    """Adverse events without their free-text note (it may name the patient)."""
    return Table(
        "adverse_events",
        "One row per recorded adverse event dated on or before as_of (notes left out).",
        (
            Column("adverse_event_id", "integer", "The adverse event's id.", read=_attribute("id")),
            Column("course_id", "integer", "Its course."),
            PATIENT,
            Column("date", "date", "Clinical date of the event."),
            Column("kind", "text", "What happened (the programme's adverse event kinds)."),
            Column("grade", "integer", "CTCAE grade, 1-5."),
        ),
        lambda as_of: select(model).where(model.date <= as_of).order_by(model.id),
    )


def _attribute(name: str) -> Callable[[Any], Any]:
    def read(row: Any) -> Any:
        return getattr(row, name)

    return read


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _patient_of(session: Session, row: Any, cache: dict[int, str], key: bytes) -> str:
    patient_id = getattr(row, "patient_id", None)
    if patient_id is None:
        course = session.get(Course, row.course_id)
        assert course is not None
        patient_id = course.patient_id
    if patient_id not in cache:
        patient = session.get(Patient, patient_id)
        assert patient is not None
        cache[patient_id] = pseudonym(key, patient.mrn)
    return cache[patient_id]


def _value(session: Session, row: Any, column: Column, cache: dict[int, str], key: bytes) -> Any:
    if column is PATIENT:
        return _patient_of(session, row, cache, key)
    if column.name == "voided":
        return int(getattr(row, "voided_at", None) is not None)
    if column.read is not None:
        return column.read(row)
    return getattr(row, column.name)


def export_cohort(session: Session, *, out: Path, as_of: date, key: str | None) -> dict[str, int]:
    """Writes the CSVs and ``data_dictionary.csv`` into ``out``; rows per table."""
    secret = check_key(key)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"out: cannot create {out} ({exc.strerror}).") from None
    counts: dict[str, int] = {}
    cache: dict[int, str] = {}
    tables = _tables()
    for table in tables:
        rows = session.scalars(table.query(as_of)).all()
        _write(
            out / f"{table.name}.csv",
            [c.name for c in table.columns],
            (
                [_cell(_value(session, row, c, cache, secret)) for c in table.columns]
                for row in rows
            ),
        )
        counts[table.name] = len(rows)
    _write(
        out / "data_dictionary.csv",
        ["table", "column", "type", "unit", "code", "description"],
        (
            [t.name, c.name, c.type, c.unit, c.code, c.description]
            for t in tables
            for c in t.columns
        ),
    )
    return counts


def _write(path: Path, header: Sequence[str], rows: Any) -> None:
    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    except OSError as exc:
        raise InvalidInput(f"out: cannot write {path} ({exc.strerror}).") from None
