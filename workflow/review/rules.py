"""The rule functions: one small pure function per rule id.

Each takes the request, the context and the policy, reads its own configuration
(thresholds, severities, source, recommendations) from the policy and returns a
``Finding`` or ``None``. Whether a rule is enabled and applies to the request's
indication is decided by the engine, not here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from workflow.outcomes import RESPONSE_WINDOW_DAYS
from workflow.review.advice import dose_advice
from workflow.review.context import ReviewContext
from workflow.review.labs import LabValue, creatinine_clearance, hba1c, months_old
from workflow.review.medicines import (
    AgentDose,
    Medicine,
    RenalLimit,
    daily_totals,
    identify,
    load_medicines,
    match,
)
from workflow.review.policy import Policy, RuleConfig
from workflow.review.products import load_products, match_product
from workflow.schemas import CourseRequestIn, Finding, Indication, Severity, SteroidTrial

Check = Callable[[CourseRequestIn, ReviewContext, Policy], Finding | None]

# Floating-point slack so that a dose exactly at the tolerance edge does not fire.
_EPSILON = 1e-9

INDICATION_LABELS: dict[Indication, str] = {
    Indication.DLRPN: "diabetic lumbosacral radiculoplexus neuropathy (diabetic amyotrophy)",
    Indication.DIABETIC_SYMMETRIC_POLYNEUROPATHY: "symmetric diabetic polyneuropathy",
    Indication.LUMBOSACRAL_PLEXUS_NEURITIS: "lumbosacral plexus neuritis",
    Indication.ICI_NEUROPATHY: "immune-checkpoint-inhibitor neuropathy",
    Indication.OTHER: "an indication outside this rule set",
}


def _finding(
    rule_id: str,
    config: RuleConfig,
    message: str,
    *,
    severity: Severity | None = None,
    recommendations: str = "recommendations",
    missing: str | None = None,
    advice: Mapping[str, str] | None = None,
) -> Finding:
    return Finding(
        rule=rule_id,
        severity=severity or config.severity,
        message=message,
        source=config.source,
        recommendations=config.texts(recommendations, advice),
        missing=missing,
    )


def _names(items: list[str]) -> str:
    return ", ".join(items)


def _percent(value: float) -> str:
    return f"{value * 100:.0f} %"


def _g(value: float) -> str:
    """A quantity without trailing zeros: 0.4, 2, 1.25."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


# --- schedule and indication -------------------------------------------------------


