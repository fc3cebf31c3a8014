"""The IVIG risk screen with the packaged default policy as shipped."""

from __future__ import annotations

from typing import Any

import pytest
from review_helpers import build_context, build_request

from workflow.review import evaluate, load_policy
from workflow.review.products import match_product
from workflow.schemas import Finding


def run(context: dict[str, Any] | None = None, **request: Any) -> dict[str, Finding]:
    result = evaluate(
        build_request(**request), build_context(**(context or {})), load_policy("default")
    )
    return {f.rule: f for f in result.findings}


def test_an_old_obese_diabetic_with_poor_kidneys_is_screened() -> None:
    """82 years, diabetes, BMI 47, clearance 28, 240 g: renal and thrombosis warnings."""
    found = run(
        {"age_years": 82, "height_cm": 160.0, "diabetes": "type2"},
        weight_kg=120,
        creatinine_clearance_ml_min=28,
        product="Octagam 10%",
    )
    renal = found["safety.renal_risk"]
    assert renal.severity == "warn"
    for factor in ("age 82", "diabetes", "creatinine clearance 28 mL/min"):
        assert factor in renal.message
    assert any("hydrat" in text for text in renal.recommendations)
    assert any("rate" in text for text in renal.recommendations)
    thrombosis = found["safety.thrombosis_risk"]
    for factor in ("age 82", "BMI 47", "diabetes"):
        assert factor in thrombosis.message
    assert found["safety.glucose_meter"].severity == "warn"
    assert "GDH-PQQ" in found["safety.glucose_meter"].message


@pytest.mark.parametrize(
    "written",
    ["none", "None", "NONE", " none ", "n/a", "nil", "None reported", "No known risk factors"],
)
def test_none_is_not_a_thrombosis_risk_factor(written: str) -> None:
    found = run(
        {"diabetes": "none"},
        indication="ici_neuropathy",
        product="Privigen",
        thromboembolic_risk_factors=[written],
    )
    assert "safety.thrombosis_risk" not in found


def test_written_factors_are_normalised() -> None:
    found = run(
        {"diabetes": "none"},
        indication="ici_neuropathy",
        product="Privigen",
        thromboembolic_risk_factors=["High cholesterol", "DVT"],
    )
    message = found["safety.thrombosis_risk"].message
    assert "hyperlipidemia" in message and "prior thrombosis" in message


def test_a_statin_counts_as_treated_hyperlipidaemia() -> None:
    found = run(
        {"diabetes": "none"},
        indication="ici_neuropathy",
        product="Privigen",
        medications=[{"name": "pregabalin", "mg_per_day": 300}, {"name": "Lipitor"}],
    )
    assert "hyperlipidemia" in found["safety.thrombosis_risk"].message


def test_nephrotoxic_medicines_and_sucrose_products_are_renal_risks() -> None:
    found = run(
        {"diabetes": "none"},
        indication="ici_neuropathy",
        product="Carimune NF",
        medications=[{"name": "pregabalin", "mg_per_day": 300}, {"name": "Nurofen"}],
    )
    message = found["safety.renal_risk"].message
    assert "Nurofen (ibuprofen)" in message and "sucrose" in message


def test_no_maltose_no_glucose_meter_warning() -> None:
    assert "safety.glucose_meter" not in run(product="Privigen")


def test_maltose_without_diabetes_is_quiet() -> None:
    found = run({"diabetes": "none"}, indication="ici_neuropathy", product="Octagam 5%")
    assert "safety.glucose_meter" not in found


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("Octagam 10%", "Octagam 10%"),
        ("octagam 10 %", "Octagam 10%"),
        ("Kiovig", "Gammagard Liquid"),
        ("Gamunex-C", "Gamunex-C"),
        ("Privigen", "Privigen"),
        ("Flebogamma DIF 5%", "Flebogamma DIF 5%"),
        ("Panzyga", "Panzyga"),
        ("Intratect 10%", "Intratect 10%"),
    ],
)
def test_products_are_recognised(written: str, name: str) -> None:
    found = match_product(written)
    assert found is not None and found.product.name == name


def test_an_unknown_product_is_a_finding_but_the_request_stands() -> None:
    found = run(product="Immunoglobulin X 10%")
    assert found["product.unrecognised"].severity == "info"


def test_a_subcutaneous_product_warns() -> None:
    assert run(product="Hizentra")["product.unrecognised"].severity == "warn"


def test_a_first_dlrpn_course_notes_the_evidence_level() -> None:
    finding = run()["evidence.level"]
    assert finding.severity == "info"
    assert "case series" in finding.message and "AANEM" in finding.message
    assert "corticosteroid" in finding.message


def test_a_retreatment_or_another_indication_has_no_evidence_note() -> None:
    from datetime import date

    from workflow.review import PriorCourse

    prior = PriorCourse(1, "dlrpn", True, True, 2.0, 8.0, date(2025, 1, 9))
    assert "evidence.level" not in run({"prior": prior})
    assert "evidence.level" not in run(indication="ici_neuropathy")
