"""Dose arithmetic: grams per day and per course from the dosing weight.

Without a policy the dosing weight is the actual weight and nothing is rounded:
82 kg x 0.4 g/kg/day over 5 days is 32.8 g a day, 164 g in all. A policy may choose
adjusted body weight for obese patients (the default policy does, as national
programmes now do) and rounding of the daily dose to whole vials of the product.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflow.review.policy import Dosing, Policy
from workflow.schemas import DoseRead

CM_PER_INCH = 2.54
# Devine: 50 kg (men) or 45.5 kg (women) plus 2.3 kg per inch over 5 feet.
DEVINE_BASE_KG = {"male": 50.0, "female": 45.5}
DEVINE_KG_PER_INCH = 2.3
DEVINE_FROM_INCHES = 60
# Vial amounts are handled in tenths of a gram so that 2.5 g vials add up exactly.
_UNITS_PER_GRAM = 10


@dataclass(frozen=True)
class DosingWeight:
    kg: float
    rule: str


def compute_dose(
    *,
    weight_kg: float,
    g_per_kg_per_day: float,
    days: int,
    height_cm: float | None = None,
    sex: str | None = None,
    product: str | None = None,
    policy: Policy | None = None,
    age_years: int | None = None,
    pregnant: bool = False,
) -> DoseRead:
    """The planned daily and course grams; ``weight_rule`` and ``rounding`` say how."""
    dosing = policy.dosing if policy is not None else Dosing()
    weight = dosing_weight(
        weight_kg=weight_kg,
        height_cm=height_cm,
        sex=sex,
        dosing=dosing,
        age_years=age_years,
        pregnant=pregnant,
    )
    per_day = round(weight.kg * g_per_kg_per_day, 2)
    rounding: str | None = None
    if dosing.vial_rounding:
        per_day, rounding = round_to_vials(per_day, product, dosing)
    return DoseRead(
        g_per_kg_per_day=g_per_kg_per_day,
        days=days,
        grams_per_day=per_day,
        total_grams=round(per_day * days, 2),
        weight_kg=weight_kg,
        dosing_weight_kg=weight.kg,
        weight_rule=weight.rule,
        rounding=rounding,
    )


def ideal_body_weight(*, height_cm: float, sex: str | None) -> tuple[float, str]:
    """Devine ideal body weight and the formula used.

    Sex other than male or female uses the female formula: it gives the lower ideal
    weight, hence the lower dose, the conservative side for a blood product.
    """
    formula = "male" if sex == "male" else "female"
    # Devine counts inches over 5 feet; below that it would shrink towards negative
    # weights, so it is never extrapolated (and the dosing policy does not use it there).
    inches_over = max(0.0, height_cm / CM_PER_INCH - DEVINE_FROM_INCHES)
    return DEVINE_BASE_KG[formula] + DEVINE_KG_PER_INCH * inches_over, formula


def dosing_weight(
    *,
    weight_kg: float,
    height_cm: float | None,
    sex: str | None,
    dosing: Dosing,
    age_years: int | None = None,
    pregnant: bool = False,
) -> DosingWeight:
    """Actual weight, or adjusted body weight when the policy asks and the patient is obese.

    The exemptions programmes use keep actual weight: a child, a height below the
    policy's minimum, pregnancy, or an actual weight below the adjusted one.
    """
    if dosing.weight == "actual":
        return DosingWeight(weight_kg, "actual")
    if age_years is not None and age_years < dosing.adult_age:
        return DosingWeight(weight_kg, f"actual (age {age_years}, under {dosing.adult_age})")
    if pregnant and dosing.pregnancy_exempt:
        return DosingWeight(weight_kg, "actual (pregnant)")
    if height_cm is None:
        return DosingWeight(weight_kg, "actual (height unknown)")
    if height_cm < dosing.min_height_cm:
        return DosingWeight(
            weight_kg, f"actual (height {height_cm:g} cm, under {dosing.min_height_cm:g} cm)"
        )
    bmi = weight_kg / (height_cm / 100) ** 2
    if bmi < dosing.obesity_bmi:
        return DosingWeight(weight_kg, f"actual (BMI {bmi:.1f} below {dosing.obesity_bmi:g})")
    ideal, formula = ideal_body_weight(height_cm=height_cm, sex=sex)
    adjusted = round(ideal + dosing.adjusted_fraction * (weight_kg - ideal), 2)
    if weight_kg <= adjusted:
        # Only when actual is at or below ideal: adjusting would raise the dose.
        return DosingWeight(weight_kg, f"actual (below adjusted {adjusted:.1f} kg)")
    note = "" if sex in ("male", "female") else f" (female formula for sex {sex or 'unknown'})"
    rule = (
        f"adjusted (BMI {bmi:.1f} ≥ {dosing.obesity_bmi:g}: ideal {ideal:.1f} kg by Devine"
        f"{note} + {dosing.adjusted_fraction:g} × excess)"
    )
    return DosingWeight(adjusted, rule)


def round_to_vials(grams: float, product: str | None, dosing: Dosing) -> tuple[float, str]:
    """The nearest daily amount made of whole vials (ties down), if within the limit.

    Any sum of vials is preparable, so the candidates are all such sums; ties go down
    (less product, less waste). A rounding that would move the dose by more than
    ``rounding_max_change`` is not applied and the reason is given instead.
    """
    sizes = _vial_sizes(product, dosing)
    if not sizes:
        return grams, f"none (no vial sizes for {product or 'the product'})"
    target = round(grams * _UNITS_PER_GRAM)
    ceiling = target + max(sizes)
    counts = _fewest_vials(sizes, ceiling)
    reachable = [amount for amount in range(1, ceiling + 1) if counts[amount] is not None]
    best = min(reachable, key=lambda amount: (abs(amount - target), amount))
    rounded = best / _UNITS_PER_GRAM
    label = ", ".join(f"{s / _UNITS_PER_GRAM:g}" for s in sizes)
    if abs(rounded - grams) > dosing.rounding_max_change * grams + 1e-9:
        limit = f"{dosing.rounding_max_change * 100:g} %"
        return grams, f"none (nearest whole-vial amount {rounded:g} g is more than {limit} away)"
    return rounded, f"nearest whole vials of {label} g, ties down: {_spell(best, sizes, counts)}"


def _vial_sizes(product: str | None, dosing: Dosing) -> list[int]:
    if product is None:
        return []
    wanted = _product_key(product)
    for name, sizes in dosing.vials.items():
        if _product_key(name) == wanted:
            return sorted({round(size * _UNITS_PER_GRAM) for size in sizes}, reverse=True)
    return []


def _product_key(name: str) -> str:
    return "".join(name.lower().split())


def _fewest_vials(sizes: list[int], ceiling: int) -> list[int | None]:
    """Per amount (in units) up to ``ceiling``: the fewest vials that make it, or None."""
    counts: list[int | None] = [0] + [None] * ceiling
    for amount in range(1, ceiling + 1):
        options = [
            previous + 1
            for size in sizes
            if size <= amount and (previous := counts[amount - size]) is not None
        ]
        counts[amount] = min(options) if options else None
    return counts


def _spell(amount: int, sizes: list[int], counts: list[int | None]) -> str:
    """The vials for ``amount`` as a pharmacy reads them: "20 g + 5 g + 4 × 2 g"."""
    vials = _vials_for(amount, sizes, counts)
    parts = []
    for size in dict.fromkeys(vials):
        grams = f"{size / _UNITS_PER_GRAM:g} g"
        number = vials.count(size)
        parts.append(grams if number == 1 else f"{number} × {grams}")
    return " + ".join(parts)


def _vials_for(amount: int, sizes: list[int], counts: list[int | None]) -> list[int]:
    """One fewest-vials breakdown of ``amount``, largest vials first."""
    vials: list[int] = []
    while amount > 0:
        current = counts[amount]
        size = next(
            s
            for s in sizes
            if s <= amount and current is not None and counts[amount - s] == current - 1
        )
        vials.append(size)
        amount -= size
    return vials
