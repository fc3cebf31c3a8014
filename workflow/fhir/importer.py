"""Lab results and outcome scores in from a FHIR R4B Bundle of Observations.

The whole Bundle or nothing: every entry is read and checked first, then each value
is recorded through the same services as ``patient measure`` and ``course assess``
(which complete the follow-ups they satisfy), all in the caller's one transaction.
Any fault raises ``InvalidInput`` naming the entry, and the caller rolls back.

Idempotent by the Observation's ``id``: each imported id is kept with the row it
became, and an id seen before is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.catalogue import Actor
from workflow.clock import Clock
from workflow.errors import InvalidInput, IvigError
from workflow.models import Course, ImportedObservation, Patient
from workflow.review.policy import Policy
from workflow.service import monitoring, patients, permissions
from workflow.states import AFTER_INFUSIONS
from workflow.terminology import Code, Terminology, terminology

#: Observation statuses whose value may be recorded.
RECORDABLE = ("final", "amended", "corrected")
#: Measures kept as whole numbers.
WHOLE = ("mrc_sum", "monofilament_sites_felt")
#: The option name a service's message starts with, per measure.
FIELD_NAMES = {
    "vas": "vas",
    "mrc_sum": "mrc-sum",
    "walking_distance_m": "walking-distance-m",
    "hba1c_percent": "hba1c",
    "hba1c_mmol_mol": "hba1c",
    "monofilament_sites_felt": "monofilament-sites-felt",
    "creatinine_clearance_ml_min": "creatinine-clearance",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Value:
    """One Observation, read and checked: who, what, when, how much."""

    entry: int  # 1-based position in the Bundle
    source_id: str
    patient: Patient
    measure: Code
    field: str  # where the value is stored (hba1c_mmol_mol is stored as hba1c_percent)
    on: date
    value: float

    @property
    def name(self) -> str:
        return f"entry {self.entry} (Observation {self.source_id})"


@dataclass
class ImportResult:
    imported: list[dict[str, Any]] = field(default_factory=list)
    already_imported: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"imported": self.imported, "already_imported": self.already_imported}


def _fail(where: str, message: str) -> InvalidInput:
    return InvalidInput(f"{where}: {message}")


def _structure(doc: Any) -> None:
    """The R4B models' verdict on the document, as one sentence naming the entry."""
    from fhir.resources.R4B.bundle import Bundle

    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        raise InvalidInput("bundle: the document is not a FHIR Bundle (resourceType Bundle).")
    try:
        Bundle.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        where = "bundle"
        if len(loc) >= 2 and loc[0] == "entry" and isinstance(loc[1], int):
            where = f"entry {loc[1] + 1}{_described(doc, loc[1])}"
            loc = loc[2:]
        path = ".".join(str(p) for p in loc if not str(p).startswith("function"))
        raise _fail(
            where, f"is not valid FHIR R4B ({path or 'resource'}: {first['msg']})."
        ) from None
    _invariants(doc)


#: Bundle types whose entries must each carry a ``request`` (FHIR invariant bdl-3), and
#: those whose entries must each carry a ``response`` (bdl-4); no other type may.
_REQUEST_TYPES = ("batch", "transaction", "history")
_RESPONSE_TYPES = ("batch-response", "transaction-response", "history")


def _invariants(doc: dict[str, Any]) -> None:
    """The Bundle rules of R4B that the models do not check (bdl-3, bdl-4, bdl-7: an
    independent validator refuses such a Bundle, so the import does too)."""
    kind = doc.get("type")
    seen: dict[str, int] = {}
    for number, entry in enumerate(doc.get("entry") or [], start=1):
        where = f"entry {number}{_described(doc, number - 1)}"
        for part, types, rule in (
            ("request", _REQUEST_TYPES, "bdl-3"),
            ("response", _RESPONSE_TYPES, "bdl-4"),
        ):
            if kind in types and not entry.get(part):
                raise _fail(
                    where,
                    f"has no {part}, which every entry of a {kind} Bundle needs "
                    f"(FHIR R4B invariant {rule}).",
                )
            if kind not in types and entry.get(part):
                raise _fail(
                    where,
                    f"has a {part}, which an entry of a {kind} Bundle may not have "
                    f"(FHIR R4B invariant {rule}).",
                )
        full_url = entry.get("fullUrl")
        if full_url and kind != "history":  # a history holds versions of one resource
            resource = entry.get("resource")
            meta = resource.get("meta") if isinstance(resource, dict) else None
            key = f"{full_url} {meta.get('versionId') if isinstance(meta, dict) else ''}"
            if key in seen:
                raise _fail(
                    where,
                    f"repeats the fullUrl of entry {seen[key]} (FHIR R4B invariant bdl-7).",
                )
            seen[key] = number


