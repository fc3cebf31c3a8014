"""The contract's JSON, in and out, as pydantic models.

``*In`` models validate what users send (unknown fields are refused, so a typo in
an optional clinical field is never silently dropped); ``*Read`` models are what
``--json`` and the API print. The read side builds them from database rows
(``from_attributes``, ``workflow.read``): where a field's name differs from its
column, the column is a second ``validation_alias`` (the JSON keeps the field's name).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from workflow.hostile import StrictInput, out_of_range


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Diabetes(StrEnum):
    NONE = "none"
    TYPE1 = "type1"
    TYPE2 = "type2"


class Indication(StrEnum):
    DLRPN = "dlrpn"
    DIABETIC_SYMMETRIC_POLYNEUROPATHY = "diabetic_symmetric_polyneuropathy"
    LUMBOSACRAL_PLEXUS_NEURITIS = "lumbosacral_plexus_neuritis"
    ICI_NEUROPATHY = "ici_neuropathy"
    OTHER = "other"


class SteroidTrial(StrEnum):
    NOT_TRIED = "not_tried"
    RESPONDED = "responded"
    NO_RESPONSE = "no_response"


class Outcome(StrEnum):
    SUPPORTED = "supported"
    NOT_SUPPORTED = "not_supported"
    NEEDS_INFORMATION = "needs_information"


class AdverseEventKind(StrEnum):
    """Seed 003's adverse effects to watch for after IVIG, plus the usual others."""

    HEADACHE = "headache"
    ASEPTIC_MENINGITIS = "aseptic_meningitis"
    THROMBOSIS = "thrombosis"
    RENAL_DYSFUNCTION = "renal_dysfunction"
    INFUSION_REACTION = "infusion_reaction"
    HEMOLYSIS = "hemolysis"
    OTHER = "other"


class Severity(StrEnum):
    BLOCK = "block"
    WARN = "warn"
    INFO = "info"


class _Model(BaseModel):
    """Every output model here: its validator and serialiser are built the first time
    it is used, not on import (a command uses a few of these models; building all of
    them cost each command's start-up ~15 ms)."""

    model_config = ConfigDict(defer_build=True)


