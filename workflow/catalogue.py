"""The action catalogue: every user action, declared once.

An *action* is something a person does to a course or a patient (review, infuse,
stop, update a patient…). Each is one :class:`Action` in :data:`CATALOGUE`: its
name, the transition triggers it may fire, its input model, the service function
that performs it, the roles allowed, the verb a refusal uses and the message a
success shows. Everything else is derived from this table:

- the CLI command ``ivig <scope> <name> TARGET --field …`` (``workflow/cli/actions.py``
  builds one option per input field: ``override_reason`` becomes ``--override-reason``);
- the API route ``POST /api/v1/<scope>s/{target}/<path>`` with the input model as
  its JSON body (``workflow/web/api.py``);
- the page's form and button (``workflow/web/course_pages.py``, ``patient_pages``);
- the role check and the "may this button show" answer
  (``workflow/service/permissions.py``: ``can``/``check``);
- which actions a course's state offers (:func:`allowed_actions`) and the mapping
  of triggers to commands that ``docs/states.md`` shows (checked by a test).

How to add an action
--------------------

1. Write its input model below (a pydantic model, one field per option; the
   field's ``description`` is the option's help; a ``date`` field becomes a
   ``YYYY-MM-DD`` option). Declare what a value can be checked against by itself
   here, with the field: ranges (``Grade``, ``Vas``… from ``workflow/schemas.py``,
   each with its sentence), lengths (``RequiredText``, ``OptionalText``), enums
   (``Literal``/``StrEnum``), dates, "give at least one of" (``at_least_one``). The
   OpenAPI document shows it and pydantic enforces it, on every edge with the same
   sentence. Rules that need the database or the clock (the state, "not after
   today") stay in the service.
2. Write one service function with the uniform signature
   ``fn(*, session, target, data, actor, clock) -> Course | Patient``: ``target``
   is the course id (scope ``course``) or the MRN (scope ``patient``), ``data`` an
   instance of the input model, ``actor`` an :class:`Actor`. One transaction, one
   history row. Refuse with ``workflow.errors``. The role check is done for you by
   :func:`workflow.service.actions.perform` before the function runs; an extra rule
   (like "nobody reviews their own request") goes in ``service/permissions.py``.
3. Add one :class:`Action` entry to ``CATALOGUE`` naming that function as
   ``"module:function"`` (resolved lazily, so this module stays light and
   importable from anywhere). If it fires a new trigger, add the trigger to
   ``workflow/states.py``'s table.

That is all: the CLI command, the API route, the page form (a generic one, unless
``form="special"`` and the course template has a block for it), the role check and
the docs tables follow. Run ``python scripts/make_docs.py`` to regenerate the docs.
Two files of code (this one and the service module), three or four with a new
trigger or a special form (docs/decisions.md, "What a new action touches").

Nothing here imports the database, the web layer or a service module.
"""

from __future__ import annotations

import datetime as dt
import importlib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from workflow.hostile import (
    ADDRESS_PATTERN,
    EMAIL_PATTERN,
    OptionalText,
    RequiredText,
    StrictInput,
    not_blank,
)
from workflow.schemas import (
    AdverseEventKind,
    CourseRequestIn,
    Diabetes,
    Grade,
    Grams,
    HeightCm,
    MrcSum,
    PatientName,
    Vas,
    Walking,
    WeightKg,
)
from workflow.states import CourseState, allowed_triggers, triggers


class Scope(StrEnum):
    """What an action's target is: a course (by id) or a patient (by MRN)."""

    COURSE = "course"
    PATIENT = "patient"


@dataclass(frozen=True)
class Actor:
    """Who acts: a name for the history and, on the web and API, a role.

    The CLI has no roles (whoever runs it has the database), so its ``role`` is None
    and role checks pass; the rules that are not about roles (self-review) still hold.
    """

    name: str
    role: str | None = None
    #: Signed in with an API token someone else minted: may act, may not review.
    delegated: bool = False


Role = Literal["coordinator", "reviewer", "admin"]
ROLES: tuple[str, ...] = typing.get_args(Role)
COORDINATOR: frozenset[str] = frozenset({"coordinator", "admin"})
REVIEWER: frozenset[str] = frozenset({"reviewer", "admin"})
ADMIN: frozenset[str] = frozenset({"admin"})

