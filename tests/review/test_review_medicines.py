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


def _limits(generic: str, clearances: tuple[float, ...]) -> dict[float, tuple[float, float]]:
    medicine = load_medicines().get(generic)
    assert medicine is not None
    found = {cc: medicine.renal_limit(cc) for cc in clearances}
    return {cc: (limit.low, limit.high) for cc, limit in found.items() if limit is not None}


def test_label_renal_bands_of_pregabalin_at_and_around_each_boundary() -> None:
    # US label and EU SmPC agree: >=60, 30-60, 15-30, <15, lower bound inclusive.
    assert _limits("pregabalin", (90, 60, 59.9, 45, 30, 29.9, 25, 15, 14.9, 12, 0)) == {
        90: (150, 600),
        60: (150, 600),
        59.9: (75, 300),
        45: (75, 300),
        30: (75, 300),
        29.9: (25, 150),
        25: (25, 150),
        15: (25, 150),
        14.9: (25, 75),
        12: (25, 75),
        0: (25, 75),
    }


def test_label_renal_bands_of_gabapentin_take_the_lower_maximum_of_the_us_and_eu_labels() -> None:
    # US: >=60 900-3600, >30-59 400-1400, >15-29 200-700, 15 100-300 and in proportion
    # below; EU: >=80 900-3600, 50-79 600-1800, 30-49 300-900, 15-29 150-600, <15
    # 150-300 in proportion. The maximum is the lower of the two.
    highs = {cc: high for cc, (_, high) in _limits("gabapentin", _GABAPENTIN_EDGES).items()}
    assert highs == {
        90: 3600,
        80: 3600,
        79.9: 1800,
        60: 1800,
        59.9: 1400,
        50: 1400,
        49.9: 900,
        30.1: 900,
        30: 700,  # the US label's ">30-59" leaves exactly 30 to the band below
        29.9: 600,
        15.1: 600,
        15: 300,  # the US label's band "15" is 100-300
        12: 240,  # below 15 in proportion: 300 x 12/15
        7.5: 150,  # the label's own example: half the dose at 15
        0: 0,
    }


_GABAPENTIN_EDGES = (90, 80, 79.9, 60, 59.9, 50, 49.9, 30.1, 30, 29.9, 15.1, 15, 12, 7.5, 0)


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
    renal = found["therapy.renal_adjustment"].message
    assert "US label ≤15 mL/min" in renal and "EU SmPC <15 mL/min" in renal
    assert "reduced in proportion" in renal and "at most 240 mg/day" in renal
    assert "above it" in renal
    assert found["therapy.max_dose"].severity == "warn"
    assert "above 240 mg/day" in found["therapy.max_dose"].message
    assert "Neurontin" in found["therapy.max_dose"].source
    assert "summary of product characteristics" in found["therapy.max_dose"].source


@pytest.mark.parametrize(
    ("clearance", "at_most", "above"),
    [(60, 1800, 1801), (45, 900, 901), (30, 700, 701), (20, 600, 601), (15, 300, 301)],
)
def test_gabapentin_at_each_bands_maximum_is_quiet_and_just_above_warns(
    policy: Policy, clearance: float, at_most: int, above: int
) -> None:
    at = run(
        policy,
        medications=[{"name": "gabapentin", "mg_per_day": at_most}],
        creatinine_clearance_ml_min=clearance,
    )
    assert "therapy.max_dose" not in at
    assert "therapy.first_line" not in at  # the band's maximum is an adequate trial
    over = run(
        policy,
        medications=[{"name": "gabapentin", "mg_per_day": above}],
        creatinine_clearance_ml_min=clearance,
    )
    assert over["therapy.max_dose"].severity == "warn"
    assert f"above {at_most} mg/day" in over["therapy.max_dose"].message


@pytest.mark.parametrize(("clearance", "at_most"), [(60, 600), (30, 300), (15, 150), (14.9, 75)])
def test_pregabalin_at_each_bands_maximum_is_quiet_and_just_above_warns(
    policy: Policy, clearance: float, at_most: int
) -> None:
    meds = [{"name": "Lyrica", "mg_per_day": at_most}]
    assert "therapy.max_dose" not in run(
        policy, medications=meds, creatinine_clearance_ml_min=clearance
    )
    meds = [{"name": "Lyrica", "mg_per_day": at_most + 1}]
    over = run(policy, medications=meds, creatinine_clearance_ml_min=clearance)
    assert f"above {at_most} mg/day" in over["therapy.max_dose"].message


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
    "name",
    [
        "Palexia",
        "Zydol",
        "Targin",
        "MS Contin",
        "Durogesic",
        "Tylenol #3",
        # Brands of other countries, and combinations written out on one line: the
        # opioid is never hidden behind its paracetamol or ibuprofen.
        "Endone",
        "Kapanol",
        "MST",
        "Targinact",
        "Panadeine Forte",
        "Nurofen Plus",
        "Zaldiar",
        "Topalgic",
        "Instanyl",
        "Tylenol No. 3",
        "Tylenol-Codeine No.3",
        "paracetamol/codeine 500/30",
        "oxycodone/naloxone",
    ],
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


