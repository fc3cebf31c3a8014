"""Versioned review policies: every threshold, severity and source as validated data.

Guidance differs between programmes, so a programme replaces the policy (a YAML
file named by ``IVIG_POLICY``) rather than forking the code. A policy may start from
another with ``extends: <packaged id>`` and override only what differs; mappings are
merged key by key, lists are replaced whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from workflow.errors import InvalidInput
from workflow.review.medicines import load_medicines
from workflow.schemas import Indication, Severity

ENV_VAR = "IVIG_POLICY"
DEFAULT_POLICY = "default"
# The YAML files ship as package data of workflow.review (see pyproject), not as a package.
_PACKAGE, _FOLDER = "workflow.review", "policies"
_MAX_EXTENDS = 5

Fraction = Annotated[float, Field(gt=0, lt=1)]
Positive = Annotated[float, Field(gt=0)]
Grade = Annotated[int, Field(ge=1, le=4)]
# Medicine names are compared as lower-case word tokens ("Solu-Medrol" -> solu, medrol).
Token = Annotated[str, Field(pattern=r"^[a-z0-9]+$")]
Text = Annotated[str, Field(min_length=1)]
Factor = Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
VialSize = Annotated[float, Field(gt=0, le=1000, multiple_of=0.1)]


class _AnyAdvice(dict[str, str]):
    """Advice by agent; an agent without advice reads as its bare name."""

    def __missing__(self, key: str) -> str:
        return key


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RuleConfig(_Frozen):
    """What every rule has. Subclasses add the rule's thresholds as fields.

    ``indications`` lists where the rule applies (absent: every indication).
    ``when`` and the recommendations may name thresholds as ``{field}``.
    """

    enabled: bool = True
    severity: Severity
    indications: tuple[Indication, ...] | None = None
    when: Text
    source: Text
    recommendations: tuple[Text, ...] = ()

    def thresholds(self) -> dict[str, Any]:
        """The rule's own parameters: every field a subclass adds."""
        common = set(RuleConfig.model_fields)
        return {
            name: value
            for name, value in self.model_dump(mode="json").items()
            if name not in common and not name.startswith(("severity_", "recommendations_"))
        }

    def severities(self) -> dict[str, Severity]:
        """The main severity and any alternative ones (``severity_when_*``)."""
        found = {"default": self.severity}
        for name in type(self).model_fields:
            if name.startswith("severity_"):
                found[name.removeprefix("severity_")] = getattr(self, name)
        return found

    def texts(
        self, attribute: str = "recommendations", advice: Mapping[str, str] | None = None
    ) -> list[str]:
        """Recommendations (or a named variant) with thresholds filled in.

        ``{advice[agent]}`` is the patient's dose advice for a first-line agent
        (``workflow.review.advice``); without one, the agent's name stands in.
        """
        raw: tuple[str, ...] = getattr(self, attribute)
        values = {**self.thresholds(), "advice": _AnyAdvice(advice or {})}
        return [text.format_map(values) for text in raw]

    def describe(self) -> str:
        return self.when.format_map(self.thresholds())

    def applies_to(self, indication: Indication) -> bool:
        return self.enabled and (self.indications is None or indication in self.indications)

    @model_validator(mode="after")
    def _placeholders_resolve(self) -> RuleConfig:
        # Fail at load time, naming the file, rather than mid-review.
        try:
            self.describe()
            for name in type(self).model_fields:
                if name.startswith("recommendations"):
                    self.texts(name)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"a text names an unknown threshold {exc}") from None
        return self


class ScheduleIntervalRule(RuleConfig):
    pass


class DoseDailyRule(RuleConfig):
    target_g_per_kg_per_day: Positive
    tolerance: Fraction


class DoseCourseTotalRule(RuleConfig):
    target_g_per_kg: Positive
    tolerance: Fraction


class SymmetricPolyneuropathyRule(RuleConfig):
    pass


class NotStandardOfCareRule(RuleConfig):
    """Blocks unless the grade and corticosteroid criteria hold; then the second severity."""

    min_grade: Grade
    severity_when_criteria_met: Severity
    recommendations_when_criteria_met: tuple[Text, ...] = ()


class SeverityGradeRule(RuleConfig):
    min_grade: Grade


class PriorResponseRule(RuleConfig):
    """``severity``: the prior course had no positive response."""

    severity_when_responded: Severity
    severity_when_not_assessed: Severity
    recommendations_when_responded: tuple[Text, ...] = ()
    recommendations_when_not_assessed: tuple[Text, ...] = ()