#: ``generic``: the page builds the form from the input model; ``special``: the
#: course template has its own block; ``document``: a page of its own (the request
#: document); ``none``: no form (the action is not offered on pages).
FormKind = Literal["generic", "special", "document", "none"]


# --- input models: one field per option, same names on every edge ---------------------


class ActionInput(StrictInput):
    """Base of every action's input: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


def at_least_one(*names: str) -> dict[str, Any]:
    """A model's ``json_schema_extra``: at least one of ``names`` given (not null).

    The service refuses the input otherwise (one sentence naming them); this says so
    in the schema."""
    return {
        "anyOf": [{"required": [n], "not": {"properties": {n: {"type": "null"}}}} for n in names]
    }


#: Record ids and day numbers: positive, within the database's integer.
RecordId = Annotated[int, Field(ge=1, le=2**31 - 1)]
#: A person's name as the history records it.
PersonName = Annotated[str, Field(max_length=200)]


_DATE = "Clinical date, YYYY-MM-DD."
_DATE_TODAY = "Clinical date, YYYY-MM-DD (default: today)."


class ReviewBody(ActionInput):
    """``course review``: on the web the reviewer is the signed-in user."""

    decision: Literal["approve", "deny", "info"] = Field(
        description="approve, deny, or info (ask the requester for more information)."
    )
    reviewer: PersonName | None = Field(None, description="The reviewer (not the requester).")
    note: RequiredText = Field(description="Why; for 'info', the question to answer.")
    override_reason: OptionalText | None = Field(
        None, description="Needed to approve against the recommendation."
    )
    date: dt.date | None = Field(None, description=_DATE_TODAY)
    version: int | None = Field(
        None,
        description="The course version you reviewed ('version' in course show --json; "
        "default: the version when the command starts). A course changed since is refused.",
    )


class InfusionBody(ActionInput):
    date: dt.date = Field(description=_DATE)
    grams: Grams = Field(description="Grams given that day.")
    lot: Annotated[str, Field(max_length=100)] | None = Field(
        None, description="The product lot given (for recalls)."
    )
    override_reason: OptionalText | None = Field(
        None,
        description="Needed when grams are >10 % from the plan or above the ceiling, or "
        "the day is more than the policy's gap after the last one.",
    )


class AdverseEventBody(ActionInput):
    date: dt.date = Field(description=_DATE)
    kind: AdverseEventKind = Field(description="What happened.")
    grade: Grade = Field(description="CTCAE grade, 1-5.")
    note: OptionalText | None = Field(None, description="What was seen and done.")


class StopBody(ActionInput):
    date: dt.date = Field(description=_DATE)
    reason: RequiredText = Field(description="Why the infusions stopped.")


class AssessmentBody(ActionInput):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=at_least_one("vas", "mrc_sum", "walking_distance_m")
    )

    date: dt.date = Field(description=_DATE)
    vas: Vas | None = Field(None, description="Pain, 0-10.")
    mrc_sum: MrcSum | None = Field(None, description="MRC sum score, 0-60.")
    walking_distance_m: Walking | None = Field(None, description="Metres walked, 0-100000.")


class RelapseBody(ActionInput):
    date: dt.date = Field(description=_DATE)
    note: OptionalText | None = Field(None, description="What was seen.")


class DismissBody(ActionInput):
    reason: RequiredText = Field(description="Why this is not a relapse.")
    date: dt.date | None = Field(None, description=_DATE_TODAY)


class CloseBody(ActionInput):
    date: dt.date = Field(description=_DATE)


class CancelBody(ActionInput):
    reason: RequiredText = Field(description="Why the request is withdrawn.")
    date: dt.date | None = Field(None, description=_DATE_TODAY)


class AmendBody(ActionInput):
    """``course amend``: the corrected request document and what changed."""

    request: CourseRequestIn
    note: OptionalText | None = Field(None, description="The answer, or what changed.")
    date: dt.date | None = Field(None, description=_DATE_TODAY)


class CorrectRequesterBody(ActionInput):
    """``course correct-requester``: the request was attributed to the wrong prescriber."""

    to: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(not_blank)] = Field(
        description="The prescriber who really requested the course."
    )
    reason: RequiredText = Field(description="Why the attribution was wrong (kept in the history).")


class VoidInfusionBody(ActionInput):
    day: RecordId = Field(description="The infusion day number `course show` prints.")
    reason: RequiredText = Field(description="Why the record is voided (kept with it).")


class VoidAssessmentBody(ActionInput):
    assessment: RecordId = Field(description="The assessment id `course show` prints.")
    reason: RequiredText = Field(description="Why the record is voided (kept with it).")


class VoidMeasurementBody(ActionInput):
    measurement: RecordId = Field(description="The measurement id `patient show` prints.")
    reason: RequiredText = Field(description="Why the record is voided (kept with it).")


class SelfReportMode(StrEnum):
    """How a patient reports their own outcomes (docs/self-report.md)."""

    EMAIL = "email"
    LETTER = "letter"
    NONE = "none"


_UPDATABLE = ("weight_kg", "height_cm", "diabetes", "name", "self_report", "email", "address")


class PatientUpdateBody(ActionInput):
    """``patient update``: only the fields given change; ``reason`` is required.

    The ranges are those of ``patient add`` (``PatientIn``), so a value the
    registration refuses is refused here with the same sentence. A new field is one
    line here (``UPDATABLE`` in ``service/patients.py`` lists what is compared).
    """

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra=at_least_one(*_UPDATABLE),
    )

    weight_kg: WeightKg | None = Field(None, description="Body weight in kg.")
    height_cm: HeightCm | None = Field(None, description="Height in cm.")
    diabetes: Diabetes | None = Field(
        None,
        description="none, type1 or type2; with diabetes on, the HbA1c and monofilament "
        "follow-ups are planned, off, cancelled (docs/followups.md).",
    )
    name: PatientName | None = Field(None, description="Full name.")
    self_report: SelfReportMode | None = Field(
        None,
        description="How the patient reports their own outcomes: email, letter or none "
        "(enrolling dates their consent today; see docs/self-report.md).",
    )
    email: (
        Annotated[str, Field(max_length=320, json_schema_extra={"pattern": EMAIL_PATTERN})] | None
    ) = Field(None, description="E-mail address for self-report invitations (empty: remove it).")
    address: Annotated[str, Field(json_schema_extra={"pattern": ADDRESS_PATTERN})] | None = Field(
        None,
        description="Postal address for self-report letters: 1-8 lines of at most 100 "
        "characters, separated by '|' or line breaks (empty: remove it).",
    )
    reason: RequiredText = Field(description="Why the record changes (kept in the history).")


# --- the table -------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One user action. See the module docstring for what is derived from it."""

    name: str
    scope: Scope
    triggers: tuple[str, ...]
    input: type[BaseModel]
    service: str
    roles: frozenset[str]
    verb: str
    done: str
    help: str
    #: The API path segment after the target (default: the name).
    path: str = ""
    #: Fields the CLI requires although the web fills them in (the reviewer).
    cli_required: tuple[str, ...] = ()
    #: Fields that on the web and the API are always the signed-in user.
    signed_in: tuple[str, ...] = ()
    form: FormKind = "generic"
    #: The API route is written by hand (``amend``, ``retreat``: a request document with
    #: rules of its own); a test holds it to this entry's path and input. The CLI
    #: command is always derived (a document field is read from ``--file``).
    custom_edges: bool = False
    #: The action answers a new course (the API answers 201; the CLI prints it whole).
    creates: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def api_path(self) -> str:
        return self.path or self.name

    @property
    def function(self) -> Callable[..., Any]:
        """The service function, imported on first use."""
        return _resolve(self.service)


