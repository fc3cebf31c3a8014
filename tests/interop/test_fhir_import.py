"""``ivig fhir import`` and ``POST /api/v1/fhir``: a hospital's Bundle of Observations
becomes the measurements and assessments it is, completes the follow-ups it satisfies,
records nothing new the second time, and a bad entry writes nothing at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import assert_refused, table_rows, write_json
from tests.conftest import Ivig
from tests.factories import course_in

LOINC = "http://loinc.org"
LOCAL = "https://ivig.example/fhir/CodeSystem/ivig-local"
UCUM = "http://unitsofmeasure.org"
MRN_SYSTEM = "https://ivig.example/fhir/sid/mrn"


def observation(
    oid: str,
    system: str,
    code: str,
    value: float,
    unit: str,
    on: str = "2026-11-03",
    mrn: str | None = "M1",
    **extra: Any,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "effectiveDateTime": on,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    if mrn is not None:
        resource["subject"] = {"identifier": {"system": MRN_SYSTEM, "value": mrn}}
    resource.update(extra)
    return resource


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{i:012d}", "resource": r}
            for i, r in enumerate(resources, start=1)
        ],
    }


def lab_bundle() -> dict[str, Any]:
    """A hand-written hospital Bundle: the one-month reassessment and the labs."""
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": MRN_SYSTEM, "value": "M1"}],
    }
    by_reference = observation("obs-mrc", LOCAL, "mrc-sum-score", 54, "{score}", mrn=None)
    by_reference["subject"] = {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"}
    return bundle(
        patient,
        observation("obs-vas", LOINC, "38214-3", 2.5, "{score}"),
        by_reference,
        observation("obs-walk", LOINC, "64098-7", 420, "m"),
        observation("obs-a1c", LOINC, "4548-4", 7.2, "%", on="2026-11-04"),
        observation("obs-mono", LOCAL, "monofilament-sites-felt", 8, "{sites}", on="2026-11-04"),
        observation("obs-crcl", LOINC, "2164-2", 85, "mL/min", on="2026-11-04"),
    )


def test_a_lab_bundle_imported_twice_records_once_and_completes_follow_ups(
    ivig: Ivig, tmp_path: Path
) -> None:
    cid = course_in(ivig, "monitoring")  # infusions 2026-10-01..05
    path = write_json(tmp_path / "labs.json", lab_bundle())
    first = ivig.ok("fhir", "import", path)
    assert sorted(i["observation"] for i in first["imported"]) == [
        "obs-a1c",
        "obs-crcl",
        "obs-mono",
        "obs-mrc",
        "obs-vas",
        "obs-walk",
    ]
    assert first["already_imported"] == []
    shown = ivig.ok("course", "show", str(cid))
    live = [a for a in shown["assessments"] if not a.get("voided")]
    assert len(live) == 1
    assert (live[0]["vas"], live[0]["mrc_sum"], live[0]["walking_distance_m"]) == (2.5, 54, 420)
    done = {f["kind"] for f in ivig.ok("followups", "list", "--status", "done")}
    assert "reassess_1m" in done
    measurements = ivig.ok("patient", "show", "M1")["measurements"]
    assert len(measurements) == 1, measurements
    assert measurements[0]["hba1c_percent"] == 7.2
    assert measurements[0]["monofilament_sites_felt"] == 8
    assert measurements[0]["creatinine_clearance_ml_min"] == 85

    before = table_rows()
    second = ivig.ok("fhir", "import", path)
    assert second["imported"] == []
    assert len(second["already_imported"]) == 6
    assert table_rows() == before


def test_hba1c_in_mmol_mol_is_stored_as_percent(ivig: Ivig, tmp_path: Path) -> None:
    course_in(ivig, "monitoring")
    doc = bundle(observation("ifcc", LOINC, "59261-8", 53, "mmol/mol", on="2026-11-04"))
    result = ivig.ok("fhir", "import", write_json(tmp_path / "b.json", doc))
    assert result["imported"][0]["value"] == pytest.approx(7.0, abs=0.01)


@pytest.mark.parametrize(
    ("resource", "names"),
    [
        (observation("bad-vas", LOINC, "38214-3", 11, "{score}"), ["entry 2", "bad-vas", "vas"]),
        (observation("who", LOINC, "38214-3", 3, "{score}", mrn="NOPE"), ["entry 2", "NOPE"]),
        (observation("what", LOINC, "1234-5", 3, "{score}"), ["entry 2", "1234-5"]),
        (observation("unit", LOINC, "4548-4", 7, "mmol/mol"), ["entry 2", "unit"]),
        (observation("early", LOINC, "38214-3", 3, "{score}", on="2026-09-01"), ["entry 2"]),
        (observation("future", LOINC, "38214-3", 3, "{score}", on="2027-01-01"), ["entry 2"]),
        (
            {**observation("nostatus", LOINC, "38214-3", 3, "{score}"), "status": None},
            ["entry 2", "nostatus"],
        ),
        (
            {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p"}},
            ["entry 2", "Observation"],
        ),
    ],
    ids=["range", "patient", "code", "unit", "no-course", "future", "invalid", "not-obs"],
)
def test_a_bad_entry_exits_2_naming_it_and_nothing_is_written(
    ivig: Ivig, tmp_path: Path, resource: dict[str, Any], names: list[str]
) -> None:
    course_in(ivig, "monitoring")
    good = observation("good", LOINC, "4548-4", 7.2, "%")
    if resource.get("status", "x") is None:
        del resource["status"]
    path = write_json(tmp_path / "b.json", bundle(good, resource))
    assert_refused(ivig, ["fhir", "import", path], code=2, names=names)


def test_a_document_that_is_not_a_bundle_is_refused(ivig: Ivig, tmp_path: Path) -> None:
    course_in(ivig, "monitoring")
    path = write_json(tmp_path / "b.json", {"resourceType": "Observation"})
    assert_refused(ivig, ["fhir", "import", path], code=2, names=["bundle"])
    (tmp_path / "x.json").write_text("{not json", encoding="utf-8")
    assert_refused(ivig, ["fhir", "import", str(tmp_path / "x.json")], code=2, names=["file"])


def test_an_exported_bundle_s_labs_import_into_another_system_unchanged(
    ivig: Ivig, tmp_path: Path
) -> None:
    """Round trip: our own export is importable (everything in it is already ours)."""
    course_in(ivig, "monitoring")
    ivig.ok("patient", "measure", "M1", "--date", "2026-11-04", "--hba1c", "7.2")
    exported = json.loads(ivig("fhir", "export", "--mrn", "M1").out)
    labs = [
        e["resource"]
        for e in exported["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["identifier"][0]["value"].startswith("measurement/")
    ]
    for lab in labs:
        lab["subject"] = {"identifier": {"system": MRN_SYSTEM, "value": "M1"}}
    result = ivig.ok("fhir", "import", write_json(tmp_path / "b.json", bundle(*labs)))
    assert len(result["imported"]) == 1


def test_a_value_written_as_a_json_string_is_refused(ivig: Ivig, tmp_path: Path) -> None:
    """FHIR JSON writes a decimal as a number; the R4B models would take "7.2"."""
    course_in(ivig, "monitoring")
    quoted = observation("quoted", LOINC, "4548-4", 7.2, "%")
    quoted["valueQuantity"]["value"] = "7.2"
    path = write_json(
        tmp_path / "b.json", bundle(observation("good", LOINC, "2164-2", 80, "mL/min"), quoted)
    )
    assert_refused(ivig, ["fhir", "import", path], code=2, names=["entry 2", "quoted", "value"])


def _transaction(*resources: dict[str, Any]) -> dict[str, Any]:
    doc = bundle(*resources)
    doc["type"] = "transaction"
    for entry in doc["entry"]:
        entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    return doc


def five_labs() -> list[dict[str, Any]]:
    return [
        observation("t-a1c", LOINC, "4548-4", 7.2, "%", on="2026-11-04"),
        observation("t-crcl", LOINC, "2164-2", 85, "mL/min", on="2026-11-04"),
        observation("t-mono", LOCAL, "monofilament-sites-felt", 8, "{sites}", on="2026-11-04"),
        observation("t-ifcc", LOINC, "59261-8", 53, "mmol/mol", on="2026-11-05"),
        observation("t-vas", LOINC, "38214-3", 3, "{score}", on="2026-11-05"),
    ]


def test_a_transaction_of_five_labs_is_imported(ivig: Ivig, tmp_path: Path) -> None:
    course_in(ivig, "monitoring")
    path = write_json(tmp_path / "t.json", _transaction(*five_labs()))
    assert len(ivig.ok("fhir", "import", path)["imported"]) == 5


@pytest.mark.parametrize(
    ("spoil", "names"),
    [
        (lambda d: d["entry"][2].pop("request"), ["entry 3", "request", "bdl-3"]),
        (lambda d: d.update(type="collection"), ["entry 1", "request", "bdl-3"]),
        (
            lambda d: d["entry"][4].update(fullUrl=d["entry"][3]["fullUrl"]),
            ["entry 5", "fullUrl", "bdl-7"],
        ),
        (lambda d: d["entry"][4]["resource"]["valueQuantity"].update(value=11), ["entry 5", "vas"]),
    ],
    ids=["transaction-entry-without-request", "collection-with-requests", "same-fullurl", "range"],
)
def test_one_bad_entry_of_a_five_entry_transaction_writes_nothing(
    ivig: Ivig, tmp_path: Path, spoil: Any, names: list[str]
) -> None:
    """The Bundle invariants an independent FHIR validator checks (bdl-3, bdl-7) and a
    value out of range in the last entry: exit 2 naming it, and no row written."""
    course_in(ivig, "monitoring")
    doc = _transaction(*five_labs())
    spoil(doc)
    path = write_json(tmp_path / "t.json", doc)
    assert_refused(ivig, ["fhir", "import", path], code=2, names=names)