class FirstLineRule(RuleConfig):
    adequate_mg_per_day: dict[Token, Positive] = Field(min_length=1)
    # Any other medicine of these vocabulary classes counts from this dose (a
    # tricyclic not named above, e.g. imipramine).
    adequate_mg_per_day_by_class: dict[Token, Positive] = Field(default_factory=dict)
    # From this grade of these indications, a neuropathic agent is no precondition.
    not_required_from_grade: dict[Indication, Grade] = Field(default_factory=dict)


class RenalAdjustmentRule(RuleConfig):
    """Agents with label renal bands, compared with the band of the recorded clearance.

    Agents the vocabulary says to avoid below a clearance (duloxetine) warn there too.
    """

    agents: tuple[Token, ...] = Field(min_length=1)
    min_creatinine_clearance_ml_min: Positive


class MaxDoseRule(RuleConfig):
    """Above the label's maximum daily dose, or the renal band's maximum."""


class UnrecognisedRule(RuleConfig):
    """A medication or intolerance the medicines vocabulary does not know."""


class HepaticRule(RuleConfig):
    agents: tuple[Token, ...] = Field(min_length=1)


class OpioidRule(RuleConfig):
    # Vocabulary classes that count (brands and combination products included).
    classes: tuple[Token, ...] = ("opioid",)
    # Further names a programme counts as opioids.
    opioids: tuple[Token, ...] = ()


class ThrombosisRiskRule(RuleConfig):
    """Listed factors (normalised), plus age, obesity, diabetes and a statin listed."""

    min_age_years: Annotated[int, Field(ge=18, le=120)] = 65
    min_bmi: Annotated[float, Field(gt=15, lt=80)] = 30
    count_diabetes: bool = True
    # Written factor (lower case, words) -> the factor it names.
    factor_names: dict[str, Factor] = Field(default_factory=dict)
    # Written entries that say there is no factor.
    no_factor_terms: tuple[str, ...] = ("none",)
    # Medicine classes (vocabulary) that show a factor: class -> factor.
    medicine_classes: dict[Factor, Factor] = Field(default_factory=dict)


class RenalRiskRule(RuleConfig):
    min_age_years: Annotated[int, Field(ge=18, le=120)] = 65
    min_creatinine_clearance_ml_min: Positive = 60
    count_diabetes: bool = True
    # Product stabilisers (product vocabulary) that add renal risk.
    stabilisers: tuple[Token, ...] = ("sucrose",)


class GlucoseMeterRule(RuleConfig):
    stabilisers: tuple[Token, ...] = ("maltose",)


class ProductRule(RuleConfig):
    """An unrecognised product (this severity) or one not for intravenous use."""

    severity_when_not_intravenous: Severity
    recommendations_when_not_intravenous: tuple[Text, ...] = ()


class SteroidAlternativesRule(RuleConfig):
    pass


class GlycemicTargetRule(RuleConfig):
    max_hba1c_percent: Annotated[float, Field(gt=4, lt=15)]


class LabsStaleRule(RuleConfig):
    """A laboratory value the rules used is older than the policy allows."""

    hba1c_max_age_months: Annotated[float, Field(gt=0, le=60)] = 6
    creatinine_clearance_max_age_months: Annotated[float, Field(gt=0, le=60)] = 3


class PlainRule(RuleConfig):
    """A rule whose only data is where it applies."""


class DoseCeilingRule(RuleConfig):
    """The most a request may plan; an infusion day above the daily one needs an override."""

    max_g_per_kg_per_day: Positive
    max_course_g_per_kg: Positive


class WeightMismatchRule(RuleConfig):
    """The request's dosing weight against the patient's registered weight."""

    max_difference: Fraction


class RetreatmentIntervalRule(RuleConfig):
    """A relapse this soon after the prior course's last infusion is unexpected."""

    min_days: Annotated[int, Field(ge=1, le=3650)]


