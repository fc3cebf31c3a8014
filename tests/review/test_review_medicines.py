"""The medicines vocabulary and the kidney-aware therapy rules, as a pharmacist checks them.

Each case starts from the clean request of ``review_helpers`` (pregabalin 300 mg/day,
creatinine clearance 90) and changes the medicines or the kidneys.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from review_helpers import build_context, build_request

from workflow.review import Policy, evaluate
from workflow.review.medicines import load_medicines, match
from workflow.schemas import Finding


def run(policy: Policy, **request: Any) -> dict[str, Finding]:
    result = evaluate(build_request(**request), build_context(), policy)
    return {f.rule: f for f in result.findings}


@pytest.mark.parametrize(
    ("written", "generic", "klass"),
    [
        ("Lyrica", "pregabalin", "gabapentinoid"),
        ("PREGABALIN 75 mg bd", "pregabalin", "gabapentinoid"),
        ("Neurontin", "gabapentin", "gabapentinoid"),
        ("Cymbalta", "duloxetine", "snri"),
        ("Palexia SR", "tapentadol", "opioid"),
        ("Nucynta", "tapentadol", "opioid"),
        ("Zydol", "tramadol", "opioid"),
        ("Ultram", "tramadol", "opioid"),
        ("Tramal", "tramadol", "opioid"),
        ("Targin 10/5", "oxycodone", "opioid"),
        ("OxyContin", "oxycodone", "opioid"),
        ("MS Contin", "morphine", "opioid"),
        ("Durogesic 25 micrograms/hour", "fentanyl", "opioid"),
        ("Duragesic", "fentanyl", "opioid"),
        ("Tylenol #3", "codeine", "opioid"),
        ("Tylenol", "paracetamol", "analgesic"),
        ("Elavil", "amitriptyline", "tca"),
        ("Endep", "amitriptyline", "tca"),
        ("nortriptyline", "nortriptyline", "tca"),
        ("lidocaine 5 % patch", "lidocaine", "topical"),
        ("Solu-Medrol", "methylprednisolone", "corticosteroid"),
        ("Decadron", "dexamethasone", "corticosteroid"),
        ("prednisolone", "prednisolone", "corticosteroid"),
    ],
)
def test_names_are_matched_case_insensitively(written: str, generic: str, klass: str) -> None:
    for spelling in (written, written.upper(), written.lower()):
        found = match(spelling)
        assert found is not None, spelling
        assert (found.generic, found.medicine.klass) == (generic, klass)


def test_every_entry_names_a_source_and_atc_codes_look_like_atc() -> None:
    vocabulary = load_medicines()
    for medicine in vocabulary.medicines:
        assert vocabulary.source_text(medicine)
        assert medicine.atc is None or re.fullmatch(r"[A-Z]\d\d[A-Z]{0,2}\d{0,2}", medicine.atc)


def test_label_renal_bands_of_the_gabapentinoids() -> None:
    vocabulary = load_medicines()
    pregabalin, gabapentin = vocabulary.get("pregabalin"), vocabulary.get("gabapentin")
    assert pregabalin is not None and gabapentin is not None
    bands = {cc: pregabalin.band(cc) for cc in (90, 60, 45, 30, 25, 15, 12)}
    assert {cc: (b.low, b.high) for cc, b in bands.items() if b} == {
        90: (150, 600),
        60: (150, 600),
        45: (75, 300),
        30: (75, 300),
        25: (25, 150),
        15: (25, 150),
        12: (25, 75),
    }
    gaba = {cc: gabapentin.band(cc) for cc in (60, 45, 20, 12)}
    assert {cc: (b.low, b.high) for cc, b in gaba.items() if b} == {
        60: (900, 3600),
        45: (400, 1400),
        20: (200, 700),
        12: (100, 300),
    }


def test_unknown_medication_names_are_reported_as_info(policy: Policy) -> None:
    found = run(
        policy,
        medications=[
            {"name": "pregabalin", "mg_per_day": 300},
            {"name": "pregablin", "mg_per_day": 75},
        ],
    )
    assert found["therapy.unrecognised"].severity == "info"
    assert '"pregablin"' in found["therapy.unrecognised"].message


def test_pregabalin_150_at_clearance_25_is_adequate_and_never_advised_higher(
    policy: Policy,
) -> None:
    found = run(
        policy,
        medications=[{"name": "pregabalin", "mg_per_day": 150}],
        creatinine_clearance_ml_min=25,
    )
    assert "therapy.first_line" not in found
    renal = found["therapy.renal_adjustment"]
    assert "15–30 mL/min" in renal.message and "25–150 mg/day" in renal.message
    assert "within it" in renal.message
    assert "therapy.max_dose" not in found


def test_no_agent_at_clearance_25_advises_at_most_150_mg_pregabalin(policy: Policy) -> None:
    found = run(policy, medications=[], creatinine_clearance_ml_min=25)
    texts = " ".join(found["therapy.first_line"].recommendations)
    assert "pregabalin up to 150 mg/day" in texts
    assert "300" not in texts.replace("3600", "")
    assert "not duloxetine" in texts


def test_gabapentin_3600_at_clearance_12_names_the_band_and_the_maximum(policy: Policy) -> None:
    found = run(
        policy,
        medications=[{"name": "Neurontin", "mg_per_day": 3600}],
        creatinine_clearance_ml_min=12,
    )
    assert "< 15 mL/min" in found["therapy.renal_adjustment"].message
    assert "100–300 mg/day" in found["therapy.renal_adjustment"].message
    assert "above it" in found["therapy.renal_adjustment"].message
    assert found["therapy.max_dose"].severity == "warn"
    assert "300 mg/day" in found["therapy.max_dose"].message
    assert "Neurontin" in found["therapy.max_dose"].source


@pytest.mark.parametrize(
    ("medication", "limit"),
    [
        ({"name": "pregabalin", "mg_per_day": 1200}, "600"),
        ({"name": "duloxetine", "mg_per_day": 240}, "120"),
        ({"name": "Zydol", "mg_per_day": 600}, "400"),
    ],
)
def test_above_the_label_maximum_warns(
    policy: Policy, medication: dict[str, Any], limit: str
) -> None:
    found = run(policy, medications=[medication])
    assert found["therapy.max_dose"].severity == "warn"
    assert f"{limit} mg/day" in found["therapy.max_dose"].message


def test_split_doses_are_summed_for_the_maximum(policy: Policy) -> None:
    meds = [{"name": "Lyrica", "mg_per_day": 300}, {"name": "pregabalin", "mg_per_day": 400}]
    assert "therapy.max_dose" in run(policy, medications=meds)


def test_duloxetine_below_clearance_30_warns(policy: Policy) -> None:
    found = run(
        policy,
        medications=[{"name": "Cymbalta", "mg_per_day": 60}],
        creatinine_clearance_ml_min=25,
    )
    assert "avoid" in found["therapy.renal_adjustment"].message
    assert "Cymbalta (duloxetine)" in found["therapy.renal_adjustment"].message


def test_duloxetine_at_clearance_45_is_not_a_renal_finding(policy: Policy) -> None:
    found = run(
        policy,
        medications=[{"name": "duloxetine", "mg_per_day": 60}],
        creatinine_clearance_ml_min=45,
    )
    assert "therapy.renal_adjustment" not in found


@pytest.mark.parametrize(
    "name", ["Palexia", "Zydol", "Targin", "MS Contin", "Durogesic", "Tylenol #3"]
)
def test_opioid_brands_and_combinations_count_as_opioids(policy: Policy, name: str) -> None:
    found = run(policy, medications=[{"name": "pregabalin", "mg_per_day": 300}, {"name": name}])
    assert found["therapy.opioids"].severity == "warn"
    assert name.split()[0] in found["therapy.opioids"].message
    assert "therapy.unrecognised" not in found


def test_amitriptyline_is_known_and_counts_as_an_agent(policy: Policy) -> None:
    found = run(
        policy,
        medications=[
            {"name": "pregabalin", "mg_per_day": 150},
            {"name": "Elavil", "mg_per_day": 25},
        ],
    )
    assert "therapy.unrecognised" not in found
    assert "therapy.first_line" not in found


def test_hepatic_disease_with_duloxetine_by_brand(policy: Policy) -> None:
    found = run(policy, medications=[{"name": "Cymbalta", "mg_per_day": 60}], hepatic_disease=True)
    assert found["therapy.hepatic"].severity == "warn"


_DOSE = re.compile(r"pregabalin (?:up to )?(\d+)(?:–(\d+))? mg/day")


@settings(max_examples=60, deadline=None)
@given(
    clearance=st.one_of(st.none(), st.floats(min_value=0, max_value=200)),
    pregabalin=st.one_of(st.none(), st.integers(min_value=0, max_value=1200)),
    indication=st.sampled_from(
        ["dlrpn", "diabetic_symmetric_polyneuropathy", "lumbosacral_plexus_neuritis"]
    ),
    grade=st.integers(min_value=1, max_value=4),
)
def test_no_advice_ever_exceeds_the_renal_band(
    policy: Policy, clearance: float | None, pregabalin: int | None, indication: str, grade: int
) -> None:
    meds = [] if pregabalin is None else [{"name": "pregabalin", "mg_per_day": pregabalin}]
    result = evaluate(
        build_request(
            medications=meds,
            creatinine_clearance_ml_min=clearance,
            indication=indication,
            severity_grade=grade,
        ),
        build_context(),
        policy,
    )
    medicine = load_medicines().get("pregabalin")
    assert medicine is not None
    band = medicine.band(clearance) if clearance is not None else None
    ceiling = band.high if band is not None else medicine.max_mg_per_day
    assert ceiling is not None
    for finding in result.findings:
        for text in finding.recommendations:
            for low, high in _DOSE.findall(text):
                assert float(high or low) <= ceiling, (clearance, text)
