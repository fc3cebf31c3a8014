"""Outcome derivation, as properties over any findings and any well-formed request."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from review_helpers import build_context, build_request

from workflow.review import PriorCourse, derive_outcome, evaluate, load_policy
from workflow.review.rules import RULES
from workflow.schemas import Finding, Indication, Outcome, Severity

POLICIES = [load_policy("default"), load_policy("restricted-dlrpn")]

findings_strategy = st.lists(
    st.builds(
        Finding,
        rule=st.sampled_from(sorted(RULES)),
        severity=st.sampled_from(list(Severity)),
        message=st.just("m"),
        source=st.just("s"),
        missing=st.none() | st.just("something"),
    ),
    max_size=8,
)


@given(findings_strategy)
def test_any_block_means_not_supported(findings: list[Finding]) -> None:
    outcome = derive_outcome(findings)
    has_block = any(f.severity is Severity.BLOCK for f in findings)
    assert (outcome is Outcome.NOT_SUPPORTED) == has_block


@given(findings_strategy)
def test_without_block_missing_information_decides(findings: list[Finding]) -> None:
    if any(f.severity is Severity.BLOCK for f in findings):
        return
    expected = Outcome.NEEDS_INFORMATION if any(f.missing for f in findings) else Outcome.SUPPORTED
    assert derive_outcome(findings) is expected


@given(findings_strategy, st.randoms())
def test_order_of_findings_does_not_matter(findings: list[Finding], rnd: Any) -> None:
    shuffled = list(findings)
    rnd.shuffle(shuffled)
    assert derive_outcome(shuffled) is derive_outcome(findings)


def test_no_findings_is_supported() -> None:
    assert derive_outcome([]) is Outcome.SUPPORTED


medication = st.fixed_dictionaries(
    {"name": st.sampled_from(["pregabalin", "Gabapentin", "duloxetine", "tramadol", "Lyrica"])},
    optional={"mg_per_day": st.sampled_from([0, 50, 150, 299, 300, 600, 900, 1200, 60, 120])},
)
request_strategy = st.fixed_dictionaries(
    {
        "indication": st.sampled_from(list(Indication)),
        "severity_grade": st.integers(1, 4),
        "dose_g_per_kg_per_day": st.floats(0.05, 2.0),
        "days": st.integers(1, 10),
        "repeat_every_weeks": st.none() | st.integers(0, 12),
        "medications": st.lists(medication, max_size=3),
        "creatinine_clearance_ml_min": st.none() | st.floats(10, 150),
        "hepatic_disease": st.none() | st.booleans(),
        "thromboembolic_risk_factors": st.lists(st.sampled_from(["hyperlipidemia"]), max_size=1),
        "hba1c_percent": st.none() | st.floats(4, 14),
        "steroids": st.none()
        | st.fixed_dictionaries(
            {
                "trial": st.sampled_from(["not_tried", "responded", "no_response"]),
                "intolerance": st.lists(
                    st.sampled_from(["methylprednisolone", "prednisone", "steroids", "penicillin"]),
                    max_size=2,
                ),
            }
        ),
    }
)
prior_strategy = st.none() | st.builds(
    PriorCourse,
    id=st.just(3),
    indication=st.just("dlrpn"),
    responder=st.booleans(),
    assessed=st.booleans(),
    lowest_vas=st.just(3.0),
    baseline_vas=st.just(8.0),
    last_infusion_date=st.just(date(2025, 1, 1)),
)


@settings(max_examples=200)
@given(
    request_strategy,
    st.sampled_from(["none", "type1", "type2"]),
    prior_strategy,
    st.sampled_from(POLICIES),
)
def test_evaluate_is_consistent_for_any_request(
    changes: dict[str, Any], diabetes: str, prior: PriorCourse | None, policy: Any
) -> None:
    request = build_request(**changes)
    before = request.model_dump()
    result = evaluate(request, build_context(diabetes=diabetes, prior=prior), policy)

    assert result.outcome is derive_outcome(result.findings)
    assert request.model_dump() == before  # pure: the request is not changed
    assert (result.policy_id, result.policy_version) == (policy.id, policy.version)
    rule_ids = [f.rule for f in result.findings]
    assert len(rule_ids) == len(set(rule_ids))  # at most one finding per rule
    for finding in result.findings:
        assert finding.rule in RULES
        assert finding.message.endswith(".") and finding.source
        assert "MRN-0001" not in finding.message and "coordinator-a" not in finding.message
        # Missing information never blocks: a block already decides the outcome.
        assert finding.missing is None or finding.severity is Severity.WARN