class _In(StrictInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


NonEmpty = Annotated[str, Field(min_length=1, max_length=500)]
# Ranges are declared once, here and in workflow/catalogue.py: the OpenAPI document
# shows them, and a value outside gets the same sentence on every edge.
Vas = Annotated[float, Field(ge=0, le=10), out_of_range("{value} is outside the 0-10 pain scale")]
MrcSum = Annotated[
    int, Field(ge=0, le=60), out_of_range("{value} is outside the MRC sum score's 0-60")
]
Walking = Annotated[float, Field(ge=0, le=100_000), out_of_range("{value} m is outside 0-100000 m")]
Grade = Annotated[int, Field(ge=1, le=5), out_of_range("{value} is not a CTCAE grade (1-5)")]
Grams = Annotated[
    float, Field(gt=0, le=2000), out_of_range("{value} g is not a plausible daily dose (0-2000 g)")
]
Hba1cPercent = Annotated[float, Field(ge=2, le=25), out_of_range("{value} % is outside 2-25 %")]
MonofilamentSites = Annotated[
    int, Field(ge=0, le=10), out_of_range("{value} is outside 0-10 sites")
]
ClearanceMlMin = Annotated[
    float, Field(ge=0, le=500), out_of_range("{value} mL/min is outside 0-500 mL/min")
]
WeightKg = Annotated[float, Field(gt=0, le=500)]
HeightCm = Annotated[float, Field(ge=30, le=272)]
PatientName = Annotated[str, Field(min_length=1, max_length=200)]


class PatientIn(_In):
    mrn: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")]
    name: PatientName
    birth_date: date
    sex: Sex
    weight_kg: WeightKg
    height_cm: HeightCm | None = None
    diabetes: Diabetes = Diabetes.NONE


class Baseline(_In):
    vas: Vas
    mrc_sum: MrcSum | None = None
    walking_distance_m: Walking | None = None


class Steroids(_In):
    trial: SteroidTrial = SteroidTrial.NOT_TRIED
    intolerance: list[NonEmpty] = Field(default_factory=list)


class Medication(_In):
    name: NonEmpty
    mg_per_day: Annotated[float, Field(ge=0, le=100_000)] | None = None


class CourseRequestIn(_In):
    """The request document of ``course request`` and ``course retreat``."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        # HbA1c in one unit or the other (``_one_hba1c_unit``), declared in the schema.
        json_schema_extra={
            "not": {
                "required": ["hba1c_percent", "hba1c_mmol_mol"],
                "properties": {
                    "hba1c_percent": {"type": "number"},
                    "hba1c_mmol_mol": {"type": "number"},
                },
            }
        },
    )

    mrn: Annotated[str, Field(min_length=1, max_length=64)]
    indication: Indication
    indication_detail: Annotated[str, Field(max_length=500)] | None = None
    severity_grade: Annotated[int, Field(ge=1, le=4)]
    product: NonEmpty
    dose_g_per_kg_per_day: Annotated[float, Field(gt=0, le=5)]
    days: Annotated[int, Field(ge=1, le=10)]
    repeat_every_weeks: Annotated[int, Field(ge=0, le=520)] | None = None
    weight_kg: WeightKg
    baseline: Baseline
    steroids: Steroids | None = None
    medications: list[Medication] = Field(default_factory=list)
    creatinine_clearance_ml_min: ClearanceMlMin | None = None
    creatinine_clearance_date: date | None = None
    hepatic_disease: bool | None = None
    thromboembolic_risk_factors: list[NonEmpty] = Field(default_factory=list)
    hba1c_percent: Hba1cPercent | None = None
    # IFCC units, instead of hba1c_percent (converted for the rules: see vocab/labs.yaml).
    hba1c_mmol_mol: Annotated[float, Field(ge=1, le=250)] | None = None
    hba1c_date: date | None = None
    requested_by: NonEmpty
    # Extension: the clinical date of the request (default: today in the clinic's zone).
    requested_on: date | None = None
    # Pregnancy exempts the patient from adjusted-body-weight dosing.
    pregnant: bool | None = None

    @field_validator("hba1c_mmol_mol")
    @classmethod
    def _one_hba1c_unit(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("hba1c_percent") is not None:
            raise PydanticCustomError(
                "hba1c_both_units", "give hba1c_percent or hba1c_mmol_mol, not both"
            )
        return value


class Finding(_Model):
    rule: str
    severity: Severity
    message: str
    source: str
    recommendations: list[str] = Field(default_factory=list)
    # Set when the finding exists because something is not recorded (names what);
    # such findings make the outcome ``needs_information`` rather than ``supported``.
    missing: str | None = None


class Recommendation(_Model):
    outcome: Outcome
    findings: list[Finding]
    policy_id: str
    policy_version: str


def column(name: str, column: str) -> Any:
    """A read field named ``name`` filled from the row's ``column`` (``from_attributes``)."""
    return Field(validation_alias=AliasChoices(name, column))


class DoseRead(_Model):
    g_per_kg_per_day: float = column("g_per_kg_per_day", "dose_g_per_kg_per_day")
    days: int
    grams_per_day: float
    total_grams: float
    weight_kg: float
    dosing_weight_kg: float
    weight_rule: str = column("weight_rule", "dosing_weight_rule")
    rounding: str | None = Field(None, validation_alias=AliasChoices("rounding", "rounding_rule"))
    #: What the live (not voided) infusion days add up to.
    days_given: int = 0
    grams_given: float = 0.0


class VoidRead(_Model):
    """A record's correction marks: ``voided`` records stay, shown with who and why."""

    voided: bool = False
    voided_at: datetime | None = None
    voided_by: str | None = None
    void_reason: str | None = None


class HistoryRead(_Model):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: str | None = Field(alias="from", validation_alias=AliasChoices("from", "from_state"))
    to: str | None = column("to", "to_state")
    trigger: str
    at: datetime
    # Annotated: a default named ``date`` would hide the type ``date`` from the others.
    date: Annotated[date | None, column("date", "clinical_date")]
    actor: str
    reason: str | None


class InfusionRead(VoidRead):
    id: int
    day: int = column("day", "day_number")
    date: date
    grams: float
    lot: str | None = None
    override_reason: str | None
    actor: str


class AdverseEventRead(_Model):
    id: int
    date: date
    kind: str
    grade: int
    note: str | None
    actor: str


class AssessmentRead(VoidRead):
    id: int
    date: date
    vas: float | None
    mrc_sum: int | None
    walking_distance_m: float | None
    actor: str
    # ``clinician`` (entered by staff) or ``patient`` (the patient's own report).
    source: str = "clinician"


class MeasurementRead(VoidRead):
    id: int
    mrn: str
    date: date
    hba1c_percent: float | None
    monofilament_sites_felt: int | None
    creatinine_clearance_ml_min: float | None = None
    actor: str


class FollowUpRead(_Model):
    id: int
    kind: str
    mrn: str
    course_id: int | None
    due_date: date
    status: str
    days_overdue: int | None = None
    # The patient's own report (issue 17): invited, letter_to_print, answered, call;
    # None when the patient was not invited for this follow-up.
    self_report: str | None = None


class ReviewRead(_Model):
    decision: str
    reviewer: str
    note: str
    override_reason: str | None
    at: datetime


class PatientRead(_Model):
    mrn: str
    name: str
    birth_date: date
    sex: Sex
    weight_kg: float
    height_cm: float | None
    diabetes: Diabetes
    created_at: datetime
    # Self-reported outcomes (docs/self-report.md): email, letter or none; the consent date.
    self_report: str = "none"
    self_report_consent_on: date | None = None
    email: str | None = None


class PatientEventRead(_Model):
    """A row of a patient's own history (registration, corrections)."""

    model_config = ConfigDict(from_attributes=True)

    trigger: str
    at: datetime
    actor: str
    reason: str | None
    changes: dict[str, Any] | None = None


class SuspectedRelapse(_Model):
    course_id: int
    mrn: str
    indication: str
    evidence: str


class CourseSummary(_Model):
    id: int
    mrn: str
    state: str
    indication: str
    requested_at: datetime
    awaiting_information: bool = False
    suspected_relapse: bool = False
    #: The clinical date of the request (``requested_at`` is when it was entered).
    requested_on: date | None = None
    patient_name: str | None = None
    #: On the worklist's pending reviews: working days waited, and past the deadline
    #: (shown on the page, not part of the list's JSON).
    waiting_working_days: int | None = Field(None, exclude=True)
    waiting_overdue: bool = Field(False, exclude=True)


class LineageEntry(_Model):
    """One course in a patient's chain of treatment and re-treatment."""

    id: int
    state: str
    indication: str
    requested_on: date
    last_infusion_date: date | None
    baseline_vas: float
    lowest_vas: float | None
    responder: bool
    relapse_date: date | None
    current: bool


class RequesterCorrectionRead(_Model):
    """One requester correction (``course correct-requester``): from whom to whom, who
    corrected it, when and why; ``recorded`` is the prescriber the request was made with."""

    recorded: str
    from_: str = Field(alias="from")
    to: str
    by: str
    at: datetime
    reason: str | None

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class CourseRead(_Model):
    id: int
    mrn: str
    state: str
    indication: str
    indication_detail: str | None
    severity_grade: int
    product: str
    prior_course_id: int | None
    next_course_id: int | None
    #: The prescriber the request was recorded with: never changes.
    requested_by: str
    #: The prescriber a requester correction attributed the request to since (the
    #: latest; null when never corrected). Neither may review the course.
    corrected_requested_by: str | None = None
    requester_corrections: list[RequesterCorrectionRead] = Field(default_factory=list)
    #: Who entered the request (the actor); may not review it, like the requester.
    entered_by: str
    #: The course's version: a review names the version its reviewer saw.
    version: int
    requested_on: date
    requested_at: datetime
    repeat_every_weeks: int | None
    # Every field of the request document, as stored.
    request: dict[str, Any] = Field(default_factory=dict)
    # The request as the rules read it: matched medicines and product, the lab values
    # used with their dates, BMI, registered weight, prescriber and who entered it.
    request_details: dict[str, Any] | None = None
    baseline: dict[str, Any]
    dose: DoseRead
    recommendation: Recommendation
    awaiting_information: str | None
    suspected_relapse: dict[str, Any] | None
    last_infusion_date: date | None
    relapse_date: date | None
    ended_on: date | None
    approved_on: date | None = None
    allowed_actions: list[str]
    lineage: list[LineageEntry]
    reviews: list[ReviewRead]
    history: list[HistoryRead]
    infusions: list[InfusionRead]
    assessments: list[AssessmentRead]
    adverse_events: list[AdverseEventRead] = Field(default_factory=list)
    followups: list[FollowUpRead]


Decision = Literal["approve", "deny"]
