"""Each rule fires exactly when the contract says, and not otherwise.

Every case starts from a request and context that raise no finding (conftest) and
changes one thing; the test asserts the whole set of findings, so a rule that fires
where it should not also fails here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from review_helpers import build_context, build_request

from workflow.review import Policy, PriorCourse, evaluate
from workflow.review.rules import RULES

CONTRACT_RULE_IDS = {
    "schedule.interval",
    "dose.daily",
    "dose.course_total",
    "indication.symmetric_polyneuropathy",
    "indication.not_standard_of_care",
    "severity.grade",
    "retreatment.prior_response",
    "therapy.first_line",
    "therapy.renal_adjustment",
    "therapy.hepatic",
    "therapy.opioids",
    "safety.thrombosis_risk",
    "steroids.alternatives",
    "glycemic.target",
}

PLEXUS = {"indication": "lumbosacral_plexus_neuritis", "severity_grade": 3}
CLEAN_MEDS = [{"name": "pregabalin", "mg_per_day": 300}]
NO_RESPONSE = {"trial": "no_response"}


def prior(*, responder: bool, assessed: bool = True) -> PriorCourse:
    return PriorCourse(
        id=7,
        indication="dlrpn",
        responder=responder,
        assessed=assessed,
        lowest_vas=(2.0 if responder else 6.0) if assessed else None,
        baseline_vas=8.0,
        last_infusion_date=date(2025, 3, 5),
    )


def findings(
    policy: Policy, context: dict[str, Any] | None = None, **request: Any
) -> dict[str, str]:
    """rule id -> severity (plus '+missing' for a missing-information finding)."""
    result = evaluate(build_request(**request), build_context(**(context or {})), policy)
    return {f.rule: f.severity.value + ("+missing" if f.missing else "") for f in result.findings}


def test_the_clean_request_raises_nothing(policy: Policy) -> None:
    result = evaluate(build_request(), build_context(), policy)
    assert result.findings == []
    assert result.outcome == "supported"
    assert (result.policy_id, result.policy_version) == ("default", policy.version)


def test_every_contract_rule_exists_and_every_rule_is_configured(policy: Policy) -> None:
    configured = {rule_id for rule_id, _ in policy.rules}
    assert CONTRACT_RULE_IDS <= set(RULES)
    assert configured == set(RULES)


FIRES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, str]]] = [
    # schedule.interval
    ("every 0 weeks", {"repeat_every_weeks": 0}, {}, {"schedule.interval": "block"}),
    ("every 6 weeks", {"repeat_every_weeks": 6}, {}, {"schedule.interval": "block"}),
    # dose.daily / dose.course_total
    ("0.5 g/kg for 4 days", {"dose_g_per_kg_per_day": 0.5, "days": 4}, {}, {"dose.daily": "warn"}),
    ("0.4 g/kg for 4 days", {"days": 4}, {}, {"dose.course_total": "warn"}),
    (
        "0.35 g/kg for 5 days",
        {"dose_g_per_kg_per_day": 0.35},
        {},
        {"dose.daily": "warn", "dose.course_total": "warn"},
    ),
    # indication.symmetric_polyneuropathy
    (
        "symmetric polyneuropathy",
        {"indication": "diabetic_symmetric_polyneuropathy"},
        {},
        {"indication.symmetric_polyneuropathy": "block"},
    ),
    # indication.not_standard_of_care
    (
        "plexus neuritis, grade 3, steroids failed",
        {**PLEXUS, "steroids": NO_RESPONSE},
        {},
        {"indication.not_standard_of_care": "warn"},
    ),
    (
        "plexus neuritis, grade 4, steroid class not tolerated",
        {**PLEXUS, "severity_grade": 4, "steroids": {"intolerance": ["Corticosteroids"]}},
        {},
        {"indication.not_standard_of_care": "warn"},
    ),
    (
        "plexus neuritis, grade 3, every formulation not tolerated",
        {
            **PLEXUS,
            "steroids": {
                "trial": "responded",
                "intolerance": [
                    "prednisone",
                    "prednisolone",
                    "Solu-Medrol",
                    "Decadron",
                    "hydrocortisone",
                ],
            },
        },
        {},
        {"indication.not_standard_of_care": "warn"},
    ),
    (
        "plexus neuritis, grade 3, steroids responded",
        {**PLEXUS, "steroids": {"trial": "responded"}},
        {},
        {"indication.not_standard_of_care": "block"},
    ),
    (
        "plexus neuritis, grade 3, no steroid record",
        PLEXUS,
        {},
        {"indication.not_standard_of_care": "block"},
    ),
    (
        "plexus neuritis, grade 3, one steroid not tolerated",
        {**PLEXUS, "steroids": {"trial": "not_tried", "intolerance": ["methylprednisolone"]}},
        {},
        {"indication.not_standard_of_care": "block", "steroids.alternatives": "info"},
    ),
    # severity.grade (plexus neuritis below grade 3 also fails not_standard_of_care)
    (
        "plexus neuritis, grade 2, steroids failed",
        {**PLEXUS, "severity_grade": 2, "steroids": NO_RESPONSE},
        {},
        {"indication.not_standard_of_care": "block", "severity.grade": "block"},
    ),
    (
        "ICI neuropathy, grade 2",
        {"indication": "ici_neuropathy", "severity_grade": 2},
        {},
        {"severity.grade": "block"},
    ),
    # retreatment.prior_response
    (
        "re-treatment after a response",
        {},
        {"prior": prior(responder=True)},
        {"retreatment.prior_response": "info"},
    ),
    (
        "re-treatment after no response",
        {},
        {"prior": prior(responder=False)},
        {"retreatment.prior_response": "block"},
    ),
    (
        "re-treatment, prior response not assessed",
        {},
        {"prior": prior(responder=False, assessed=False)},
        {"retreatment.prior_response": "warn+missing"},
    ),
    # therapy.first_line
    ("no medication", {"medications": []}, {}, {"therapy.first_line": "warn"}),
    (
        "only paracetamol",
        {"medications": [{"name": "paracetamol", "mg_per_day": 3000}]},
        {},
        {"therapy.first_line": "warn"},
    ),
    (
        "pregabalin 299",
        {"medications": [{"name": "pregabalin", "mg_per_day": 299}]},
        {},
        {"therapy.first_line": "warn"},
    ),
    (
        "gabapentin 899",
        {"medications": [{"name": "Gabapentin", "mg_per_day": 899}]},
        {},
        {"therapy.first_line": "warn"},
    ),
    (
        "duloxetine 59",
        {"medications": [{"name": "DULOXETINE", "mg_per_day": 59}]},
        {},
        {"therapy.first_line": "warn"},
    ),
    (
        "two agents, both low",
        {
            "medications": [
                {"name": "pregabalin", "mg_per_day": 150},
                {"name": "duloxetine", "mg_per_day": 30},
            ]
        },
        {},
        {"therapy.first_line": "warn"},
    ),
    (
        "pregabalin without a dose",
        {"medications": [{"name": "pregabalin"}]},
        {},
        {"therapy.first_line": "warn"},
    ),
    (
        "ICI neuropathy grade 2 without an agent",
        {"indication": "ici_neuropathy", "severity_grade": 2, "medications": []},
        {},
        {"severity.grade": "block", "therapy.first_line": "warn"},
    ),
    # therapy.renal_adjustment
    (
        "pregabalin, clearance 59",
        {"creatinine_clearance_ml_min": 59},
        {},
        {"therapy.renal_adjustment": "warn", "safety.renal_risk": "warn"},
    ),
    (
        "gabapentin, clearance unknown",
        {
            "medications": [{"name": "gabapentin", "mg_per_day": 1200}],
            "creatinine_clearance_ml_min": None,
        },
        {},
        {"therapy.renal_adjustment": "warn"},
    ),
    # therapy.hepatic
    (
        "duloxetine with hepatic disease",
        {"medications": [{"name": "duloxetine", "mg_per_day": 60}], "hepatic_disease": True},
        {},
        {"therapy.hepatic": "warn"},
    ),
    # therapy.opioids
    (
        "tramadol",
        {"medications": [*CLEAN_MEDS, {"name": "Tramadol", "mg_per_day": 100}]},
        {},
        {"therapy.opioids": "warn"},
    ),
    (
        "oxycodone in a combination product",
        {"medications": [*CLEAN_MEDS, {"name": "Oxycodone/paracetamol 5/325"}]},
        {},
        {"therapy.opioids": "warn"},
    ),
    (
        "tapentadol by brand name",
        {"medications": [*CLEAN_MEDS, {"name": "Nucynta ER", "mg_per_day": 100}]},
        {},
        {"therapy.opioids": "warn"},
    ),
    # safety.thrombosis_risk
    (
        "hyperlipidaemia",
        {"thromboembolic_risk_factors": ["hyperlipidemia"]},
        {},
        {"safety.thrombosis_risk": "warn"},
    ),
    # steroids.alternatives
    (
        "Solu-Medrol not tolerated",
        {"steroids": {"trial": "responded", "intolerance": ["Solu-Medrol"]}},
        {},
        {"steroids.alternatives": "info"},
    ),
    # glycemic.target
    ("HbA1c 7.1", {"hba1c_percent": 7.1}, {}, {"glycemic.target": "warn"}),
    ("HbA1c unknown", {"hba1c_percent": None}, {}, {"glycemic.target": "warn"}),
    (
        "type 1 diabetes, HbA1c 8",
        {"hba1c_percent": 8},
        {"diabetes": "type1"},
        {"glycemic.target": "warn"},
    ),
    # additions beyond the contract
    ("indication other", {"indication": "other"}, {}, {"indication.other": "warn+missing"}),
    (
        "DLRPN with no diabetes on record",
        {},
        {"diabetes": "none"},
        {"indication.diabetes_status": "warn"},
    ),
]


@pytest.mark.parametrize(
    ("request_changes", "context_changes", "expected"),
    [pytest.param(r, c, e, id=name) for name, r, c, e in FIRES],
)
def test_rule_fires(
    policy: Policy,
    request_changes: dict[str, Any],
    context_changes: dict[str, Any],
    expected: dict[str, str],
) -> None:
    assert findings(policy, context_changes, **request_changes) == expected


QUIET: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("single course", {"repeat_every_weeks": None}, {}),
    ("0.44 g/kg x 5: exactly 10 % off both", {"dose_g_per_kg_per_day": 0.44}, {}),
    ("0.36 g/kg x 5: exactly 10 % off both", {"dose_g_per_kg_per_day": 0.36}, {}),
    (
        "ICI neuropathy grade 3 without an agent",
        {"indication": "ici_neuropathy", "medications": []},
        {},
    ),
    ("ICI neuropathy grade 4", {"indication": "ici_neuropathy", "severity_grade": 4}, {}),
    ("gabapentin 900", {"medications": [{"name": "gabapentin", "mg_per_day": 900}]}, {}),
    ("duloxetine 60", {"medications": [{"name": "duloxetine", "mg_per_day": 60}]}, {}),
    ("Lyrica 300 by brand", {"medications": [{"name": "LYRICA", "mg_per_day": 300}]}, {}),
    (
        "pregabalin split into two entries",
        {"medications": [{"name": "pregabalin", "mg_per_day": 150}] * 2},
        {},
    ),
    (
        "one adequate agent beside a low one",
        {
            "medications": [
                {"name": "pregabalin", "mg_per_day": 300},
                {"name": "duloxetine", "mg_per_day": 30},
            ]
        },
        {},
    ),
    ("pregabalin, clearance exactly 60", {"creatinine_clearance_ml_min": 60}, {}),
    (
        "duloxetine, clearance unknown (not renally adjusted here)",
        {
            "medications": [{"name": "duloxetine", "mg_per_day": 60}],
            "creatinine_clearance_ml_min": None,
        },
        {},
    ),
    (
        "duloxetine, no hepatic disease",
        {"medications": [{"name": "duloxetine", "mg_per_day": 60}], "hepatic_disease": False},
        {},
    ),
    ("pregabalin with hepatic disease", {"hepatic_disease": True}, {}),
    ("no risk factors", {"thromboembolic_risk_factors": []}, {}),
    ("non-steroid intolerance", {"steroids": {"intolerance": ["penicillin"]}}, {}),
    ("HbA1c exactly 7", {"hba1c_percent": 7.0}, {}),
    ("HbA1c from the record", {"hba1c_percent": None}, {"latest_hba1c_percent": 6.5}),
    (
        "no diabetes, high HbA1c",
        {"indication": "ici_neuropathy", "hba1c_percent": 9.0},
        {"diabetes": "none"},
    ),
]


@pytest.mark.parametrize(
    ("request_changes", "context_changes"),
    [pytest.param(r, c, id=name) for name, r, c in QUIET],
)
def test_rule_stays_quiet(
    policy: Policy, request_changes: dict[str, Any], context_changes: dict[str, Any]
) -> None:
    assert findings(policy, context_changes, **request_changes) == {}
