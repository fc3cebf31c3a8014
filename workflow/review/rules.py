"""The rule functions: one small pure function per rule id.

Each takes the request, the context and the policy, reads its own configuration
(thresholds, severities, source, recommendations) from the policy and returns a
``Finding`` or ``None``. Whether a rule is enabled and applies to the request's
indication is decided by the engine, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from workflow.outcomes import RESPONSE_WINDOW_DAYS
from workflow.review.context import ReviewContext
from workflow.review.medicines import daily_totals, identify
from workflow.review.policy import Policy, RuleConfig
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
) -> Finding:
    return Finding(
        rule=rule_id,
        severity=severity or config.severity,
        message=message,
        source=config.source,
        recommendations=config.texts(recommendations),
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
    return _finding("indication.symmetric_polyneuropathy", config, message)


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
    return _finding("indication.not_standard_of_care", config, message)


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
    return _finding("severity.grade", config, message)


def retreatment_prior_response(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    prior = context.prior
    if prior is None:
        return None
    config = policy.rules.retreatment_prior_response
    if not prior.assessed:
        message = (
            f"This re-treatment follows course {prior.id}, whose response is not known: no "
            f"VAS was recorded within {RESPONSE_WINDOW_DAYS} days after its last infusion."
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
    if prior.responder:
        message = (
            f"Course {prior.id} had a positive response ({vas}); repeating IVIG after a "
            "relapse in a prior responder is supported."
        )
        return _finding(
            "retreatment.prior_response",
            config,
            message,
            severity=config.severity_when_responded,
            recommendations="recommendations_when_responded",
        )
    message = (
        f"Course {prior.id} had no positive response ({vas}, less than a 30 % reduction); "
        "repeating IVIG after no response is not supported."
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
        f"than {_percent(config.max_difference)}: correct the registration or the request."
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


def therapy_first_line(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.therapy_first_line
    exempt_from = config.not_required_from_grade.get(request.indication)
    if exempt_from is not None and request.severity_grade >= exempt_from:
        return None
    adequate = config.adequate_mg_per_day
    totals = daily_totals(request.medications, adequate, policy.aliases)
    if any(dose.mg_per_day >= adequate[agent] for agent, dose in totals.items()):
        return None
    agents = _names(list(adequate))
    if not totals:
        message = f"No first-line neuropathic agent ({agents}) is listed."
        return _finding("therapy.first_line", config, message)
    unknown = sorted(agent for agent, dose in totals.items() if dose.dose_unknown)
    if unknown:
        message = f"The daily dose of {_names(unknown)} is not stated, so its adequacy is unknown."
        return _finding("therapy.first_line", config, message)
    below = [
        f"{agent} {_g(dose.mg_per_day)} mg/day (adequate: {_g(adequate[agent])})"
        for agent, dose in sorted(totals.items())
    ]
    message = f"No neuropathic agent is at an adequate dose: {_names(below)}."
    return _finding("therapy.first_line", config, message)


def _present(request: CourseRequestIn, agents: tuple[str, ...], policy: Policy) -> list[str]:
    found = {identify(m.name, agents, policy.aliases) for m in request.medications}
    return sorted(agent for agent in found if agent is not None)


def therapy_renal_adjustment(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.therapy_renal_adjustment
    agents = _present(request, config.agents, policy)
    clearance = request.creatinine_clearance_ml_min
    limit = config.min_creatinine_clearance_ml_min
    if not agents or (clearance is not None and clearance >= limit):
        return None
    needs = (
        f"{agents[0].capitalize()} needs its dose"
        if len(agents) == 1
        else f"{' and '.join(agents).capitalize()} need their doses"
    ) + " adjusted to renal function"
    if clearance is None:
        message = f"{needs}, and creatinine clearance is not recorded."
        return _finding("therapy.renal_adjustment", config, message)
    message = f"{needs}: creatinine clearance is {_g(clearance)} mL/min, below {_g(limit)}."
    return _finding("therapy.renal_adjustment", config, message)


def therapy_hepatic(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.therapy_hepatic
    agents = _present(request, config.agents, policy)
    if not agents or request.hepatic_disease is not True:
        return None
    message = f"{_names(agents).capitalize()} is listed although the patient has hepatic disease."
    return _finding("therapy.hepatic", config, message)


def therapy_opioids(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    config = policy.rules.therapy_opioids
    opioids = _present(request, config.opioids, policy)
    if not opioids:
        return None
    message = (
        f"An opioid is listed ({_names(opioids)}); opioids, tramadol and tapentadol "
        "included, are not first-line treatment for neuropathic pain."
    )
    return _finding("therapy.opioids", config, message)


# --- safety and diabetes care ---------------------------------------------------------


def safety_thrombosis_risk(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    factors = request.thromboembolic_risk_factors
    if not factors:
        return None
    message = (
        f"Thromboembolic risk factors are recorded ({_names(factors)}); high-dose IVIG "
        "can cause thrombotic events, and repeated courses add to the risk."
    )
    return _finding("safety.thrombosis_risk", policy.rules.safety_thrombosis_risk, message)


def glycemic_target(
    request: CourseRequestIn, context: ReviewContext, policy: Policy
) -> Finding | None:
    if not context.has_diabetes:
        return None
    config = policy.rules.glycemic_target
    hba1c = request.hba1c_percent
    if hba1c is None:
        hba1c = context.latest_hba1c_percent
    if hba1c is None:
        message = "The patient has diabetes and no HbA1c is recorded."
        return _finding("glycemic.target", config, message)
    if hba1c <= config.max_hba1c_percent + _EPSILON:
        return None
    message = (
        f"The patient has diabetes with HbA1c {_g(hba1c)} %, above "
        f"{_g(config.max_hba1c_percent)} %."
    )
    return _finding("glycemic.target", config, message)


RULES: dict[str, Check] = {
    "schedule.interval": schedule_interval,
    "indication.not_funded": indication_not_funded,
    "indication.symmetric_polyneuropathy": indication_symmetric_polyneuropathy,
    "indication.not_standard_of_care": indication_not_standard_of_care,
    "indication.other": indication_other,
    "indication.diabetes_status": indication_diabetes_status,
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
    "therapy.first_line": therapy_first_line,
    "therapy.renal_adjustment": therapy_renal_adjustment,
    "therapy.hepatic": therapy_hepatic,
    "therapy.opioids": therapy_opioids,
    "safety.thrombosis_risk": safety_thrombosis_risk,
    "glycemic.target": glycemic_target,
}
"""Every rule id and its check; the policy's ``rules`` section configures the same ids."""
