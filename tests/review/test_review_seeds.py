"""The two clinical statements the rule set rests on, as whole cases."""

from __future__ import annotations

from datetime import date

from review_helpers import build_context, build_request

from workflow.review import Policy, PriorCourse, evaluate
from workflow.schemas import Severity


def test_seed_000_post_covid_plexus_neuritis_grade_2_every_0_weeks(policy: Policy) -> None:
    request = build_request(
        indication="lumbosacral_plexus_neuritis",
        indication_detail="post-COVID",
        severity_grade=2,
        product="Octagam 10%",
        dose_g_per_kg_per_day=0.4,
        days=5,
        repeat_every_weeks=0,
        medications=[{"name": "gabapentin", "mg_per_day": 900}],
        steroids={"trial": "responded", "intolerance": ["methylprednisolone"]},
        thromboembolic_risk_factors=["hyperlipidemia"],
        creatinine_clearance_ml_min=None,
        hba1c_percent=None,
    )
    context = build_context(sex="female", height_cm=None, diabetes="none")

    result = evaluate(request, context, policy)

    assert result.outcome == "not_supported"
    severities = {f.rule: f.severity for f in result.findings}
    assert severities == {
        "schedule.interval": Severity.BLOCK,
        "indication.not_standard_of_care": Severity.BLOCK,
        "severity.grade": Severity.BLOCK,
        "steroids.alternatives": Severity.INFO,
        "safety.thrombosis_risk": Severity.WARN,
        # The seed gives no creatinine clearance, and gabapentin needs it (seed 003).
        "therapy.renal_adjustment": Severity.WARN,
        # Height not recorded: actual weight instead of adjusted (default policy).
        "dose.height_unknown": Severity.WARN,
    }
    # Gabapentin 900 mg/day is an adequate dose, so no first-line warning.
    advice = " ".join(text for f in result.findings for text in f.recommendations)
    for expected in (
        "Optimise the neuropathic agent",
        "Complete the diagnostic work-up",
        "Try oral corticosteroids",
        "Reconsider IVIG only if the neuropathy progresses to grade 3–4",
    ):
        assert expected in advice
    assert all(
        f.source.startswith("seed 000")
        for f in result.findings
        if f.rule not in ("therapy.renal_adjustment", "dose.height_unknown")
    )


def test_seed_003_retreatment_of_a_responder_with_dlrpn(policy: Policy) -> None:
    request = build_request(
        indication="dlrpn",
        medications=[{"name": "pregabalin", "mg_per_day": 300}],
        hba1c_percent=6.8,
        creatinine_clearance_ml_min=90,
    )
    prior = PriorCourse(
        id=1,
        indication="dlrpn",
        responder=True,
        assessed=True,
        lowest_vas=2.0,
        baseline_vas=8.0,
        last_infusion_date=date(2025, 1, 9),
    )
    context = build_context(diabetes="type2", prior=prior)

    result = evaluate(request, context, policy)

    assert result.outcome == "supported"
    assert [(f.rule, f.severity) for f in result.findings] == [
        ("retreatment.prior_response", Severity.INFO)
    ]
    (finding,) = result.findings
    assert "course 1" in finding.message.lower()
    assert any("pain specialist" in text for text in finding.recommendations)
    assert finding.source.startswith("seed 003")


def test_seed_003_concurrent_care_findings_still_apply(policy: Policy) -> None:
    """A responder's re-treatment stays supported while the pain plan needs work."""
    prior = PriorCourse(1, "dlrpn", True, True, 2.0, 8.0, date(2025, 1, 9))
    request = build_request(
        medications=[{"name": "pregabalin", "mg_per_day": 150}, {"name": "tramadol"}],
        hba1c_percent=7.9,
    )
    result = evaluate(request, build_context(prior=prior), policy)
    assert result.outcome == "supported"
    assert {f.rule for f in result.findings} == {
        "retreatment.prior_response",
        "therapy.first_line",
        "therapy.opioids",
        "glycemic.target",
    }
    advice = " ".join(text for f in result.findings for text in f.recommendations)
    expected_advice = ("pregabalin 300–600 mg/day", "duloxetine 60–120 mg/day", "900–3600")
    for expected in (*expected_advice, "Lidocaine 5 %", "6–7 %"):
        assert expected in advice