_DOSE = re.compile(r"(pregabalin|gabapentin) (?:up to )?(\d+)(?:–(\d+))? mg/day")


@settings(max_examples=150, deadline=None)
@given(
    clearance=st.one_of(
        st.none(),
        st.floats(min_value=0, max_value=200),
        st.sampled_from([0, 7.5, 12, 14.9, 15, 15.1, 29.9, 30, 30.1, 49.9, 50, 59.9, 60, 79.9, 80]),
    ),
    agent=st.sampled_from(["pregabalin", "Lyrica", "gabapentin", "Neurontin", None]),
    dose=st.integers(min_value=0, max_value=4000),
    indication=st.sampled_from(
        ["dlrpn", "diabetic_symmetric_polyneuropathy", "lumbosacral_plexus_neuritis"]
    ),
    grade=st.integers(min_value=1, max_value=4),
)
def test_no_advice_ever_exceeds_the_renal_band(
    policy: Policy,
    clearance: float | None,
    agent: str | None,
    dose: int,
    indication: str,
    grade: int,
) -> None:
    """Whatever is listed and whatever the clearance, no finding's advice names a
    pregabalin or gabapentin dose above the lower of the US and EU labels' maxima."""
    meds = [] if agent is None else [{"name": agent, "mg_per_day": dose}]
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
    for finding in result.findings:
        for text in finding.recommendations:
            for generic, low, high in _DOSE.findall(text):
                assert float(high or low) <= _label_maximum(generic, clearance), (clearance, text)


def _label_maximum(generic: str, clearance: float | None) -> float:
    """The labels' maximum, from the tables as printed (independent of the code)."""
    if clearance is None:
        return {"pregabalin": 600, "gabapentin": 3600}[generic]
    if generic == "pregabalin":
        return (
            600 if clearance >= 60 else 300 if clearance >= 30 else 150 if clearance >= 15 else 75
        )
    us = 3600 if clearance >= 60 else 1400 if clearance > 30 else 700 if clearance > 15 else 300
    eu = (
        3600
        if clearance >= 80
        else 1800
        if clearance >= 50
        else 900
        if clearance >= 30
        else 600
        if clearance >= 15
        else 300
    )
    limit = min(us, eu)
    return limit * clearance / 15 if clearance < 15 else limit


@pytest.mark.parametrize(
    ("written", "generic"),
    [
        ("Tryptizol", "amitriptyline"),
        ("Saroten", "amitriptyline"),
        ("Elavil", "amitriptyline"),
        ("Lyrica", "pregabalin"),
        ("Neurontin", "gabapentin"),
        ("Cymbalta", "duloxetine"),
        ("Tofranil", "imipramine"),
        ("Prothiaden", "dosulepin"),
    ],
)
def test_brands_of_several_countries_are_recognised(written: str, generic: str) -> None:
    found = match(written)
    assert found is not None and found.generic == generic and found.guessed_from is None


def test_a_tricyclic_not_named_in_the_policy_counts_by_its_class(policy: Policy) -> None:
    assert "therapy.first_line" not in run(
        policy, medications=[{"name": "Tofranil", "mg_per_day": 50}]
    )
    low = run(policy, medications=[{"name": "imipramine", "mg_per_day": 10}])
    assert "Tofranil" not in low["therapy.first_line"].message
    assert "imipramine 10 mg/day (adequate: 25)" in low["therapy.first_line"].message


@pytest.mark.parametrize(
    ("written", "generic"),
    [
        ("pregablin", "pregabalin"),
        ("Lyrika", "pregabalin"),
        ("gabapentine", "gabapentin"),
        ("Gabapentina", "gabapentin"),
        ("duloxetin", "duloxetine"),
        ("amitryptiline", "amitriptyline"),
        ("Oxicodone", "oxycodone"),
        ("tramadl", "tramadol"),
    ],
)
def test_a_misspelling_is_reported_and_judged_as_the_medicine_it_spells(
    policy: Policy, written: str, generic: str
) -> None:
    found = match(written)
    assert found is not None and found.generic == generic and found.guessed_from == written
    result = run(policy, medications=[{"name": written, "mg_per_day": 10}])
    assert result["therapy.unrecognised"].severity == "info"
    assert f'"{written}" as' in result["therapy.unrecognised"].message


def test_a_misspelled_gabapentinoid_still_gets_its_renal_maximum(policy: Policy) -> None:
    found = run(
        policy,
        medications=[{"name": "pregablin", "mg_per_day": 600}],
        creatinine_clearance_ml_min=20,
    )
    assert "therapy.unrecognised" in found
    assert "above 150 mg/day" in found["therapy.max_dose"].message


@pytest.mark.parametrize("written", ["fluoxetine", "sertraline", "ketamine", "tablet", "vitamin D"])
def test_other_real_names_are_never_misread_as_a_neuropathic_agent(written: str) -> None:
    found = match(written)
    assert found is None or found.guessed_from is None