@cache
def _resolve(dotted: str) -> Callable[..., Any]:
    module, _, name = dotted.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


_COURSE = "workflow.service.actions"

CATALOGUE: tuple[Action, ...] = (
    Action(
        name="review",
        scope=Scope.COURSE,
        triggers=("approve", "deny", "ask_information"),
        input=ReviewBody,
        service=f"{_COURSE}:review",
        roles=REVIEWER,
        verb="review courses",
        done="Review recorded.",
        help="Decide on a request: approve, deny, or ask for information.",
        cli_required=("reviewer",),
        signed_in=("reviewer",),
        form="special",
    ),
    Action(
        name="amend",
        scope=Scope.COURSE,
        triggers=("amend_request",),
        input=AmendBody,
        service=f"{_COURSE}:amend",
        roles=COORDINATOR,
        verb="amend requests",
        done="Request amended.",
        help="Answer a reviewer's question or correct a request still awaiting review.",
        form="document",
        custom_edges=True,
    ),
    Action(
        name="correct-requester",
        scope=Scope.COURSE,
        triggers=("correct_requester",),
        input=CorrectRequesterBody,
        service="workflow.service.courses:correct_requester",
        roles=COORDINATOR,
        verb="correct who requested a course",
        done="Requester corrected.",
        help="Correct the prescriber a request awaiting review is attributed to (the "
        "recorded one is kept; the correction is a history row naming both). Neither may "
        "review the course, nor make the correction.",
    ),
    Action(
        name="infuse",
        scope=Scope.COURSE,
        triggers=("infuse", "finish_infusions"),
        input=InfusionBody,
        service=f"{_COURSE}:infuse",
        roles=COORDINATOR,
        verb="record infusions",
        done="Infusion day recorded.",
        help="Record one infusion day.",
        path="infusions",
        form="special",
    ),
    Action(
        name="stop",
        scope=Scope.COURSE,
        triggers=("stop",),
        input=StopBody,
        service=f"{_COURSE}:stop",
        roles=COORDINATOR,
        verb="stop courses",
        done="Course stopped.",
        help="Stop a course during its infusions (infusing -> discontinued).",
        form="special",
    ),
    Action(
        name="adverse-event",
        scope=Scope.COURSE,
        triggers=("adverse_event",),
        input=AdverseEventBody,
        service="workflow.service.safety:adverse_event_action",
        roles=frozenset({"coordinator", "reviewer", "admin"}),
        verb="record adverse events",
        done="Adverse event recorded.",
        help="Record an adverse event (from the first infusion on, also after a stop).",
        path="adverse-events",
        form="special",
        # A serious event's message is sent as soon as the command commits.
        extra={"deliver_now": True},
    ),
    Action(
        name="assess",
        scope=Scope.COURSE,
        triggers=("assess",),
        input=AssessmentBody,
        service=f"{_COURSE}:assess",
        roles=COORDINATOR,
        verb="record assessments",
        done="Assessment recorded.",
        help="Record an outcome assessment after the course.",
        path="assessments",
        form="special",
    ),
    Action(
        name="relapse",
        scope=Scope.COURSE,
        triggers=("relapse",),
        input=RelapseBody,
        service=f"{_COURSE}:relapse",
        roles=COORDINATOR,
        verb="record relapses",
        done="Relapse recorded.",
        help="Record a relapse (monitoring -> relapsed).",
        form="special",
    ),
    Action(
        name="dismiss-relapse",
        scope=Scope.COURSE,
        triggers=("dismiss_relapse",),
        input=DismissBody,
        service=f"{_COURSE}:dismiss_relapse",
        roles=COORDINATOR,
        verb="dismiss suspected relapses",
        done="Suspected relapse dismissed.",
        help="Dismiss a suspected relapse flagged by an assessment "
        "(the course stays in monitoring).",
        form="special",
    ),
    Action(
        name="retreat",
        scope=Scope.COURSE,
        triggers=("retreat",),
        input=CourseRequestIn,
        service=f"{_COURSE}:retreat",
        roles=COORDINATOR,
        verb="request re-treatments",
        done="Re-treatment requested.",
        help="Request a re-treatment after a relapse; prints the new course.",
        form="document",
        custom_edges=True,
        creates=True,
    ),
    Action(
        name="close",
        scope=Scope.COURSE,
        triggers=("close",),
        input=CloseBody,
        service=f"{_COURSE}:close",
        roles=COORDINATOR,
        verb="close courses",
        done="Course closed.",
        help="Close a course in monitoring (monitoring -> completed).",
        form="special",
    ),
    Action(
        name="cancel",
        scope=Scope.COURSE,
        triggers=("cancel",),
        input=CancelBody,
        service=f"{_COURSE}:cancel",
        roles=COORDINATOR,
        verb="cancel courses",
        done="Course cancelled.",
        help="Cancel a course before infusions start.",
        form="special",
    ),
    Action(
        name="update",
        scope=Scope.PATIENT,
        triggers=(),
        input=PatientUpdateBody,
        service="workflow.service.patients:update_patient",
        roles=COORDINATOR,
        verb="update patients",
        done="Patient record updated.",
        help="Correct a patient's record (weight, height, diabetes, name) or enrol them "
        "for self-report (--self-report, --email, --address); the history keeps the old "
        "and new values.",
    ),
    Action(
        name="void-measurement",
        scope=Scope.PATIENT,
        triggers=(),
        input=VoidMeasurementBody,
        service="workflow.service.corrections:void_measurement_action",
        roles=COORDINATOR,
        verb="void measurements",
        done="Measurement voided.",
        help="Void a measurement entered by mistake (kept in the history, marked); "
        "the follow-ups it completed re-open.",
    ),
    Action(
        name="void-infusion",
        scope=Scope.COURSE,
        triggers=("void_infusion", "reopen_infusions", "unstart_infusions"),
        input=VoidInfusionBody,
        service=f"{_COURSE}:void_infusion",
        roles=COORDINATOR,
        verb="void infusion days",
        done="Infusion day voided.",
        help="Void an infusion day entered by mistake (kept in the history, marked).",
    ),
    Action(
        name="void-assessment",
        scope=Scope.COURSE,
        triggers=("void_assessment",),
        input=VoidAssessmentBody,
        service=f"{_COURSE}:void_assessment",
        roles=COORDINATOR,
        verb="void assessments",
        done="Assessment voided.",
        help="Void an assessment entered by mistake (kept in the history, marked).",
    ),
)