class RuleSet(_Frozen):
    """One entry per rule id; the YAML keys are the ids."""

    schedule_interval: ScheduleIntervalRule = Field(alias="schedule.interval")
    indication_not_funded: PlainRule = Field(alias="indication.not_funded")
    indication_symmetric_polyneuropathy: SymmetricPolyneuropathyRule = Field(
        alias="indication.symmetric_polyneuropathy"
    )
    indication_not_standard_of_care: NotStandardOfCareRule = Field(
        alias="indication.not_standard_of_care"
    )
    indication_other: PlainRule = Field(alias="indication.other")
    indication_diabetes_status: PlainRule = Field(alias="indication.diabetes_status")
    evidence_level: PlainRule = Field(alias="evidence.level")
    severity_grade: SeverityGradeRule = Field(alias="severity.grade")
    retreatment_prior_response: PriorResponseRule = Field(alias="retreatment.prior_response")
    retreatment_interval: RetreatmentIntervalRule = Field(alias="retreatment.interval")
    course_overlap: PlainRule = Field(alias="course.overlap")
    dose_daily: DoseDailyRule = Field(alias="dose.daily")
    dose_course_total: DoseCourseTotalRule = Field(alias="dose.course_total")
    dose_ceiling: DoseCeilingRule = Field(alias="dose.ceiling")
    dose_weight_mismatch: WeightMismatchRule = Field(alias="dose.weight_mismatch")
    dose_height_unknown: PlainRule = Field(alias="dose.height_unknown")
    steroids_alternatives: SteroidAlternativesRule = Field(alias="steroids.alternatives")
    therapy_unrecognised: UnrecognisedRule = Field(alias="therapy.unrecognised")
    therapy_first_line: FirstLineRule = Field(alias="therapy.first_line")
    therapy_renal_adjustment: RenalAdjustmentRule = Field(alias="therapy.renal_adjustment")
    therapy_max_dose: MaxDoseRule = Field(alias="therapy.max_dose")
    therapy_hepatic: HepaticRule = Field(alias="therapy.hepatic")
    therapy_opioids: OpioidRule = Field(alias="therapy.opioids")
    product_unrecognised: ProductRule = Field(alias="product.unrecognised")
    safety_thrombosis_risk: ThrombosisRiskRule = Field(alias="safety.thrombosis_risk")
    safety_renal_risk: RenalRiskRule = Field(alias="safety.renal_risk")
    safety_glucose_meter: GlucoseMeterRule = Field(alias="safety.glucose_meter")
    glycemic_target: GlycemicTargetRule = Field(alias="glycemic.target")
    labs_stale: LabsStaleRule = Field(alias="labs.stale")

    def __iter__(self) -> Iterator[tuple[str, RuleConfig]]:  # type: ignore[override]
        """(rule id, config) in the order findings are listed."""
        for name, field in type(self).model_fields.items():
            yield str(field.alias), getattr(self, name)

    def get(self, rule_id: str) -> RuleConfig:
        for found_id, config in self:
            if found_id == rule_id:
                return config
        raise KeyError(rule_id)


class Corticosteroids(_Frozen):
    """What counts as a corticosteroid, for deciding whether steroids "cannot be used"."""

    # Systemic formulations a patient intolerant of one may switch between.
    formulations: tuple[Token, ...] = Field(min_length=1)
    # An intolerance entry naming the whole class ("corticosteroids").
    class_terms: tuple[Token, ...] = ()


class Dosing(_Frozen):
    """The dosing-weight rule and optional rounding to whole vials.

    With ``weight: adjusted``, adjusted body weight is used for BMI at or above
    ``obesity_bmi`` when height is known, except (actual weight then) under
    ``adult_age`` years, below ``min_height_cm`` (no ideal body weight there), in
    pregnancy when ``pregnancy_exempt``, or when actual weight is below the adjusted.
    """

    weight: Literal["actual", "adjusted"] = "actual"
    obesity_bmi: Annotated[float, Field(gt=15, lt=80)] = 30.0
    adjusted_fraction: Fraction = 0.4
    adult_age: Annotated[int, Field(ge=0, le=30)] = 18
    min_height_cm: Annotated[float, Field(ge=100, le=200)] = 152.0
    pregnancy_exempt: bool = True
    source: str = ""
    vial_rounding: bool = False
    # Rounding may move the daily dose at most this far from the calculated one.
    rounding_max_change: Fraction = 0.10
    # Product name (compared case- and space-insensitively) -> vial sizes in grams.
    vials: dict[str, tuple[VialSize, ...]] = Field(default_factory=dict)


