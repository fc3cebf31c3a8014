"""The catalogue's course actions, each with the uniform signature, and ``perform``.

Every edge (CLI, JSON API, pages) runs an action the same way::

    perform(action, session=s, target=course_id, data=body, actor=actor, clock=clock)

``perform`` checks the actor's role (when known) before anything is read, then
calls the action's service function. The functions below adapt the older,
field-by-field use-cases to the uniform signature
``fn(*, session, target, data, actor, clock)``; a new action writes its service
function with that signature directly (see ``workflow/catalogue.py``).
"""

from __future__ import annotations

from typing import Any

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


def infuse(
    *, session: Session, target: int, data: InfusionBody, actor: Actor, clock: Clock
) -> Course:
    return treatment.infuse(
        session=session,
        course_id=target,
        on=data.date,
        grams=data.grams,
        override_reason=data.override_reason,
        lot=data.lot,
        by=actor.name,
        clock=clock,
        policy=load_policy(),
    )


def stop(*, session: Session, target: int, data: StopBody, actor: Actor, clock: Clock) -> Course:
    return treatment.stop(
        session=session,
        course_id=target,
        on=data.date,
        reason=data.reason,
        by=actor.name,
        clock=clock,
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


def relapse(
    *, session: Session, target: int, data: RelapseBody, actor: Actor, clock: Clock
) -> Course:
    return monitoring.relapse(
        session=session, course_id=target, on=data.date, note=data.note, by=actor.name, clock=clock
    )


def dismiss_relapse(
    *, session: Session, target: int, data: DismissBody, actor: Actor, clock: Clock
) -> Course:
    return monitoring.dismiss_relapse(
        session=session,
        course_id=target,
        reason=data.reason,
        by=actor.name,
        clock=clock,
        on=data.date,
    )


def close(*, session: Session, target: int, data: CloseBody, actor: Actor, clock: Clock) -> Course:
    return monitoring.close(
        session=session, course_id=target, on=data.date, by=actor.name, clock=clock
    )


def cancel(
    *, session: Session, target: int, data: CancelBody, actor: Actor, clock: Clock
) -> Course:
    return courses.cancel(
        session=session,
        course_id=target,
        reason=data.reason,
        on=data.date,
        by=actor.name,
        clock=clock,
    )


def void_infusion(
    *, session: Session, target: int, data: VoidInfusionBody, actor: Actor, clock: Clock
) -> Course:
    return corrections.void_infusion(
        session=session,
        course_id=target,
        day=data.day,
        reason=data.reason,
        by=actor.name,
        clock=clock,
    )


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
