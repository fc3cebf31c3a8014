"""The course-safety rules: dose ceiling, dosing weight, height, re-treatment interval,
overlap. Each starts from the clean request and changes only what it is about."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from review_helpers import build_context, build_request

from workflow.review import Policy, PriorCourse, evaluate
from workflow.schemas import Severity


def _rules(policy: Policy, request_changes: dict[str, object], **context: object) -> dict[str, str]:
    result = evaluate(build_request(**request_changes), build_context(**context), policy)
    return {f.rule: f.message for f in result.findings if f.severity is not Severity.INFO}


def test_the_issue_example_of_25_times_the_dose_is_blocked(policy: Policy) -> None:
    request = build_request(dose_g_per_kg_per_day=5, days=10)
    result = evaluate(request, build_context(), policy)
    assert result.outcome == "not_supported"
    ceiling = next(f for f in result.findings if f.rule == "dose.ceiling")
    assert ceiling.severity is Severity.BLOCK
    assert "5 g/kg is above the ceiling of 1 g/kg" in ceiling.message
    assert "50 g/kg" in ceiling.message and "2.2 g/kg" in ceiling.message


@pytest.mark.parametrize(
    ("dose", "days", "fires"),
    [(1.0, 2, False), (1.01, 1, True), (0.4, 5, False), (0.44, 5, False), (0.45, 5, True)],
)
def test_dose_ceiling_edges(policy: Policy, dose: float, days: int, fires: bool) -> None:
    rules = _rules(policy, {"dose_g_per_kg_per_day": dose, "days": days})
    assert ("dose.ceiling" in rules) is fires


@given(dose=st.floats(0.01, 5), days=st.integers(1, 10))
def test_dose_ceiling_fires_exactly_above_either_limit(dose: float, days: int) -> None:
    from workflow.review import load_policy

    policy = load_policy("default")
    rules = _rules(policy, {"dose_g_per_kg_per_day": dose, "days": days})
    above = dose > 1.0 + 1e-9 or dose * days > 2.2 + 1e-9
    assert ("dose.ceiling" in rules) is above


def test_weight_mismatch_names_both_weights(policy: Policy) -> None:
    rules = _rules(policy, {"weight_kg": 95}, registered_weight_kg=71.5)
    assert "95 kg" in rules["dose.weight_mismatch"]
    assert "71.5 kg" in rules["dose.weight_mismatch"]
    result = evaluate(build_request(weight_kg=95), build_context(registered_weight_kg=71.5), policy)
    assert result.outcome == "not_supported"


@pytest.mark.parametrize(("weight", "fires"), [(78.65, False), (86.35, False), (90.3, True)])
def test_weight_mismatch_ten_percent_edge(policy: Policy, weight: float, fires: bool) -> None:
    rules = _rules(policy, {"weight_kg": weight}, registered_weight_kg=82)
    assert ("dose.weight_mismatch" in rules) is fires


def test_height_unknown_warns_unless_exempt(policy: Policy) -> None:
    assert "dose.height_unknown" in _rules(policy, {}, height_cm=None, age_years=50)
    assert "dose.height_unknown" not in _rules(policy, {}, height_cm=None, age_years=12)
    assert "dose.height_unknown" not in _rules(policy, {"pregnant": True}, height_cm=None)
    assert "dose.height_unknown" not in _rules(policy, {}, height_cm=170)


def test_height_unknown_is_quiet_under_an_actual_weight_policy(policy: Policy) -> None:
    actual = policy.model_copy(
        update={"dosing": policy.dosing.model_copy(update={"weight": "actual"})}
    )
    assert "dose.height_unknown" not in _rules(actual, {}, height_cm=None)


def _prior(last: date, relapse: date) -> PriorCourse:
    return PriorCourse(
        id=7,
        indication="dlrpn",
        responder=True,
        assessed=True,
        lowest_vas=2,
        baseline_vas=8,
        last_infusion_date=last,
        relapse_date=relapse,
    )


@pytest.mark.parametrize(
    ("relapse", "fires"), [(date(2026, 3, 28), True), (date(2026, 3, 29), False)]
)
def test_retreatment_interval(policy: Policy, relapse: date, fires: bool) -> None:
    # 27 days after the last infusion fires; 28 does not.
    rules = _rules(policy, {}, prior=_prior(date(2026, 3, 1), relapse))
    assert ("retreatment.interval" in rules) is fires
    if fires:
        assert "27 days" in rules["retreatment.interval"]


def test_course_overlap_warns_and_names_the_course(policy: Policy) -> None:
    rules = _rules(policy, {}, monitoring_courses=(3,))
    assert "course 3" in rules["course.overlap"]
    result = evaluate(build_request(), build_context(monitoring_courses=(3,)), policy)
    assert result.outcome == "supported"
