"""HTML forms to the same input models the CLI and API validate, and errors back to fields.

A form keeps what was typed; a refusal is shown beside the field it names (the
services' messages start with the field's name), else at the top of the form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from workflow.errors import IvigError
from workflow.validation import describe_error

M = TypeVar("M", bound=BaseModel)

#: Rows of the request form's medication table: a name and a number of mg a day each,
#: checked as separate fields (a dose typed into the name is no dose at all).
MEDICATION_ROWS = 8
MEDICATION_FIELDS = tuple(
    f"medication_{row}_{part}"
    for row in range(1, MEDICATION_ROWS + 1)
    for part in ("name", "mg_per_day")
)

#: The request document's form fields (nested keys flattened with "_").
REQUEST_FIELDS = (
    "mrn",
    "indication",
    "indication_detail",
    "severity_grade",
    "product",
    "dose_g_per_kg_per_day",
    "days",
    "repeat_every_weeks",
    "weight_kg",
    "baseline_vas",
    "baseline_mrc_sum",
    "baseline_walking_distance_m",
    "steroids_trial",
    "steroids_intolerance",
    *MEDICATION_FIELDS,
    "creatinine_clearance_ml_min",
    "creatinine_clearance_date",
    "hepatic_disease",
    "thromboembolic_risk_factors",
    "hba1c_percent",
    "hba1c_mmol_mol",
    "hba1c_date",
    "requested_on",
)

_FIELD_PREFIX = re.compile(r"^([A-Za-z_][A-Za-z0-9_.\-]*): (.+)$", re.DOTALL)


@dataclass
class FormErrors(Exception):
    """What went wrong with a form: per-field sentences and one for the whole form."""

    fields: dict[str, str] = field(default_factory=dict)
    form: str | None = None
    status: int = 422


def _form_key(loc: Iterable[int | str], known: Iterable[str]) -> str:
    items = list(loc)
    if len(items) >= 3 and items[0] == "medications" and isinstance(items[1], int):
        # medications[2].mg_per_day is the third row's dose field.
        return f"medication_{items[1] + 1}_{items[2]}"
    parts = [str(p) for p in items if not isinstance(p, int)]
    joined = "_".join(parts)
    names = set(known)
    if joined in names:
        return joined
    return parts[0] if parts and parts[0] in names else ""


def _message(error: Mapping[str, Any]) -> str:
    sentence = describe_error(error)
    match = _FIELD_PREFIX.match(sentence)
    text = match.group(2) if match else sentence
    # Beside its field, "is required." reads better as a whole sentence.
    return f"This field {text}" if text.startswith("is ") else text


def validate_form(model: type[M], data: Mapping[str, Any], known: Iterable[str]) -> M:
    """``model`` from a form's fields; every bad field gets its own message."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        names = list(known)
        found = FormErrors()
        for error in exc.errors():
            key = _form_key(error["loc"], names)
            if key and key not in found.fields:
                found.fields[key] = _message(error)
            elif not key and found.form is None:
                found.form = describe_error(error)
        if found.form is None:
            found.form = "Correct the fields marked below."
        raise found from None


_FLAG = re.compile(r"--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)")


def web_words(message: str) -> str:
    """A service's sentence as a page says it: the CLI's ``--override-reason`` becomes the
    form's “Override reason” field."""

    def field(match: re.Match[str]) -> str:
        words = match.group(1).replace("-", " ")
        return f"the “{words[0].upper()}{words[1:]}” field"

    return _FLAG.sub(field, message)


def refusal(exc: IvigError, known: Iterable[str]) -> FormErrors:
    """A service's refusal, beside the field its sentence starts with when the form has it,
    in the page's words (fields, not command-line options)."""
    message = web_words(exc.message)
    found = FormErrors(form=message, status=exc.http_status)
    match = _FIELD_PREFIX.match(message)
    if match:
        key = match.group(1).replace("-", "_").replace(".", "_")
        if key in set(known):
            found.fields[key] = match.group(2)
    return found


def present(form: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """The named fields that were filled in (blank means "not given")."""
    return {name: form[name].strip() for name in names if form.get(name, "").strip()}


# --- the request document ---------------------------------------------------------------


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


def _medications(form: Mapping[str, str]) -> list[dict[str, Any]]:
    """The filled rows of the medication table, in order (an empty row is skipped)."""
    out: list[dict[str, Any]] = []
    for row in range(1, MEDICATION_ROWS + 1):
        name = form.get(f"medication_{row}_name", "").strip()
        dose = form.get(f"medication_{row}_mg_per_day", "").strip()
        if name or dose:
            out.append({"name": name, **({"mg_per_day": dose} if dose else {})})
    return out


def request_document(form: Mapping[str, str], requested_by: str) -> dict[str, Any]:
    """The JSON request document from the request form's fields."""
    given = present(form, REQUEST_FIELDS)
    doc: dict[str, Any] = {
        key: given[key]
        for key in (
            "mrn",
            "indication",
            "indication_detail",
            "severity_grade",
            "product",
            "dose_g_per_kg_per_day",
            "days",
            "repeat_every_weeks",
            "weight_kg",
            "creatinine_clearance_ml_min",
            "creatinine_clearance_date",
            "hba1c_percent",
            "hba1c_mmol_mol",
            "hba1c_date",
            "requested_on",
        )
        if key in given
    }
    baseline = {
        key: given[f"baseline_{key}"]
        for key in ("vas", "mrc_sum", "walking_distance_m")
        if f"baseline_{key}" in given
    }
    doc["baseline"] = baseline
    if "steroids_trial" in given or "steroids_intolerance" in given:
        doc["steroids"] = {
            "trial": given.get("steroids_trial", "not_tried"),
            "intolerance": _split(given.get("steroids_intolerance", "")),
        }
    medications = _medications(given)
    if medications:
        doc["medications"] = medications
    if given.get("hepatic_disease") in ("yes", "no"):
        doc["hepatic_disease"] = given["hepatic_disease"] == "yes"
    if "thromboembolic_risk_factors" in given:
        doc["thromboembolic_risk_factors"] = _split(given["thromboembolic_risk_factors"])
    doc["requested_by"] = requested_by
    return doc


def request_values(document: Mapping[str, Any]) -> dict[str, str]:
    """The form's fields from a stored request document (to amend or re-treat it)."""
    values: dict[str, str] = {}
    for key in REQUEST_FIELDS:
        if key in document and document[key] is not None:
            values[key] = _text(document[key])
    for key, value in (document.get("baseline") or {}).items():
        if value is not None:
            values[f"baseline_{key}"] = _text(value)
    steroids = document.get("steroids") or {}
    if steroids:
        values["steroids_trial"] = str(steroids.get("trial", "not_tried"))
        values["steroids_intolerance"] = ", ".join(steroids.get("intolerance", []))
    for row, medication in enumerate(document.get("medications") or [], start=1):
        values[f"medication_{row}_name"] = str(medication["name"])
        if medication.get("mg_per_day") is not None:
            values[f"medication_{row}_mg_per_day"] = _text(medication["mg_per_day"])
    if document.get("hepatic_disease") is not None:
        values["hepatic_disease"] = "yes" if document["hepatic_disease"] else "no"
    values["thromboembolic_risk_factors"] = ", ".join(
        document.get("thromboembolic_risk_factors") or []
    )
    values.pop("requested_on", None)
    return values


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
