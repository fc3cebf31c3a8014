"""Dose arithmetic: dosing weight (actual or adjusted) and rounding to whole vials."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.dosing import compute_dose, dosing_weight, ideal_body_weight, round_to_vials
from workflow.review import Policy, load_policy
from workflow.review.policy import Dosing

RESTRICTED = load_policy("restricted-dlrpn")
OCTAGAM_10 = (2.0, 5.0, 10.0, 20.0, 30.0)
OCTAGAM_5 = (2.5, 5.0, 10.0, 25.0)


def test_contract_example_without_policy() -> None:
    dose = compute_dose(weight_kg=82, g_per_kg_per_day=0.4, days=5)
    assert (dose.grams_per_day, dose.total_grams) == (32.8, 164.0)
    assert (dose.dosing_weight_kg, dose.weight_rule, dose.rounding) == (82, "actual", None)


def test_default_policy_adjusts_for_obesity_without_rounding(policy: Policy) -> None:
    assert policy.dosing.weight == "adjusted"
    dose = compute_dose(
        weight_kg=120, g_per_kg_per_day=0.4, days=5, height_cm=180, sex="male", policy=policy
    )
    assert dose.weight_rule.startswith("adjusted (BMI 37.0")
    assert dose.rounding is None
    lean = compute_dose(weight_kg=82, g_per_kg_per_day=0.4, days=5, height_cm=180, policy=policy)
    assert (lean.grams_per_day, lean.total_grams) == (32.8, 164.0)


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"age_years": 17}, "actual (age 17, under 18)"),
        ({"pregnant": True}, "actual (pregnant)"),
        ({"height_cm": 150}, "actual (height 150 cm, under 152 cm)"),
        ({"height_cm": 100}, "actual (height 100 cm, under 152 cm)"),
        ({"height_cm": None}, "actual (height unknown)"),
    ],
)
def test_adjusted_weight_exemptions_keep_actual_weight(
    policy: Policy, changes: dict[str, object], rule: str
) -> None:
    # 120 kg is obese at any of these heights.
    args: dict[str, object] = {"height_cm": 170, "sex": "female", "age_years": 40}
    args.update(changes)
    weight = dosing_weight(weight_kg=120, dosing=policy.dosing, **args)  # type: ignore[arg-type]
    assert (weight.kg, weight.rule) == (120, rule)


def test_adult_at_18_is_adjusted(policy: Policy) -> None:
    weight = dosing_weight(
        weight_kg=120, height_cm=170, sex="female", dosing=policy.dosing, age_years=18
    )
    assert weight.rule.startswith("adjusted")


@given(height=st.floats(30, 272))
def test_ideal_body_weight_is_never_negative_nor_below_the_base(height: float) -> None:
    for sex in ("male", "female"):
        ideal, formula = ideal_body_weight(height_cm=height, sex=sex)
        assert ideal >= {"male": 50.0, "female": 45.5}[formula] > 0


def test_devine_ideal_body_weight() -> None:
    # 152.4 cm is exactly 60 inches: the base weight.
    assert ideal_body_weight(height_cm=152.4, sex="male") == (50.0, "male")
    assert ideal_body_weight(height_cm=152.4, sex="female") == (45.5, "female")
    male, _ = ideal_body_weight(height_cm=180, sex="male")
    assert male == pytest.approx(50 + 2.3 * (180 / 2.54 - 60))


@pytest.mark.parametrize("sex", ["other", "unknown", None])
def test_sex_other_or_unknown_uses_the_female_formula(sex: str | None) -> None:
    assert ideal_body_weight(height_cm=170, sex=sex) == ideal_body_weight(
        height_cm=170, sex="female"
    )
    weight = dosing_weight(weight_kg=110, height_cm=170, sex=sex, dosing=RESTRICTED.dosing)
    assert "female formula" in weight.rule


def test_adjusted_weight_for_an_obese_man() -> None:
    dose = compute_dose(
        weight_kg=120, g_per_kg_per_day=0.4, days=5, height_cm=180, sex="male", policy=RESTRICTED
    )
    ideal = 50 + 2.3 * (180 / 2.54 - 60)  # 74.99 kg
    assert dose.dosing_weight_kg == pytest.approx(ideal + 0.4 * (120 - ideal), abs=0.01)
    assert dose.weight_kg == 120
    assert dose.weight_rule.startswith("adjusted (BMI 37.0 ≥ 30")
    assert dose.grams_per_day == pytest.approx(dose.dosing_weight_kg * 0.4, abs=0.01)


@pytest.mark.parametrize(
    ("height_cm", "rule"),
    [(None, "actual (height unknown)"), (180, "actual (BMI 25.3 below 30)")],
)
def test_adjusted_policy_falls_back_to_actual(height_cm: float | None, rule: str) -> None:
    dose = compute_dose(
        weight_kg=82, g_per_kg_per_day=0.4, days=5, height_cm=height_cm, policy=RESTRICTED
    )
    assert (dose.dosing_weight_kg, dose.weight_rule) == (82, rule)


def test_bmi_exactly_30_is_adjusted() -> None:
    weight = dosing_weight(
        weight_kg=30 * 1.7**2, height_cm=170, sex="male", dosing=RESTRICTED.dosing
    )
    assert weight.rule.startswith("adjusted")


def test_rounding_to_the_nearest_whole_vial_amount() -> None:
    dose = compute_dose(
        weight_kg=82, g_per_kg_per_day=0.4, days=5, product="octagam 10 %", policy=RESTRICTED
    )
    # 32.8 g: 33 g is the nearest amount made of whole 2/5/10/20/30 g vials.
    assert (dose.grams_per_day, dose.total_grams) == (33.0, 165.0)
    assert dose.rounding is not None and dose.rounding.startswith("nearest whole vials")
    assert dose.rounding.endswith(": 20 g + 5 g + 4 × 2 g")


def test_rounding_ties_go_down() -> None:
    dosing = RESTRICTED.dosing
    # 26.25 g lies halfway between 25 and 27.5 g of Octagam 5 %.
    grams, rule = round_to_vials(26.25, "Octagam 5%", dosing)
    assert grams == 25.0
    assert rule.endswith(": 25 g")


def test_rounding_beyond_the_limit_is_not_applied() -> None:
    grams, rule = round_to_vials(3.0, "Octagam 10%", RESTRICTED.dosing)
    assert grams == 3.0
    assert rule == "none (nearest whole-vial amount 2 g is more than 10 % away)"


def test_rounding_an_unknown_product_says_so() -> None:
    grams, rule = round_to_vials(32.8, "Privigen", RESTRICTED.dosing)
    assert (grams, rule) == (32.8, "none (no vial sizes for Privigen)")


@given(
    weight=st.floats(1, 500),
    per_kg=st.floats(0.01, 5),
    days=st.integers(1, 10),
)
def test_actual_weight_arithmetic(weight: float, per_kg: float, days: int) -> None:
    dose = compute_dose(weight_kg=weight, g_per_kg_per_day=per_kg, days=days)
    assert dose.grams_per_day == round(weight * per_kg, 2)
    assert dose.total_grams == round(dose.grams_per_day * days, 2)
    assert math.isclose(dose.total_grams, weight * per_kg * days, abs_tol=0.01 * days + 0.01)


@given(
    weight=st.floats(20, 400),
    height=st.floats(140, 210),
    sex=st.sampled_from(["male", "female", "other", "unknown"]),
)
def test_adjusted_weight_lies_between_ideal_and_actual(
    weight: float, height: float, sex: str
) -> None:
    result = dosing_weight(weight_kg=weight, height_cm=height, sex=sex, dosing=RESTRICTED.dosing)
    ideal, _ = ideal_body_weight(height_cm=height, sex=sex)
    if result.rule.startswith("adjusted"):
        assert weight / (height / 100) ** 2 >= 30
        assert height >= 152
        assert ideal - 0.01 <= result.kg < weight
    else:
        assert result.kg == weight


def _achievable(amount: float, sizes: tuple[float, ...]) -> bool:
    """Independent check: can whole vials make exactly this amount (in tenths of a gram)?"""
    target, units = round(amount * 10), [round(size * 10) for size in sizes]
    if target < 0:
        return False
    possible = [True] + [False] * target
    for total in range(1, target + 1):
        possible[total] = any(u <= total and possible[total - u] for u in units)
    return possible[target]


@given(
    grams=st.floats(4, 300),
    product=st.sampled_from([("Octagam 10%", OCTAGAM_10), ("Octagam 5%", OCTAGAM_5)]),
)
def test_rounded_dose_is_whole_vials_within_the_limit(
    grams: float, product: tuple[str, tuple[float, ...]]
) -> None:
    name, sizes = product
    grams = round(grams, 2)
    rounded, rule = round_to_vials(grams, name, RESTRICTED.dosing)
    if rule.startswith("none"):
        assert rounded == grams
        return
    assert abs(rounded - grams) <= 0.10 * grams + 1e-9
    # Nearest: no whole-vial amount on a finer 0.5 g grid lies strictly closer.
    for candidate in (rounded - 0.5, rounded + 0.5):
        closer = abs(candidate - grams) < abs(rounded - grams)
        assert not (closer and _achievable(candidate, sizes))
    total = 0.0
    for part in rule.rsplit(": ", 1)[1].split(" + "):
        number, _, grams = part.removesuffix(" g").rpartition(" × ")
        assert float(grams) in sizes
        total += int(number or 1) * float(grams)
    assert math.isclose(total, rounded)


def test_small_combination_helper_agrees() -> None:
    # Guard the test helper itself against a silent bug.
    assert _achievable(33, OCTAGAM_10) and not _achievable(3, OCTAGAM_10)
    assert _achievable(7.5, OCTAGAM_5) and not _achievable(6, OCTAGAM_5)
    assert Dosing().weight == "actual"