class RelapseSignal(_Frozen):
    """When an assessment in monitoring flags a suspected relapse for the coordinator.

    Only a course that responded (by pain or motor function) is flagged, and only when
    pain is back up from the lowest VAS recorded after the course by ``rise_points``
    or more (IMMPACT: about 2 points on a 0-10 scale is a clinically important change)
    and by ``rise_fraction`` of that lowest value or more (seed 003 names VAS as the
    measure to follow after IVIG, and relapse after 7-18 months as expected).
    """

    rise_points: Annotated[float, Field(gt=0, le=10)] = 2.0
    rise_fraction: Fraction = 0.30
    source: Text = (
        "seed 003, 'Understanding the Clinical Context' and 'Monitoring Strategy "
        "Post-Treatment': relief lasts 7-18 months before a possible relapse, and pain is "
        "followed on the VAS after IVIG"
    )


class SafetyFollowup(_Frozen):
    """The follow-up a course stopped after an adverse event gets, for patients at risk.

    Renal risk: creatinine clearance below ``max_creatinine_clearance_ml_min``, age
    ``min_age`` or more, or (when ``diabetes`` is true) any diabetes.
    """

    enabled: bool = True
    kind: Literal["renal_check"] = "renal_check"
    days_after_last_infusion: Annotated[int, Field(ge=0, le=365)] = 7
    max_creatinine_clearance_ml_min: Positive = 60.0
    min_age: Annotated[int, Field(ge=0, le=130)] = 65
    diabetes: bool = True
    source: str = ""


class CourseSafety(_Frozen):
    """Checks on the course itself (not findings): approvals, infusion days, events."""

    approval_valid_days: Annotated[int, Field(ge=1, le=3650)] = 90
    approval_lapse_warning_days: Annotated[int, Field(ge=0, le=365)] = 14
    max_infusion_gap_days: Annotated[int, Field(ge=1, le=365)] = 3
    # Adverse events of this CTCAE grade or more are messaged to the reminder channels.
    notify_adverse_event_grade: Annotated[int, Field(ge=1, le=5)] = 3
    source: str = ""
    followup: SafetyFollowup = Field(default_factory=SafetyFollowup)


class ReviewDeadline(_Frozen):
    """How long a request may wait for a reviewer before the reviewers are told."""

    deadline_working_days: Annotated[int, Field(ge=1, le=60)] = 5
    source: Text = (
        "NHS England commissioning criteria for immunoglobulin: a regional panel answers "
        "a request for approval within 5 working days"
    )


class WalkingChoice(_Frozen):
    """One answer to "how far can you walk?" on the patient's form, and the metres kept."""

    label: Text
    metres: Annotated[float, Field(ge=0, le=100_000)]


def _walking_choices() -> tuple[WalkingChoice, ...]:
    return (
        WalkingChoice(label="I cannot walk", metres=0),
        WalkingChoice(label="Across a room (about 10 metres)", metres=10),
        WalkingChoice(label="To the end of my street (about 100 metres)", metres=100),
        WalkingChoice(label="To a nearby shop (about 500 metres)", metres=500),
        WalkingChoice(label="About a kilometre", metres=1000),
        WalkingChoice(label="Two kilometres or more", metres=2000),
    )


class SelfReport(_Frozen):
    """Patients reporting their own outcomes: which follow-ups invite them, for how long.

    Seed 003 asks for pain on the VAS at 2 weeks and 1 month and walking distance at
    1 month; those are the values a patient can give without an examination (the MRC
    sum needs a clinician). A link works for ``window_days`` after it is sent; one
    reminder goes ``reminder_after_days`` after the invitation if there is no answer.
    """

    kinds: tuple[Text, ...] = ("reassess_2w", "reassess_1m")
    # Kinds at which the form also asks how far the patient can walk.
    walking_kinds: tuple[Text, ...] = ("reassess_1m",)
    window_days: Annotated[int, Field(ge=1, le=90)] = 14
    reminder_after_days: Annotated[int, Field(ge=1, le=60)] = 7
    walking_choices: tuple[WalkingChoice, ...] = Field(default_factory=_walking_choices)
    source: Text = (
        "seed 003, 'Monitoring Strategy Post-Treatment': pain on the VAS at 2 weeks and "
        "1 month after IVIG, walking distance at 1 month"
    )


class MotorResponseCriteria(_Frozen):
    """When a course counts as a response by motor function (programme choices)."""

    mrc_sum_points: Annotated[float, Field(gt=0, le=60)] = 4
    walking_distance_fraction: Annotated[float, Field(gt=0, le=10)] = 0.5
    source: Text = (
        "seed 003, 'Step 1' and 'Monitoring Strategy': a response is pain reduction or "
        "improved motor function, judged on the MRC scale and walking distance at 1 month; "
        "the thresholds are programme choices"
    )


