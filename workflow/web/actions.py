"""The course actions of the JSON API and the pages: a validated body, the signed-in
user and the clock, handed to the service use-case. One adapter per action, so the
two interfaces cannot drift apart.

Each takes ``(session, course_id, body, me, clock)`` and returns the changed course.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from workflow.clock import Clock
from workflow.models import Course
from workflow.review import load_policy
from workflow.service import courses, monitoring, safety, treatment
from workflow.web.api_models import (
    AdverseEventBody,
    AssessmentBody,
    CancelBody,
    CloseBody,
    InfusionBody,
    RelapseBody,
    ReviewBody,
    StopBody,
)
from workflow.web.auth import Principal


def review(s: Session, cid: int, b: ReviewBody, me: Principal, c: Clock) -> Course:
    return courses.review(
        session=s,
        course_id=cid,
        decision=b.decision,
        reviewer=me.username,
        note=b.note,
        override_reason=b.override_reason,
        by=me.username,
        clock=c,
    )


def infuse(s: Session, cid: int, b: InfusionBody, me: Principal, c: Clock) -> Course:
    return treatment.infuse(
        session=s,
        course_id=cid,
        on=b.date,
        grams=b.grams,
        override_reason=b.override_reason,
        lot=b.lot,
        by=me.username,
        clock=c,
        policy=load_policy(),
    )


def stop(s: Session, cid: int, b: StopBody, me: Principal, c: Clock) -> Course:
    return treatment.stop(
        session=s, course_id=cid, on=b.date, reason=b.reason, by=me.username, clock=c
    )


def assess(s: Session, cid: int, b: AssessmentBody, me: Principal, c: Clock) -> Course:
    row = monitoring.assess(
        session=s,
        course_id=cid,
        on=b.date,
        vas=b.vas,
        mrc_sum=b.mrc_sum,
        walking_distance_m=b.walking_distance_m,
        by=me.username,
        clock=c,
        policy=load_policy(),
    )
    return s.get_one(Course, row.course_id)


def relapse(s: Session, cid: int, b: RelapseBody, me: Principal, c: Clock) -> Course:
    return monitoring.relapse(
        session=s, course_id=cid, on=b.date, note=b.note, by=me.username, clock=c
    )


def dismiss_relapse(s: Session, cid: int, b: CancelBody, me: Principal, c: Clock) -> Course:
    return monitoring.dismiss_relapse(
        session=s, course_id=cid, reason=b.reason, by=me.username, clock=c
    )


def close(s: Session, cid: int, b: CloseBody, me: Principal, c: Clock) -> Course:
    return monitoring.close(session=s, course_id=cid, on=b.date, by=me.username, clock=c)


def cancel(s: Session, cid: int, b: CancelBody, me: Principal, c: Clock) -> Course:
    return courses.cancel(session=s, course_id=cid, reason=b.reason, by=me.username, clock=c)


def adverse_event(s: Session, cid: int, b: AdverseEventBody, me: Principal, c: Clock) -> Course:
    row = safety.record_adverse_event(
        session=s,
        course_id=cid,
        on=b.date,
        kind=b.kind,
        grade=b.grade,
        note=b.note,
        by=me.username,
        clock=c,
        policy=load_policy(),
    )
    return s.get_one(Course, row.course_id)