#: Permissions that are not catalogue actions (no target, or not a record change):
#: name -> (roles, verb).
OTHER_PERMISSIONS: dict[str, tuple[frozenset[str], str]] = {
    "register": (COORDINATOR, "register patients"),
    "measure": (COORDINATOR, "record measurements"),
    "request": (COORDINATOR, "request courses"),
    "raise": (COORDINATOR, "raise follow-ups"),
    "expire-lapsed": (COORDINATOR, "expire lapsed approvals"),
    "fhir-import": (COORDINATOR, "import FHIR observations"),
    "users": (ADMIN, "manage users"),
}

ACTIONS: dict[str, Action] = {a.name: a for a in CATALOGUE}


def field_type(annotation: Any) -> Any:
    """An input field's plain type: ``Annotated[float, …] | None`` -> ``float``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            annotation = args[0]
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def action(name: str) -> Action:
    return ACTIONS[name]


def of_scope(scope: Scope) -> tuple[Action, ...]:
    return tuple(a for a in CATALOGUE if a.scope == scope)


def permissions() -> dict[str, tuple[frozenset[str], str]]:
    """Every permission name -> (roles allowed, verb for a refusal)."""
    table = {a.name: (a.roles, a.verb) for a in CATALOGUE}
    table.update(OTHER_PERMISSIONS)
    return table


def action_of_trigger() -> dict[str, str]:
    """The command (``ivig course <action>``, or a page's button) that fires each trigger.

    Triggers the system fires by itself (flagging a suspected relapse, expiring a lapsed
    approval: ``course expire-lapsed`` acts on every course at once) have none.
    """
    return {t: a.name for a in of_scope(Scope.COURSE) for t in a.triggers}


def allowed_actions(state: CourseState) -> tuple[str, ...]:
    """Course actions possible from ``state``, derived from the transition table."""
    of = action_of_trigger()
    return tuple(dict.fromkeys(of[t] for t in allowed_triggers(state) if t in of))


def unassigned_triggers() -> tuple[str, ...]:
    """Triggers of the table no action fires (a test keeps this to the system's own)."""
    of = action_of_trigger()
    return tuple(t for t in triggers() if t not in of)
