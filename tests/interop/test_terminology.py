"""The codes are data with a source, the docs table is generated from them, and
nothing local is passed off as a standard code."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.schemas import Indication
from workflow.terminology import parse, terminology
from workflow.terminology.docs import document

DOC = Path(__file__).resolve().parents[2] / "docs" / "terminology.md"


def test_docs_terminology_table_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == document(), (
        "run: python scripts/gen_terminology_doc.py"
    )


def test_every_indication_has_a_code() -> None:
    assert set(terminology().indications) == {i.value for i in Indication}


def test_every_follow_up_kind_has_a_code() -> None:
    from workflow.followups import PLAN

    assert {k.kind for k in PLAN} <= set(terminology().activities)


def test_every_adverse_event_kind_has_a_code() -> None:
    import workflow.schemas as schemas

    kinds = getattr(schemas, "AdverseEventKind", None)
    if kinds is None:
        pytest.skip("adverse events are not recorded yet (issue 11)")
    assert {k.value for k in kinds} <= set(terminology().adverse_events)


def test_every_severity_grade_has_a_code() -> None:
    assert set(terminology().severity) == {1, 2, 3, 4, 5}


def test_local_codes_are_marked_for_mapping_and_standard_ones_are_not() -> None:
    terms = terminology()
    codes = [
        *terms.measures.values(),
        *terms.indications.values(),
        *terms.severity.values(),
        *terms.activities.values(),
        *terms.medicines.values(),
        *terms.adverse_events.values(),
    ]
    for code in codes:
        assert code.source, f"{code.key} has no source"
        assert code.to_be_mapped == (not code.standard), code.key
        if code.standard:
            assert code.system in {"loinc", "snomed", "atc"}
        else:
            assert code.uri == terms.local_system
        if code.broader is not None:
            assert code.broader.standard


def test_the_brief_s_codes() -> None:
    m = terminology().measures
    assert (m["vas"].code, m["hba1c_percent"].code, m["hba1c_mmol_mol"].code) == (
        "38214-3",
        "4548-4",
        "59261-8",
    )
    assert m["hba1c_percent"].unit == "%" and m["hba1c_mmol_mol"].unit == "mmol/mol"
    assert terminology().medicines["ivig"].code == "J06BA02"


def test_a_measure_is_found_by_its_code_or_an_accepted_one() -> None:
    terms = terminology()
    loinc = terms.uri("loinc")
    assert terms.measure_for(loinc, "38214-3") is terms.measures["vas"]
    assert terms.measure_for(loinc, "72514-3") is terms.measures["vas"]
    assert terms.measure_for(loinc, "64098-7") is terms.measures["walking_distance_m"]
    snomed = terms.uri("snomed")
    assert terms.measure_for(snomed, "165263003") is terms.measures["walking_distance_m"]
    assert terms.measure_for(terms.local_system, "mrc-sum-score") is terms.measures["mrc_sum"]
    assert terms.measure_for(loinc, "mrc-sum-score") is None


def test_a_measure_without_a_ucum_unit_is_refused() -> None:
    document_ = {
        "systems": {"local": {"uri": "urn:x", "name": "x"}},
        "units": {"m": {"display": "metre", "source": "UCUM"}},
        "measures": {"x": {"system": "local", "code": "x", "display": "x", "unit": "furlong"}},
        "indications": {},
        "severity": {},
        "medicines": {},
    }
    with pytest.raises(ValueError, match="furlong"):
        parse(document_)


def test_the_medicines_vocabulary_is_atc_coded_with_current_codes() -> None:
    """Every medicine a request may list carries a well-formed WHO ATC code (current
    after the 2023 move of the gabapentinoids to N02BF, the old code kept beside it),
    and docs/terminology.md shows them (the staleness test above)."""
    import re

    from workflow.review.medicines import load_medicines

    vocabulary = {m.generic: m for m in load_medicines().medicines}
    pattern = re.compile(r"^[A-Z](\d\d([A-Z]([A-Z](\d\d)?)?)?)?$")
    for medicine in vocabulary.values():
        for code in (medicine.atc, medicine.atc_former):
            assert code is None or pattern.match(code), (medicine.generic, code)
    expected = {
        "pregabalin": ("N02BF02", "N03AX16"),
        "gabapentin": ("N02BF01", "N03AX12"),
        "duloxetine": ("N06AX21", None),
        "amitriptyline": ("N06AA09", None),
        "tramadol": ("N02AX02", None),
        "tapentadol": ("N02AX06", None),
        "prednisone": ("H02AB07", None),
        "methylprednisolone": ("H02AB04", None),
    }
    for generic, codes in expected.items():
        medicine = vocabulary[generic]
        assert (medicine.atc, medicine.atc_former) == codes, generic
    table = DOC.read_text(encoding="utf-8")
    assert "| pregabalin | `N02BF02` | `N03AX16` |" in table


def test_every_unit_the_programme_writes_is_in_the_ucum_table() -> None:
    """The analyst export's data dictionary and the FHIR quantities use only the UCUM
    codes docs/terminology.md lists (ages in years are `a`)."""
    from workflow.export.cohort import _tables

    units = terminology().units
    for table in _tables():
        for column in table.columns:
            assert not column.unit or column.unit in units, (table.name, column.name)
    assert "a" in units


_VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def _snomed_concept_id_is_well_formed(sctid: str) -> bool:
    """A SNOMED CT concept id: Verhoeff check digit valid, partition 00 (a concept)."""
    check = 0
    for i, digit in enumerate(reversed(sctid)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(digit)]]
    return sctid.isdigit() and 6 <= len(sctid) <= 18 and check == 0 and sctid[-3:-1] == "00"


def _loinc_check_digit_is_right(code: str) -> bool:
    """LOINC's mod-10 check digit (the digit after the hyphen)."""
    number, _, check = code.partition("-")
    total = 0
    for i, ch in enumerate(reversed(number)):
        digit = int(ch) * (2 if i % 2 == 0 else 1)
        total += digit // 10 + digit % 10
    return check.isdigit() and (10 - total % 10) % 10 == int(check)


def test_every_standard_code_is_well_formed_so_a_typo_cannot_pass_as_a_code() -> None:
    terms = terminology()
    codes = [
        *terms.measures.values(),
        *terms.indications.values(),
        *terms.severity.values(),
        *terms.medicines.values(),
    ]
    pairs = [(c.uri, c.code) for c in codes] + [
        (c.broader.uri, c.broader.code) for c in codes if c.broader is not None
    ]
    pairs += [pair for c in codes for pair in c.also_accepted]
    checked = {"loinc": 0, "snomed": 0}
    for uri, code in pairs:
        if uri == terms.uri("loinc"):
            assert _loinc_check_digit_is_right(code), code
            checked["loinc"] += 1
        elif uri == terms.uri("snomed"):
            assert _snomed_concept_id_is_well_formed(code), code
            checked["snomed"] += 1
    assert checked["loinc"] >= 8 and checked["snomed"] >= 5
    assert not _snomed_concept_id_is_well_formed("230572003")  # one digit off
    assert not _loinc_check_digit_is_right("4548-5")