def schedule_interval(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    weeks = request.repeat_every_weeks
    if weeks is None:
        return None
    if weeks == 0:
        message = (
            "The course is requested to repeat every 0 weeks, which is not a schedule: "
            "it is either a documentation error or continuous maintenance therapy."
        )
    else:
        message = (
            f"The course is requested to repeat every {weeks} weeks; scheduled maintenance "
            "IVIG is not supported for this indication, so each course is requested "
            "and reviewed on its own."
        )
    return _finding("schedule.interval", policy.rules.schedule_interval, message)


def indication_not_funded(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    # Applicability (the unfunded indications) is the rule's `indications` list.
    label = INDICATION_LABELS[request.indication]
    message = (
        f"This programme does not fund IVIG for {label} outside exceptional "
        "circumstances; approval needs a documented exceptional-case override."
    )
    return _finding("indication.not_funded", policy.rules.indication_not_funded, message)


def indication_symmetric_polyneuropathy(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    if request.indication is not Indication.DIABETIC_SYMMETRIC_POLYNEUROPATHY:
        return None
    message = (
        "Symmetric diabetic polyneuropathy does not respond to IVIG; it is managed with "
        "standard neuropathic-pain treatment and glycaemic control."
    )
    config = policy.rules.indication_symmetric_polyneuropathy
    advice = dose_advice(request, context, policy)
    return _finding("indication.symmetric_polyneuropathy", config, message, advice=advice)


@dataclass(frozen=True)
class SteroidStatus:
    intolerant: list[str]  # corticosteroid formulations not tolerated
    failed: bool  # a trial without response
    cannot_be_used: bool  # the whole class, or every formulation, is not tolerated


def steroid_status(request: CourseRequestIn, policy: Policy) -> SteroidStatus:
    """Whether corticosteroids failed or cannot be used, from the request's steroids.

    Intolerance to one formulation leaves the others (seed 000), so "cannot be used"
    needs intolerance to the whole class or to every formulation the policy lists.
    """
    steroids = request.steroids
    if steroids is None:
        return SteroidStatus([], False, False)
    known = policy.corticosteroids
    named = [identify(name, known.formulations, policy.aliases) for name in steroids.intolerance]
    intolerant = sorted({name for name in named if name is not None})
    whole_class = any(
        identify(name, known.class_terms, policy.aliases) for name in steroids.intolerance
    )
    every_formulation = set(known.formulations) <= set(intolerant)
    return SteroidStatus(
        intolerant,
        steroids.trial is SteroidTrial.NO_RESPONSE,
        whole_class or every_formulation,
    )


def indication_not_standard_of_care(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    if request.indication is not Indication.LUMBOSACRAL_PLEXUS_NEURITIS:
        return None
    config = policy.rules.indication_not_standard_of_care
    status = steroid_status(request, policy)
    grade_met = request.severity_grade >= config.min_grade
    steroids_met = status.failed or status.cannot_be_used
    if grade_met and steroids_met:
        message = (
            "IVIG is off-label for lumbosacral plexus neuritis and not standard of care; "
            f"the exception criteria hold (grade {request.severity_grade}, corticosteroids "
            f"{'failed' if status.failed else 'cannot be used'}), so a single course "
            "may be considered."
        )
        return _finding(
            "indication.not_standard_of_care",
            config,
            message,
            severity=config.severity_when_criteria_met,
            recommendations="recommendations_when_criteria_met",
        )
    message = (
        "IVIG is off-label for lumbosacral plexus neuritis and not standard of care; it is "
        f"considered only from grade {config.min_grade} when corticosteroids have failed or "
        f"cannot be used, and here {_unmet_criteria(request, grade_met, status)}."
    )
    advice = dose_advice(request, context, policy)
    return _finding("indication.not_standard_of_care", config, message, advice=advice)


def _unmet_criteria(request: CourseRequestIn, grade_met: bool, status: SteroidStatus) -> str:
    reasons = [] if grade_met else [f"the grade is {request.severity_grade}"]
    if status.intolerant:
        reasons.append(
            f"corticosteroids have not failed, and intolerance to {_names(status.intolerant)} "
            "alone leaves other formulations"
        )
    elif request.steroids is None or request.steroids.trial is SteroidTrial.NOT_TRIED:
        reasons.append("no corticosteroid trial is recorded")
    else:
        reasons.append("corticosteroids have not failed")
    return "; ".join(reasons)


def indication_other(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    if request.indication is not Indication.OTHER:
        return None
    message = (
        "The indication is outside this rule set, which holds no guideline statement "
        "for it; the reviewer needs the clinical basis for IVIG."
    )
    return _finding(
        "indication.other",
        policy.rules.indication_other,
        message,
        missing="the guideline or evidence basis for IVIG in this indication",
    )


def indication_diabetes_status(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    diabetic = {Indication.DLRPN, Indication.DIABETIC_SYMMETRIC_POLYNEUROPATHY}
    if request.indication not in diabetic or context.has_diabetes:
        return None
    message = (
        "A diabetic neuropathy is requested but the patient's record shows no diabetes; "
        "the diabetes type needs recording, as it also drives the HbA1c checks."
    )
    return _finding(
        "indication.diabetes_status",
        policy.rules.indication_diabetes_status,
        message,
    )


def evidence_level(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    # Applicability (DLRPN) is the rule's `indications` list; only a first course.
    if context.prior is not None:
        return None
    message = (
        "The evidence for IVIG in diabetic lumbosacral radiculoplexus neuropathy is case "
        "series only (no randomised trial; the AANEM's 2009 review found no convincing "
        "data); corticosteroids are the alternative."
    )
    return _finding("evidence.level", policy.rules.evidence_level, message)


def severity_grade(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.severity_grade
    if request.severity_grade >= config.min_grade:
        return None
    message = (
        f"Grade {request.severity_grade} {INDICATION_LABELS[request.indication]} is below "
        f"grade {config.min_grade}; IVIG is kept for severe neuropathy (grade "
        f"{config.min_grade} or more: limiting self-care or rapidly progressive)."
    )
    return _finding("severity.grade", config, message, advice=dose_advice(request, context, policy))


def retreatment_prior_response(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    prior = context.prior
    if prior is None:
        return None
    config = policy.rules.retreatment_prior_response
    motor = policy.motor_response
    if prior.responder or prior.motor_responder:
        if prior.responder:
            how = (
                f"by pain: lowest VAS {_g(prior.lowest_vas or 0.0)} against a baseline of "
                f"{_g(prior.baseline_vas)}, a reduction of 30 % or more"
            )
        else:
            how = (
                f"by motor function: {prior.motor_evidence} (programme thresholds: MRC sum "
                f"+{_g(motor.mrc_sum_points)} points or walking distance "
                f"+{_percent(motor.walking_distance_fraction)})"
            )
        message = (
            f"Course {prior.id} had a positive response {how}; repeating IVIG after a "
            "relapse in a prior responder is supported."
        )
        return _finding(
            "retreatment.prior_response",
            config,
            message,
            severity=config.severity_when_responded,
            recommendations="recommendations_when_responded",
        )
    if not prior.assessed:
        message = (
            f"This re-treatment follows course {prior.id}, whose response is not known: no "
            f"VAS was recorded within {RESPONSE_WINDOW_DAYS} days after its last infusion, "
            "and no motor improvement was recorded."
        )
        return _finding(
            "retreatment.prior_response",
            config,
            message,
            severity=config.severity_when_not_assessed,
            recommendations="recommendations_when_not_assessed",
            missing=f"a VAS assessment of course {prior.id} after its last infusion",
        )
    vas = f"lowest VAS {_g(prior.lowest_vas or 0.0)} against a baseline of {_g(prior.baseline_vas)}"
    message = (
        f"Course {prior.id} had no positive response ({vas}, less than a 30 % reduction, and "
        f"no motor improvement of MRC sum +{_g(motor.mrc_sum_points)} points or walking "
        f"distance +{_percent(motor.walking_distance_fraction)}); repeating IVIG after no "
        "response is not supported."
    )
    return _finding("retreatment.prior_response", config, message)


# --- dose ----------------------------------------------------------------------------


def _deviation(value: float, target: float) -> float:
    return abs(value - target) / target


def dose_daily(request: CourseRequestIn, context: ReviewContext, policy: Policy) -> Finding | None:
    config = policy.rules.dose_daily
    dose, target = request.dose_g_per_kg_per_day, config.target_g_per_kg_per_day
    deviation = _deviation(dose, target)
    if deviation <= config.tolerance + _EPSILON:
        return None
    message = (
        f"The daily dose of {_g(dose)} g/kg differs from {_g(target)} g/kg by "
        f"{_percent(deviation)}, more than {_percent(config.tolerance)}."
    )
    return _finding("dose.daily", config, message)


def dose_course_total(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.dose_course_total
    total = request.dose_g_per_kg_per_day * request.days
    deviation = _deviation(total, config.target_g_per_kg)
    if deviation <= config.tolerance + _EPSILON:
        return None
    message = (
        f"The course total of {_g(total)} g/kg ({_g(request.dose_g_per_kg_per_day)} g/kg "
        f"for {request.days} days) differs from {_g(config.target_g_per_kg)} g/kg by "
        f"{_percent(deviation)}, more than {_percent(config.tolerance)}."
    )
    return _finding("dose.course_total", config, message)


def dose_ceiling(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.dose_ceiling
    daily, days = request.dose_g_per_kg_per_day, request.days
    total = daily * days
    over = []
    if daily > config.max_g_per_kg_per_day + _EPSILON:
        over.append(
            f"the daily dose of {_g(daily)} g/kg is above the ceiling of "
            f"{_g(config.max_g_per_kg_per_day)} g/kg"
        )
    if total > config.max_course_g_per_kg + _EPSILON:
        over.append(
            f"the course total of {_g(total)} g/kg ({_g(daily)} g/kg for {days} days) is above "
            f"the ceiling of {_g(config.max_course_g_per_kg)} g/kg"
        )
    if not over:
        return None
    message = " and ".join(over).capitalize() + "; approving it needs an override reason."
    return _finding("dose.ceiling", config, message)


def dose_weight_mismatch(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    registered = context.registered_weight_kg
    if registered is None:
        return None
    config = policy.rules.dose_weight_mismatch
    deviation = _deviation(request.weight_kg, registered)
    if deviation <= config.max_difference + _EPSILON:
        return None
    message = (
        f"The request's dosing weight of {_g(request.weight_kg)} kg differs from the "
        f"patient's registered weight of {_g(registered)} kg by {_percent(deviation)}, more "
        f"than {_percent(config.max_difference)}: correct the registration (then amend the "
        "request so it is judged again) or the request's weight_kg."
    )
    return _finding("dose.weight_mismatch", config, message)


def dose_height_unknown(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    dosing = policy.dosing
    if dosing.weight != "adjusted" or context.height_cm is not None:
        return None
    child = context.age_years is not None and context.age_years < dosing.adult_age
    if child or (request.pregnant and dosing.pregnancy_exempt):
        return None  # dosed on actual weight whatever the height
    message = (
        "The policy doses on adjusted body weight when BMI is "
        f"{dosing.obesity_bmi:g} or more, but the patient's height is not recorded, so the "
        f"dose uses the actual weight of {_g(request.weight_kg)} kg."
    )
    return _finding("dose.height_unknown", policy.rules.dose_height_unknown, message)


# --- course safety -------------------------------------------------------------------


def retreatment_interval(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    prior = context.prior
    if prior is None or prior.relapse_date is None or prior.last_infusion_date is None:
        return None
    config = policy.rules.retreatment_interval
    days = (prior.relapse_date - prior.last_infusion_date).days
    if days >= config.min_days:
        return None
    message = (
        f"Course {prior.id} relapsed {days} days after its last infusion "
        f"({prior.last_infusion_date.isoformat()} to {prior.relapse_date.isoformat()}), less "
        f"than {config.min_days} days; relief usually lasts months."
    )
    return _finding("retreatment.interval", config, message)


def course_overlap(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    if not context.monitoring_courses:
        return None
    ids = ", ".join(str(i) for i in context.monitoring_courses)
    plural = "s" if len(context.monitoring_courses) > 1 else ""
    message = (
        f"The patient's course{plural} {ids} {'are' if plural else 'is'} still in monitoring; "
        "this course would overlap its follow-up."
    )
    return _finding("course.overlap", policy.rules.course_overlap, message)


# --- corticosteroids and concurrent therapy ------------------------------------------


def steroids_alternatives(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    status = steroid_status(request, policy)
    if not status.intolerant or status.cannot_be_used:
        return None
    others = [f for f in policy.corticosteroids.formulations if f not in status.intolerant]
    message = (
        f"Intolerance to {_names(status.intolerant)} does not by itself justify IVIG: other "
        f"corticosteroid formulations ({_names(others)}) remain available."
    )
    return _finding("steroids.alternatives", policy.rules.steroids_alternatives, message)


def _clearance_text(lab: LabValue) -> str:
    return f"creatinine clearance {_g(lab.value)} mL/min, {lab.when()}"


def _label_sources(medicines: list[Medicine]) -> str:
    vocabulary = load_medicines()
    texts = dict.fromkeys(t for m in medicines for t in vocabulary.renal_source_texts(m))
    return " ".join(texts)


def _with_sources(finding: Finding, medicines: list[Medicine]) -> Finding:
    labels = _label_sources(medicines)
    if not labels:
        return finding
    return finding.model_copy(update={"source": f"{finding.source} Label: {labels}"})


def _entry(dose: AgentDose) -> str:
    """How the request listed an agent: "Lyrica (pregabalin) 150 mg/day"."""
    names = " + ".join(dict.fromkeys(dose.names)) or dose.agent
    if dose.dose_unknown and dose.mg_per_day == 0:
        return f"{names} (dose not stated)"
    return f"{names} {_g(dose.mg_per_day)} mg/day"


def therapy_unrecognised(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    found = [(m.name, match(m.name, policy.aliases)) for m in request.medications]
    unknown = [name for name, one in found if one is None]
    guessed = [(name, one) for name, one in found if one is not None and one.guessed_from]
    parts = []
    if unknown:
        quoted = ", ".join(f'"{name}"' for name in unknown)
        parts.append(
            f"The medicines vocabulary does not know {quoted}, so no therapy rule could judge "
            + ("it." if len(unknown) == 1 else "them.")
        )
    if guessed:
        read = ", ".join(f'"{name}" as {one.written_as}' for name, one in guessed)
        parts.append(
            f"Not a name the medicines vocabulary knows, but one or two letters from one: "
            f"read {read} for the checks; confirm the spelling."
        )
    if not parts:
        return None
    message = " ".join(parts)
    return _finding("therapy.unrecognised", policy.rules.therapy_unrecognised, message)


def _renal_limit(agent: str, clearance: LabValue | None) -> RenalLimit | None:
    medicine = load_medicines().get(agent)
    if medicine is None or clearance is None:
        return None
    return medicine.renal_limit(clearance.value)


def _adequate_dose(agent: str, adequate: float, clearance: LabValue | None) -> float:
    """The adequate dose, capped at the labels' maximum for the creatinine clearance."""
    limit = _renal_limit(agent, clearance)
    return adequate if limit is None else min(adequate, limit.high)


def therapy_first_line(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.therapy_first_line
    exempt_from = config.not_required_from_grade.get(request.indication)
    if exempt_from is not None and request.severity_grade >= exempt_from:
        return None
    clearance = creatinine_clearance(request, context)
    wanted = dict(config.adequate_mg_per_day)
    for medicine in load_medicines().medicines:
        by_class = config.adequate_mg_per_day_by_class.get(medicine.klass)
        if by_class is not None:
            wanted.setdefault(medicine.generic, by_class)
    needed = {agent: _adequate_dose(agent, dose, clearance) for agent, dose in wanted.items()}
    totals = daily_totals(request.medications, needed, policy.aliases)
    if any(dose.mg_per_day >= needed[agent] for agent, dose in totals.items()):
        return None
    advice = dose_advice(request, context, policy)
    agents = _names(list(config.adequate_mg_per_day))
    if config.adequate_mg_per_day_by_class:
        classes = " or ".join(config.adequate_mg_per_day_by_class)
        agents += f", or another medicine of class {classes}"
    if not totals:
        message = f"No first-line neuropathic agent ({agents}) is listed."
        return _finding("therapy.first_line", config, message, advice=advice)
    unknown = sorted(agent for agent, dose in totals.items() if dose.dose_unknown)
    if unknown:
        message = f"The daily dose of {_names(unknown)} is not stated, so its adequacy is unknown."
        return _finding("therapy.first_line", config, message, advice=advice)
    below = [
        f"{_entry(dose)} (adequate: {_g(needed[agent])}"
        + (
            f", the label's most for {_clearance_text(clearance)}"
            if clearance is not None and needed[agent] < wanted[agent]
            else ""
        )
        + ")"
        for agent, dose in sorted(totals.items())
    ]
    combined = " in combination" if len(totals) > 1 else ""
    message = f"No neuropathic agent is at an adequate dose{combined}: {_names(below)}."
    return _finding("therapy.first_line", config, message, advice=advice)


def _band_text(limit: RenalLimit) -> str:
    """ "the label's band for creatinine clearance 15–30 mL/min is 25–150 mg/day", or,
    where the labels differ, each label's band and the lowest maximum of them."""
    ranges = {(band.low, band.high) for band in limit.bands}
    if len(ranges) == 1 and not any(band.proportional for band in limit.bands):
        return f"the label's band for {limit.where()} is {_g(limit.low)}–{_g(limit.high)} mg/day"
    return (
        f"the labels' bands for creatinine clearance {_g(limit.clearance)} mL/min "
        f"({limit.ranges()}) allow at most {_g(limit.high)} mg/day"
    )


def _renal_line(dose: AgentDose, medicine: Medicine | None, clearance: LabValue) -> str:
    limit = None if medicine is None else medicine.renal_limit(clearance.value)
    if limit is None:
        return f"{_entry(dose)} needs its dose adjusted to renal function"
    where = _band_text(limit)
    if dose.combination or (dose.dose_unknown and dose.mg_per_day == 0):
        return f"{_entry(dose)}: {where}"
    if dose.mg_per_day > limit.high + _EPSILON:
        verdict = "above it"
    elif dose.mg_per_day < limit.low - _EPSILON:
        verdict = "below its range"
    else:
        verdict = "within it"
    return f"{_entry(dose)}: {where}, so the dose is {verdict}"


def therapy_renal_adjustment(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.therapy_renal_adjustment
    vocabulary = load_medicines()
    clearance = creatinine_clearance(request, context)
    totals = daily_totals(request.medications, None, policy.aliases)
    banded = [dose for agent, dose in sorted(totals.items()) if agent in config.agents]
    avoided = [
        dose
        for agent, dose in sorted(totals.items())
        if (medicine := vocabulary.get(agent)) is not None
        and medicine.avoid_below_creatinine_clearance is not None
        and clearance is not None
        and clearance.value < medicine.avoid_below_creatinine_clearance
    ]
    lines: list[str] = []
    if banded and clearance is None:
        names = _names([_entry(dose) for dose in banded])
        lines.append(f"{names}: the dose needs adjusting to renal function")
    elif banded and clearance is not None:
        if clearance.value < config.min_creatinine_clearance_ml_min:
            lines += [_renal_line(d, vocabulary.get(d.agent), clearance) for d in banded]
    for dose in avoided:
        medicine = vocabulary.get(dose.agent)
        limit = medicine.avoid_below_creatinine_clearance if medicine else None
        lines.append(f"{_entry(dose)}: the label says to avoid it below {_g(limit or 0)} mL/min")
    if not lines:
        return None
    if clearance is None:
        message = "; ".join(lines) + ", and creatinine clearance is not recorded."
    else:
        message = "; ".join(lines) + f" ({_clearance_text(clearance)})."
    message = message[0].upper() + message[1:]
    finding = _finding(
        "therapy.renal_adjustment",
        config,
        message,
        advice=dose_advice(request, context, policy),
    )
    medicines = [m for d in (*banded, *avoided) if (m := vocabulary.get(d.agent)) is not None]
    return _with_sources(finding, medicines)


def therapy_max_dose(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.therapy_max_dose
    vocabulary = load_medicines()
    clearance = creatinine_clearance(request, context)
    over: list[str] = []
    judged: list[Medicine] = []
    for agent, dose in sorted(daily_totals(request.medications, None, policy.aliases).items()):
        medicine = vocabulary.get(agent)
        if medicine is None or dose.combination:
            continue
        limit, why = medicine.max_mg_per_day, "the label's maximum"
        renal = None if clearance is None else medicine.renal_limit(clearance.value)
        if clearance is not None and renal is not None and (limit is None or renal.high < limit):
            limit = renal.high
            why = f"the most the labels allow for {renal.where()} ({_clearance_text(clearance)})"
        if limit is not None and dose.mg_per_day > limit + _EPSILON:
            over.append(f"{_entry(dose)} is above {_g(limit)} mg/day, {why}")
            judged.append(medicine)
    if not over:
        return None
    message = "; ".join(over) + "."
    message = message[0].upper() + message[1:]
    return _with_sources(_finding("therapy.max_dose", config, message), judged)


def _present(request: CourseRequestIn, agents: set[str], policy: Policy) -> list[AgentDose]:
    totals = daily_totals(request.medications, None, policy.aliases)
    return [dose for agent, dose in sorted(totals.items()) if agent in agents]


def therapy_hepatic(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.therapy_hepatic
    if request.hepatic_disease is not True:
        return None
    vocabulary = load_medicines()
    avoided = {m.generic for m in vocabulary.medicines if m.avoid_in_hepatic_disease}
    doses = _present(request, set(config.agents) | avoided, policy)
    if not doses:
        return None
    names = _names([_entry(dose) for dose in doses])
    verb = "is" if len(doses) == 1 else "are"
    message = f"{names} {verb} listed although the patient has hepatic disease."
    message = message[0].upper() + message[1:]
    medicines = [m for d in doses if (m := vocabulary.get(d.agent)) is not None]
    return _with_sources(_finding("therapy.hepatic", config, message), medicines)


def therapy_opioids(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.therapy_opioids
    vocabulary = load_medicines()
    classes = set(config.classes)
    opioids = {m.generic for m in vocabulary.medicines if m.klass in classes}
    doses = _present(request, opioids | set(config.opioids), policy)
    if not doses:
        return None
    message = (
        f"An opioid is listed ({_names([_entry(dose) for dose in doses])}); opioids, "
        "tramadol and tapentadol included, are not first-line treatment for neuropathic pain."
    )
    advice = dose_advice(request, context, policy)
    return _finding("therapy.opioids", config, message, advice=advice)


# --- safety and diabetes care ---------------------------------------------------------


def _bmi(request: CourseRequestIn, context: ReviewContext) -> float | None:
    if context.height_cm is None:
        return None
    return request.weight_kg / (context.height_cm / 100) ** 2


def _written_factors(request: CourseRequestIn, policy: Policy) -> list[str]:
    """The request's listed factors, normalised; entries meaning "none" dropped."""
    config = policy.rules.safety_thrombosis_risk
    none_terms = {" ".join(t.lower().split()) for t in config.no_factor_terms}
    found: list[str] = []
    for written in request.thromboembolic_risk_factors:
        key = " ".join(written.lower().replace("_", " ").split())
        if key in none_terms:
            continue
        named = config.factor_names.get(key) or config.factor_names.get(key.replace(" ", "_"))
        found.append((named or written).replace("_", " "))
    return found


def safety_thrombosis_risk(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.safety_thrombosis_risk
    factors = _written_factors(request, policy)
    if context.age_years is not None and context.age_years >= config.min_age_years:
        factors.append(f"age {context.age_years}")
    bmi = _bmi(request, context)
    if bmi is not None and bmi >= config.min_bmi:
        factors.append(f"BMI {bmi:.0f}")
    if config.count_diabetes and context.has_diabetes:
        factors.append("diabetes")
    for medication in request.medications:
        found = match(medication.name, policy.aliases)
        factor = None if found is None else config.medicine_classes.get(found.medicine.klass)
        if found is not None and factor is not None:
            factors.append(f"{factor.replace('_', ' ')} ({found.label()} listed)")
    factors = list(dict.fromkeys(factors))
    if not factors:
        return None
    message = (
        f"Thromboembolic risk factors: {_names(factors)}; high-dose IVIG can cause "
        "thrombotic events, and repeated courses add to the risk."
    )
    return _finding("safety.thrombosis_risk", config, message)


def safety_renal_risk(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.safety_renal_risk
    factors: list[str] = []
    if context.age_years is not None and context.age_years >= config.min_age_years:
        factors.append(f"age {context.age_years}")
    if config.count_diabetes and context.has_diabetes:
        factors.append("diabetes")
    clearance = creatinine_clearance(request, context)
    if clearance is not None and clearance.value < config.min_creatinine_clearance_ml_min:
        factors.append(_clearance_text(clearance))
    nephrotoxic = daily_totals(request.medications, None, policy.aliases)
    vocabulary = load_medicines()
    for agent, dose in sorted(nephrotoxic.items()):
        medicine = vocabulary.get(agent)
        if medicine is not None and medicine.nephrotoxic:
            factors.append(f"nephrotoxic {' + '.join(dict.fromkeys(dose.names))}")
    product = match_product(request.product)
    if product is not None and product.product.stabiliser in config.stabilisers:
        factors.append(f"{product.product.name} is stabilised with {product.product.stabiliser}")
    if not factors:
        return None
    # The grams the course will give: the dosing weight (adjusted where the policy says
    # so), exactly as the course's dose is computed, never the actual weight.
    # Imported here: workflow.dosing reads the policy types from this package, so a
    # module-level import would be circular whenever dosing is imported first.
    from workflow.dosing import compute_dose

    grams = compute_dose(
        weight_kg=request.weight_kg,
        g_per_kg_per_day=request.dose_g_per_kg_per_day,
        days=request.days,
        height_cm=context.height_cm,
        sex=context.sex,
        product=request.product,
        policy=policy,
        age_years=context.age_years,
        pregnant=bool(request.pregnant),
    ).grams_per_day
    message = (
        f"Risk factors for IVIG renal dysfunction: {_names(factors)}; the plan is "
        f"{_g(grams)} g a day for {request.days} days."
    )
    return _finding("safety.renal_risk", config, message)


def safety_glucose_meter(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.safety_glucose_meter
    found = match_product(request.product)
    if found is None or not context.has_diabetes:
        return None
    if found.product.stabiliser not in config.stabilisers:
        return None
    message = (
        f"{found.product.name} contains {found.product.stabiliser} and the patient has "
        "diabetes: glucose-dehydrogenase (GDH-PQQ) meters read falsely high during and "
        "after the infusion."
    )
    finding = _finding("safety.glucose_meter", config, message)
    source = load_products().source_text(found.product)
    return finding.model_copy(update={"source": f"{finding.source} Product: {source}"})


def product_unrecognised(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.product_unrecognised
    found = match_product(request.product)
    if found is None:
        message = (
            f'The product vocabulary does not know "{request.product}", so its stabiliser '
            "and vial sizes are not checked."
        )
        return _finding("product.unrecognised", config, message)
    if found.product.intravenous:
        return None
    message = f"{found.product.name} is for subcutaneous use only, not an intravenous course."
    return _finding(
        "product.unrecognised",
        config,
        message,
        severity=config.severity_when_not_intravenous,
        recommendations="recommendations_when_not_intravenous",
    )


def glycemic_target(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    if not context.has_diabetes:
        return None
    config = policy.rules.glycemic_target
    found = hba1c(request, context)
    if found is None:
        message = "The patient has diabetes and no HbA1c is recorded."
        return _finding("glycemic.target", config, message)
    if found.value <= config.max_hba1c_percent + _EPSILON:
        return None
    message = (
        f"The patient has diabetes with HbA1c {_g(found.value)} % ({found.when()}), above "
        f"{_g(config.max_hba1c_percent)} %."
    )
    return _finding("glycemic.target", config, message)


def labs_stale(request: CourseRequestIn, context: ReviewContext, policy: Policy) -> Finding | None:
    config = policy.rules.labs_stale
    checks: list[tuple[str, LabValue | None, float, str]] = [
        (
            "Creatinine clearance",
            creatinine_clearance(request, context),
            config.creatinine_clearance_max_age_months,
            "mL/min",
        )
    ]
    if context.has_diabetes:
        checks.append(("HbA1c", hba1c(request, context), config.hba1c_max_age_months, "%"))
    stale = []
    for name, lab, limit, unit in checks:
        age = None if lab is None else months_old(lab, context.as_of)
        if lab is not None and age is not None and age > limit + _EPSILON:
            stale.append(
                f"{name} {_g(lab.value)} {unit} ({lab.when()}) is {age:.1f} months old at the "
                f"request date, older than {_g(limit)} months"
            )
    if not stale:
        return None
    return _finding("labs.stale", config, "; ".join(stale) + ".")


RULES: dict[str, Check] = {
    "schedule.interval": schedule_interval,
    "indication.not_funded": indication_not_funded,
    "indication.symmetric_polyneuropathy": indication_symmetric_polyneuropathy,
    "indication.not_standard_of_care": indication_not_standard_of_care,
    "indication.other": indication_other,
    "indication.diabetes_status": indication_diabetes_status,
    "evidence.level": evidence_level,
    "severity.grade": severity_grade,
    "retreatment.prior_response": retreatment_prior_response,
    "retreatment.interval": retreatment_interval,
    "course.overlap": course_overlap,
    "dose.daily": dose_daily,
    "dose.course_total": dose_course_total,
    "dose.ceiling": dose_ceiling,
    "dose.weight_mismatch": dose_weight_mismatch,
    "dose.height_unknown": dose_height_unknown,
    "steroids.alternatives": steroids_alternatives,
    "therapy.unrecognised": therapy_unrecognised,
    "therapy.first_line": therapy_first_line,
    "therapy.renal_adjustment": therapy_renal_adjustment,
    "therapy.max_dose": therapy_max_dose,
    "therapy.hepatic": therapy_hepatic,
    "therapy.opioids": therapy_opioids,
    "product.unrecognised": product_unrecognised,
    "safety.thrombosis_risk": safety_thrombosis_risk,
    "safety.renal_risk": safety_renal_risk,
    "safety.glucose_meter": safety_glucose_meter,
    "glycemic.target": glycemic_target,
    "labs.stale": labs_stale,
}
"""Every rule id and its check; the policy's ``rules`` section configures the same ids."""