class Policy(_Frozen):
    """A programme's whole rule configuration; its id and version go on every recommendation."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    version: Text
    title: Text
    description: str = ""
    dosing: Dosing = Field(default_factory=Dosing)
    # Brand or other names -> the generic name the rules use.
    aliases: dict[Token, Token] = Field(default_factory=dict)
    corticosteroids: Corticosteroids
    rules: RuleSet
    relapse_signal: RelapseSignal = Field(default_factory=RelapseSignal)
    motor_response: MotorResponseCriteria = Field(default_factory=MotorResponseCriteria)
    safety: CourseSafety = Field(default_factory=CourseSafety)
    review: ReviewDeadline = Field(default_factory=ReviewDeadline)
    self_report: SelfReport = Field(default_factory=SelfReport)

    @model_validator(mode="after")
    def _agents_are_known_medicines(self) -> Policy:
        # The rules judge medicines through the vocabulary: an agent it does not know
        # would silently never match, so it is refused when the policy loads.
        vocabulary = load_medicines()
        rules = self.rules
        named = [
            *rules.therapy_first_line.adequate_mg_per_day,
            *rules.therapy_renal_adjustment.agents,
            *rules.therapy_hepatic.agents,
        ]
        unknown = sorted({agent for agent in named if vocabulary.get(agent) is None})
        if unknown:
            raise ValueError(f"not in the medicines vocabulary: {', '.join(unknown)}")
        return self


def packaged_policies() -> list[str]:
    """Ids of the policies shipped with the package."""
    root = resources.files(_PACKAGE).joinpath(_FOLDER)
    return sorted(
        entry.name.rsplit(".", 1)[0]
        for entry in root.iterdir()
        if entry.name.endswith((".yaml", ".yml"))
    )


def load_policy(ref: str | None = None) -> Policy:
    """The policy named by ``ref``: a YAML path or a packaged id.

    ``None`` reads ``IVIG_POLICY`` and falls back to the packaged default. Anything
    unreadable or invalid raises ``InvalidInput`` with one sentence naming its origin.
    """
    origin = "policy"
    if ref is None:
        from workflow.config import get_settings

        ref = get_settings().policy
        origin = ENV_VAR
    if ref is None:
        return _packaged(DEFAULT_POLICY)
    if _looks_like_path(ref):
        return _validate(_read_file(Path(ref), origin), f"{origin}: policy file {ref}")
    if ref in packaged_policies():
        return _packaged(ref)
    known = ", ".join(packaged_policies())
    raise InvalidInput(
        f"{origin}: {ref!r} is neither a policy file nor a packaged policy ({known})."
    )


@lru_cache(maxsize=8)
def _packaged(policy_id: str) -> Policy:
    # Packaged policies never change at run time, so each is parsed once.
    return _validate(_raw_packaged(policy_id), f"packaged policy {policy_id}")


def _looks_like_path(ref: str) -> bool:
    return ref.endswith((".yaml", ".yml")) or os.sep in ref or Path(ref).is_file()


def _validate(raw: dict[str, Any], label: str) -> Policy:
    merged = _resolve_extends(raw, label, depth=0)
    try:
        return Policy.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise InvalidInput(f"{label} is invalid at {where}: {first['msg']}.") from None


def _resolve_extends(raw: dict[str, Any], label: str, depth: int) -> dict[str, Any]:
    parent = raw.get("extends")
    if parent is None:
        return raw
    if depth >= _MAX_EXTENDS or parent not in packaged_policies():
        raise InvalidInput(f"{label} extends {parent!r}, which is not a packaged policy.")
    base = _resolve_extends(_raw_packaged(str(parent)), label, depth + 1)
    child = {key: value for key, value in raw.items() if key != "extends"}
    return _deep_merge(base, child)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _raw_packaged(policy_id: str) -> dict[str, Any]:
    entry = resources.files(_PACKAGE).joinpath(_FOLDER, f"{policy_id}.yaml")
    text = entry.read_text(encoding="utf-8")
    return _parse(text, f"packaged policy {policy_id}")


def _read_file(path: Path, origin: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise InvalidInput(f"{origin}: cannot read policy file {path} ({reason}).") from None
    return _parse(text, f"{origin}: policy file {path}")


def _parse(text: str, label: str) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        raise InvalidInput(f"{label} is not valid YAML.") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f"{label} must be a YAML mapping.")
    return raw
