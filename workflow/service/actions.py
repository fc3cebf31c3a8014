"""The catalogue's course actions, each with the uniform signature, and ``perform``.

Every edge (CLI, JSON API, pages) runs an action the same way::

    perform(action, session=s, target=course_id, data=body, actor=actor, clock=clock)

``perform`` checks the actor's role (when known) before anything is read, then
calls the action's service function. The older, field-by-field use-cases get the
uniform signature ``fn(*, session, target, data, actor, clock)`` here: most through
:func:`uniform` (each input field passed as the parameter of its name, ``date`` as
``on``), the few with more to do as functions of their own. A new action writes its
service function with the uniform signature directly (see ``workflow/catalogue.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from workflow.catalogue import (
    Action,
    Actor,
    AmendBody,
    AssessmentBody,
    CancelBody,
    CloseBody,
    DismissBody,
    InfusionBody,
    RelapseBody,
    ReviewBody,
    StopBody,
    VoidAssessmentBody,
    VoidInfusionBody,
)
from workflow.clock import Clock
from workflow.models import Course
from workflow.review import load_policy
from workflow.schemas import CourseRequestIn
from workflow.service import corrections, courses, monitoring, treatment
from workflow.service.permissions import check


def perform(
    action: Action, *, session: Session, target: Any, data: Any, actor: Actor, clock: Clock
) -> Any:
    """Runs one catalogue action: the role check, then its service function."""
    check(action.name, actor)
    return action.function(session=session, target=target, data=data, actor=actor, clock=clock)


def uniform(
    use_case: Callable[..., Course], model: type[BaseModel], *, with_policy: bool = False
) -> Callable[..., Course]:
    """``use_case(session=, course_id=target, by=actor.name, clock=, <each field>=…)`` with
    the uniform signature; ``with_policy``: the review policy too. Every field of
    ``model`` must be a parameter of ``use_case`` (checked here, on import)."""
    names = {field: _PARAMETER.get(field, field) for field in model.model_fields}
    unknown = set(names.values()) - set(inspect.signature(use_case).parameters)
    if unknown:
        raise TypeError(f"{use_case.__qualname__} takes no {sorted(unknown)}")

    def action(*, session: Session, target: int, data: Any, actor: Actor, clock: Clock) -> Course:
        values = {names[field]: getattr(data, field) for field in names}
        if with_policy:
            values["policy"] = load_policy()
        return use_case(session=session, course_id=target, by=actor.name, clock=clock, **values)

    action.__name__ = action.__qualname__ = use_case.__name__
    action.__doc__ = f"The catalogue's ``{use_case.__name__}`` ({model.__name__})."
    return action


#: Input fields passed under another parameter name.
_PARAMETER = {"date": "on"}


def review(
    *, session: Session, target: int, data: ReviewBody, actor: Actor, clock: Clock
) -> Course:
    reviewed = courses.review(
        session=session,
        course_id=target,
        decision=data.decision,
        reviewer=data.reviewer if data.reviewer is not None else actor.name,
        note=data.note,
        override_reason=data.override_reason,
        on=data.date,
        by=actor.name,
        clock=clock,
        version=data.version,
        delegated=actor.delegated,
    )
    return session.get_one(Course, reviewed)  # the course as the review left it


def amend(*, session: Session, target: int, data: AmendBody, actor: Actor, clock: Clock) -> Course:
    return courses.amend(
        session=session,
        course_id=target,
        data=data.request,
        note=data.note,
        by=actor.name,
        clock=clock,
        policy=load_policy(),
        on=data.date,
    )


def retreat(
    *, session: Session, target: int, data: CourseRequestIn, actor: Actor, clock: Clock
) -> Course:
    return courses.retreat(
        session=session,
        course_id=target,
        data=data,
        by=actor.name,
        clock=clock,
        policy=load_policy(),
    )


def assess(
    *, session: Session, target: int, data: AssessmentBody, actor: Actor, clock: Clock
) -> Course:
    row = monitoring.assess(
        session=session,
        course_id=target,
        on=data.date,
        vas=data.vas,
        mrc_sum=data.mrc_sum,
        walking_distance_m=data.walking_distance_m,
        by=actor.name,
        clock=clock,
        policy=load_policy(),
    )
    return session.get_one(Course, row.course_id)


def void_assessment(
    *, session: Session, target: int, data: VoidAssessmentBody, actor: Actor, clock: Clock
) -> Course:
    return corrections.void_assessment(
        session=session,
        course_id=target,
        assessment_id=data.assessment,
        reason=data.reason,
        by=actor.name,
        clock=clock,
        signal=load_policy().relapse_signal,
    )


infuse = uniform(treatment.infuse, InfusionBody, with_policy=True)
stop = uniform(treatment.stop, StopBody)
relapse = uniform(monitoring.relapse, RelapseBody)
dismiss_relapse = uniform(monitoring.dismiss_relapse, DismissBody)
close = uniform(monitoring.close, CloseBody)
cancel = uniform(courses.cancel, CancelBody)
void_infusion = uniform(corrections.void_infusion, VoidInfusionBody)