def _described(doc: dict[str, Any], index: int) -> str:
    """`` (Observation obs-1)`` for the entry at ``index``, as far as it can be read."""
    try:
        resource = doc["entry"][index]["resource"]
        return f" ({resource['resourceType']} {resource.get('id') or ''})".replace(" )", ")")
    except (KeyError, IndexError, TypeError):
        return ""


def _patients_in_bundle(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "Patient":
            if entry.get("fullUrl"):
                found[entry["fullUrl"]] = resource
            if resource.get("id"):
                found[f"Patient/{resource['id']}"] = resource
    return found


def _mrn_of(identifiers: list[dict[str, Any]], terms: Terminology) -> str | None:
    mrn_system = terms.uri("mrn")
    for identifier in identifiers:
        if identifier.get("system") in (None, mrn_system) and identifier.get("value"):
            return str(identifier["value"])
    return None


def _subject(
    resource: dict[str, Any],
    in_bundle: dict[str, dict[str, Any]],
    session: Session,
    terms: Terminology,
    where: str,
) -> Patient:
    subject = resource.get("subject") or {}
    mrn: str | None = None
    if subject.get("identifier"):
        mrn = _mrn_of([subject["identifier"]], terms)
    elif subject.get("reference") in in_bundle:
        mrn = _mrn_of(in_bundle[subject["reference"]].get("identifier") or [], terms)
    if mrn is None:
        raise _fail(
            where,
            "subject names no patient by MRN (an identifier with system "
            f"{terms.uri('mrn')} or none, or a reference to such a Patient in the Bundle).",
        )
    patient = session.scalars(
        select(Patient).where(func.lower(Patient.mrn) == mrn.lower())
    ).one_or_none()
    if patient is None:
        raise _fail(where, f"no patient is registered with MRN {mrn}.")
    return patient


def _measure(resource: dict[str, Any], terms: Terminology, where: str) -> Code:
    codings = (resource.get("code") or {}).get("coding") or []
    for coding in codings:
        measure = terms.measure_for(coding.get("system", ""), str(coding.get("code", "")))
        if measure is not None and measure.recorded_as in ("assessment", "measurement"):
            return measure
    shown = ", ".join(f"{c.get('system')}|{c.get('code')}" for c in codings) or "none"
    raise _fail(where, f"code {shown} is not a measure this programme records.")


def _date(resource: dict[str, Any], clock: Clock, where: str) -> date:
    text = resource.get("effectiveDateTime")
    if not isinstance(text, str):
        raise _fail(where, "has no effectiveDateTime.")
    if _DATE.match(text):
        return date.fromisoformat(text)
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(where, f"effectiveDateTime {text!r} is not a full date.") from None
    if instant.tzinfo is None:
        return instant.date()
    return instant.astimezone(clock.zone).date()


def _quantity(resource: dict[str, Any], measure: Code, terms: Terminology, where: str) -> float:
    quantity = resource.get("valueQuantity")
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        raise _fail(where, "has no valueQuantity with a value.")
    unit = quantity.get("code") if quantity.get("system") else quantity.get("unit")
    if quantity.get("system") not in (None, terms.uri("ucum")) or unit != measure.unit:
        raise _fail(where, f"unit {unit!r} is not {measure.unit!r} (UCUM) for {measure.display}.")
    raw = quantity["value"]
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        # FHIR JSON writes a decimal as a JSON number; the models would take "65".
        raise _fail(where, f"valueQuantity.value {raw!r} is not a JSON number.")
    value = float(raw)
    if measure.key in WHOLE and value != int(value):
        raise _fail(where, f"{FIELD_NAMES[measure.key]}: {value:g} is not a whole number.")
    return value


def read_values(
    session: Session, doc: Any, *, clock: Clock, terms: Terminology | None = None
) -> tuple[list[Value], list[str]]:
    """Every Observation checked: the new values, and the ids imported before."""
    terms = terms or terminology()
    _structure(doc)
    entries: list[dict[str, Any]] = doc.get("entry") or []
    in_bundle = _patients_in_bundle(entries)
    seen: dict[str, int] = {}
    values: list[Value] = []
    for number, entry in enumerate(entries, start=1):
        resource = entry.get("resource") or {}
        kind = resource.get("resourceType")
        where = f"entry {number} ({kind})"
        if kind == "Patient":
            continue
        if kind != "Observation":
            raise _fail(where, "only Observations (and the Patients they name) can be imported.")
        source_id = resource.get("id")
        if not source_id:
            raise _fail(where, "has no id (the id makes importing twice record nothing new).")
        where = f"entry {number} (Observation {source_id})"
        if source_id in seen:
            raise _fail(where, f"repeats the id of entry {seen[source_id]}.")
        seen[source_id] = number
        if resource.get("status") not in RECORDABLE:
            raise _fail(
                where, f"status {resource.get('status')!r} is not one of final, amended, corrected."
            )
        measure = _measure(resource, terms, where)
        value = _quantity(resource, measure, terms, where)
        stored = measure.key
        if measure.key == "hba1c_mmol_mol":
            factor = measure.extra["to_percent"]
            value, stored = round(factor["factor"] * value + factor["offset"], 2), "hba1c_percent"
        values.append(
            Value(
                entry=number,
                source_id=str(source_id),
                patient=_subject(resource, in_bundle, session, terms, where),
                measure=measure,
                field=stored,
                on=_date(resource, clock, where),
                value=value,
            )
        )
    known = set(
        session.scalars(
            select(ImportedObservation.source_id).where(
                ImportedObservation.source_id.in_([v.source_id for v in values])
            )
        )
    )
    return [v for v in values if v.source_id not in known], sorted(known)


def _course_on(session: Session, value: Value) -> Course:
    """The patient's course whose infusions ended last on or before the value's date."""
    course = session.scalars(
        select(Course)
        .where(
            Course.patient_id == value.patient.id,
            Course.state.in_([s.value for s in AFTER_INFUSIONS]),
            Course.last_infusion_date <= value.on,
        )
        .order_by(Course.last_infusion_date.desc(), Course.id.desc())
        .limit(1)
    ).one_or_none()
    if course is None:
        raise _fail(
            value.name,
            f"patient {value.patient.mrn} has no course whose infusions had ended by "
            f"{value.on.isoformat()}, so the {value.measure.display} has no course to belong to.",
        )
    return course


def _groups(values: list[Value], key: Any) -> list[list[Value]]:
    """Values of one record: same key, each field at most once (a repeat starts another)."""
    groups: list[tuple[Any, list[Value]]] = []
    for value in values:
        k = key(value)
        home = next(
            (g for gk, g in groups if gk == k and all(v.field != value.field for v in g)), None
        )
        if home is None:
            groups.append((k, [value]))
        else:
            home.append(value)
    return [g for _, g in groups]


def _blame(group: list[Value], exc: IvigError) -> InvalidInput:
    culprit = next(
        (v for v in group if exc.message.startswith(FIELD_NAMES[v.measure.key] + ":")), None
    )
    where = culprit.name if culprit else ", ".join(v.name for v in group)
    return _fail(where, exc.message)


def import_bundle(
    session: Session, doc: Any, *, actor: Actor, clock: Clock, policy: Policy
) -> ImportResult:
    """Records every new Observation of the Bundle; raises ``InvalidInput`` on any fault
    (``PermissionDenied`` first when the actor's role may not import)."""
    permissions.check("fhir-import", actor)
    by = actor.name
    values, already = read_values(session, doc, clock=clock)
    result = ImportResult(already_imported=already)
    assessments = [v for v in values if v.measure.recorded_as == "assessment"]
    measurements = [v for v in values if v.measure.recorded_as == "measurement"]
    courses = {v.source_id: _course_on(session, v) for v in assessments}
    for group in _groups(assessments, lambda v: (courses[v.source_id].id, v.on)):
        given = {v.field: v.value for v in group}
        try:
            row = monitoring.assess(
                session=session,
                course_id=courses[group[0].source_id].id,
                on=group[0].on,
                vas=given.get("vas"),
                mrc_sum=None if "mrc_sum" not in given else int(given["mrc_sum"]),
                walking_distance_m=given.get("walking_distance_m"),
                by=by,
                clock=clock,
                policy=policy,
            )
        except IvigError as exc:
            raise _blame(group, exc) from None
        _keep(session, result, group, by=by, clock=clock, assessment_id=row.id)
    for group in _groups(measurements, lambda v: (v.patient.id, v.on)):
        given = {v.field: v.value for v in group}
        try:
            measured = patients.measure(
                session=session,
                mrn=group[0].patient.mrn,
                on=group[0].on,
                hba1c_percent=given.get("hba1c_percent"),
                monofilament_sites_felt=None
                if "monofilament_sites_felt" not in given
                else int(given["monofilament_sites_felt"]),
                creatinine_clearance_ml_min=given.get("creatinine_clearance_ml_min"),
                by=by,
                clock=clock,
            )
        except IvigError as exc:
            raise _blame(group, exc) from None
        _keep(session, result, group, by=by, clock=clock, measurement_id=measured.id)
    return result


def _keep(
    session: Session,
    result: ImportResult,
    group: list[Value],
    *,
    by: str,
    clock: Clock,
    assessment_id: int | None = None,
    measurement_id: int | None = None,
) -> None:
    for value in group:
        session.add(
            ImportedObservation(
                source_id=value.source_id,
                patient_id=value.patient.id,
                measure=value.measure.key,
                assessment_id=assessment_id,
                measurement_id=measurement_id,
                actor=by,
                imported_at=clock.now(),
            )
        )
        result.imported.append(
            {
                "observation": value.source_id,
                "mrn": value.patient.mrn,
                "measure": value.measure.key,
                "date": value.on.isoformat(),
                "value": value.value,
                "assessment_id": assessment_id,
                "measurement_id": measurement_id,
            }
        )
    session.flush()
