"""Use-cases from request to review: request, re-treat, review, ask, amend, correct the
requester, cancel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import Table, bindparam, exists, insert, literal_column, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from workflow.catalogue import Actor, CorrectRequesterBody
from workflow.clock import Clock
from workflow.db import CHANGED_AT_ONCE
from workflow.dosing import compute_dose
from workflow.errors import Conflict, InvalidInput, NotFound, TransitionRefused
from workflow.machine import MOVES, require
from workflow.models import Assessment, Course, Event, Patient, Review
from workflow.outcomes import motor_response, response
from workflow.review import Policy, PriorCourse, evaluate
from workflow.schemas import CourseRequestIn, Outcome
from workflow.service import prescriber
from workflow.service.common import (
    MAX_ID,
    clinical_date,
    course_by_id,
    history_row,
    not_before,
    optional_text,
    patient_by_mrn,
    record,
    required_text,
    transition,
)
from workflow.service.followups import cancel_for_course
from workflow.service.notices import notify_requester
from workflow.service.permissions import (
    check_allowed,
    check_requester_correction,
    check_review_of,
    same_person,
)
from workflow.service.record import (
    age_on,
    review_context,
)
from workflow.service.record import other_courses as _other_courses
from workflow.states import REQUEST_TRIGGER, CourseState, allowed_sources

ReviewDecision = Literal["approve", "deny", "info"]


def prior_course_context(session: Session, course: Course, policy: Policy) -> PriorCourse:
    """The prior course's response by pain and by motor function, from its assessments."""
    points = session.execute(
        select(
            Assessment.date, Assessment.vas, Assessment.mrc_sum, Assessment.walking_distance_m
        ).where(Assessment.course_id == course.id, Assessment.voided_at.is_(None))
    ).all()
    result = response(
        baseline_vas=course.baseline_vas,
        last_infusion=course.last_infusion_date,
        assessments=[(d, v) for d, v, _, _ in points],
    )
    criteria = policy.motor_response
    motor = motor_response(
        baseline_mrc_sum=course.baseline_mrc_sum,
        baseline_walking_m=course.baseline_walking_distance_m,
        last_infusion=course.last_infusion_date,
        assessments=[(d, m, w) for d, _, m, w in points],
        min_mrc_points=criteria.mrc_sum_points,
        min_walking_fraction=criteria.walking_distance_fraction,
    )
    return PriorCourse(
        id=course.id,
        indication=course.indication,
        responder=result.responder,
        assessed=result.assessed,
        lowest_vas=result.lowest_vas,
        baseline_vas=course.baseline_vas,
        last_infusion_date=course.last_infusion_date,
        motor_evidence=motor.by,
        relapse_date=course.relapse_date,
    )


#: States in which a course blocks a new request for the same patient.
_ACTIVE = (CourseState.REQUESTED, CourseState.REVIEWED, CourseState.INFUSING)


def check_one_active_course(session: Session, patient: Patient) -> None:
    """Refuses a new request while another course of the patient is under way.

    A course in monitoring does not refuse it (the review warns, ``course.overlap``).
    """
    for other in _other_courses(session, patient.id, None):
        if other.state in _ACTIVE:
            raise TransitionRefused(
                f"mrn: patient {patient.mrn} already has course {other.id} {other.state}; "
                "finish or cancel it before requesting another course."
            )
        if other.state == CourseState.RELAPSED:
            raise TransitionRefused(
                f"mrn: patient {patient.mrn} has relapsed course {other.id}: use "
                f"`course retreat {other.id}` to request its re-treatment."
            )


def _apply_request(
    session: Session,
    course: Course,
    data: CourseRequestIn,
    *,
    patient: Patient,
    policy: Policy,
    prior: PriorCourse | None,
) -> None:
    """Copies the request document, its dose and its recommendation onto the course."""
    age = age_on(patient.birth_date, course.requested_on)
    dose = compute_dose(
        weight_kg=data.weight_kg,
        g_per_kg_per_day=data.dose_g_per_kg_per_day,
        days=data.days,
        height_cm=patient.height_cm,
        sex=patient.sex,
        product=data.product,
        policy=policy,
        age_years=age,
        pregnant=bool(data.pregnant),
    )
    context = review_context(session, patient, prior, course.requested_on, course.id)
    recommendation = evaluate(data, context, policy)
    course.indication = data.indication.value
    course.indication_detail = data.indication_detail
    course.severity_grade = data.severity_grade
    course.product = data.product
    course.dose_g_per_kg_per_day = data.dose_g_per_kg_per_day
    course.days = data.days
    course.repeat_every_weeks = data.repeat_every_weeks
    course.weight_kg = data.weight_kg
    course.dosing_weight_kg = dose.dosing_weight_kg
    course.dosing_weight_rule = dose.weight_rule
    course.rounding_rule = dose.rounding
    course.grams_per_day = dose.grams_per_day
    course.total_grams = dose.total_grams
    course.baseline_vas = data.baseline.vas
    course.baseline_mrc_sum = data.baseline.mrc_sum
    course.baseline_walking_distance_m = data.baseline.walking_distance_m
    course.request = data.model_dump(mode="json", exclude_none=True)
    course.recommendation = recommendation.model_dump(mode="json")
    course.policy_id = recommendation.policy_id
    course.policy_version = recommendation.policy_version


def request_course(
    *,
    session: Session,
    data: CourseRequestIn,
    by: str,
    clock: Clock,
    policy: Policy,
    prior: Course | None = None,
    role: str | None = None,
) -> Course:
    """Records a request in state ``requested`` with its dose and recommendation.

    ``role`` (known on the web and the API) must be one that may request courses.
    """
    check_allowed(role, "request")
    today = clock.today()
    requested_on = clinical_date(data.requested_on or today, today=today, field="requested_on")
    # The patient's row lock serialises two requests for one patient (one active course).
    patient = patient_by_mrn(session, data.mrn, lock=True)
    if prior is not None and prior.patient_id != patient.id:
        raise TransitionRefused(
            f"mrn: course {prior.id} belongs to another patient; a re-treatment must be "
            "requested for the same patient."
        )
    check_one_active_course(session, patient)
    now = clock.now()
    course = Course(
        patient_id=patient.id,
        prior_course_id=prior.id if prior is not None else None,
        state=CourseState.REQUESTED.value,
        requested_on=requested_on,
        requested_at=now,
        updated_at=now,
        requested_by=data.requested_by,
        entered_by=by,
    )
    context = prior_course_context(session, prior, policy) if prior is not None else None
    _apply_request(session, course, data, patient=patient, policy=policy, prior=context)
    session.add(course)
    session.flush()
    record(
        session,
        patient_id=patient.id,
        course_id=course.id,
        trigger=REQUEST_TRIGGER,
        to_state=CourseState.REQUESTED.value,
        on=requested_on,
        reason=f"requested by {data.requested_by}; recommendation "
        f"{course.recommendation['outcome']}"
        + (f"; re-treatment after course {prior.id}" if prior is not None else ""),
        by=by,
        at=now,
    )
    return course


def retreat(
    *,
    session: Session,
    course_id: int,
    data: CourseRequestIn,
    by: str,
    clock: Clock,
    policy: Policy,
) -> Course:
    """From ``relapsed``: the old course becomes ``retreated``, a linked new request is made."""
    old = course_by_id(session, course_id)
    transition(
        session,
        old,
        "retreat",
        by=by,
        clock=clock,
        on=data.requested_on or clock.today(),
        reason="re-treatment requested",
    )
    return request_course(session=session, data=data, by=by, clock=clock, policy=policy, prior=old)


#: The tables ``review`` writes without the unit of work.
COURSES: Table = Course.__table__  # type: ignore[assignment]
REVIEWS: Table = Review.__table__  # type: ignore[assignment]

#: A review's triggers, each allowed from one state only (requested): what the
#: decision's ``UPDATE`` matches.
_DECISIONS: dict[str, str] = {"approve": "approve", "deny": "deny", "info": "ask_information"}
_FROM: dict[str, CourseState] = {}
for _trigger in _DECISIONS.values():
    (_FROM[_trigger],) = allowed_sources(_trigger)

#: What the rules of a review read of the course (and its patient's MRN), not the whole
#: row with its documents; whether a correction named another requester (rare: then
#: they are read, ``prescriber.names_of``).
_RULES_READ = (
    Course.id,
    Course.version,
    Course.patient_id,
    Course.requested_on,
    Course.requested_by,
    Course.entered_by,
    Course.recommendation["outcome"].as_string(),
    # Named in full: SQLite's RETURNING is rendered with bare column names, which in a
    # subquery would name the subquery's own table (events.id for courses.id).
    select(Patient.mrn).where(Patient.id == literal_column("courses.patient_id")).scalar_subquery(),
    exists().where(
        Event.course_id == literal_column("courses.id"),
        Event.trigger == prescriber.CORRECT_REQUESTER,
    ),
)
#: The decision, written first: the course in the trigger's one source state moves to
#: its destination, its version on by one, returning what the rules read (the old
#: version is the new one less one). The row is locked from here to the commit
#: (PostgreSQL; on SQLite the writer holds the database); a rule that refuses rolls it
#: back. No row: the course is missing or in another state (``_UNDER_REVIEW`` says which).
_DECIDED = (
    update(COURSES)
    .where(COURSES.c.id == bindparam("course_id"), COURSES.c.state == bindparam("from_state"))
    .values(
        state=bindparam("to_state"),
        awaiting_information=bindparam("awaiting"),
        updated_at=bindparam("at"),
        version=COURSES.c.version + 1,
    )
    .returning(*_RULES_READ)
)
_APPROVED = _DECIDED.values(approved_on=bindparam("on"))
#: The course as it is, locked, when the decision matched no row: for the refusal.
_UNDER_REVIEW = (
    select(Course.state, *_RULES_READ)
    .where(Course.id == bindparam("course_id"))
    .with_for_update(of=Course)
)
_RECOMMENDATION = select(Course.recommendation).where(Course.id == bindparam("course_id"))
_REVIEW_ROW = insert(REVIEWS).returning(REVIEWS.c.id)


@dataclass(slots=True)
class _UnderReview:
    """The course as the rules of a review read it (``_RULES_READ``)."""

    state: str
    id: int
    version: int
    patient_id: int
    requested_on: date
    requested_by: str
    entered_by: str
    outcome: str
    mrn: str
    corrected: bool


def review(
    *,
    session: Session,
    course_id: int,
    decision: ReviewDecision,
    reviewer: str,
    note: str,
    override_reason: str | None,
    by: str,
    clock: Clock,
    on: date | None = None,
    version: int | None = None,
    delegated: bool = False,
) -> int:
    """A human decision on a request; the software only recommends. Returns the
    course's id (the edges read the course to show it).

    Approving against a recommendation that is not ``supported`` needs an override
    reason; nobody reviews a request they made or entered, through a token minted by
    someone else, or after it changed from the ``version`` they saw
    (``permissions.check_review_of``).

    The hot path of the programme, written without the unit of work, in as many
    statements as the writes themselves: the course's ``UPDATE … RETURNING`` the few
    columns the rules read (the Machine's move, the row locked), the rules (a refusal
    rolls the transaction back, so nothing is written), then the history row, the
    review row and the requester's notice, as Core statements compiled once. The
    refusals and their order are those of reading first: a missing course, a state
    the Machine does not allow, a date before the request, the separation of duties,
    the version seen, the override. A ``Course`` the session already holds is expired,
    so it is read again as written.
    """
    on = clinical_date(on or clock.today(), today=clock.today())
    reviewer = required_text(reviewer, "reviewer")
    note = required_text(note, "note")
    override = optional_text(override_reason, "override-reason")
    if not 0 < course_id <= MAX_ID:
        raise NotFound(f"course: there is no course {course_id}.")
    trigger = _DECISIONS[decision]
    before = _FROM[trigger]
    after = MOVES[(before.value, trigger)]
    session.flush()  # whatever the session holds is written before these statements
    connection = session.connection()
    now = clock.now()
    found = connection.execute(
        _APPROVED if decision == "approve" else _DECIDED,
        {
            "course_id": course_id,
            "from_state": before.value,
            "to_state": after.value,
            "awaiting": note if decision == "info" else None,
            "at": now,
            "on": on,
        },
    ).one_or_none()
    if found is None:
        found = connection.execute(_UNDER_REVIEW, {"course_id": course_id}).one_or_none()
        if found is None:
            raise NotFound(f"course: there is no course {course_id}.")
        require(_UnderReview(*found), trigger)
        raise Conflict(CHANGED_AT_ONCE)  # it left the state and came back: look again
    course = _UnderReview(before.value, *found)
    course.version -= 1  # the version the rules judge is the one before this decision
    not_before(on, course.requested_on, field="date", what="the request")
    requesters = (
        prescriber.names_of(connection, course.id, course.requested_by)
        if course.corrected
        else (course.requested_by,)
    )
    check_review_of(
        course,
        reviewer=reviewer,
        version=version,
        delegated=delegated,
        requesters=requesters,
    )
    outcome = course.outcome
    if decision == "approve" and outcome != Outcome.SUPPORTED.value and override is None:
        recommendation = connection.execute(_RECOMMENDATION, {"course_id": course.id}).scalar()
        findings = (recommendation or {})["findings"]
        why = [f["rule"] for f in findings if f["severity"] == "block" or f.get("missing")]
        raise TransitionRefused(
            f"override-reason: the recommendation is {outcome} ({', '.join(why)}); "
            "approving it needs --override-reason."
        )
    history_row(
        connection,
        patient_id=course.patient_id,
        course_id=course.id,
        trigger=trigger,
        from_state=before.value,
        to_state=after.value,
        on=on,
        reason=note if override is None else f"{note} (override: {override})",
        by=by,
        at=now,
    )
    review_id = connection.execute(
        _REVIEW_ROW,
        {
            "course_id": course.id,
            "decision": decision,
            "reviewer": reviewer,
            "note": note,
            "override_reason": override,
            "recommendation_outcome": outcome,
            "at": now,
        },
    ).scalar_one()
    notify_requester(
        session,
        course_id=course.id,
        patient_id=course.patient_id,
        state=after.value,
        review_id=review_id,
        decision=decision,
        reviewer=reviewer,
        on=on,
        now=now,
        mrn=course.mrn,
        to=requesters[-1],
    )
    held = session.identity_map.get(identity_key(Course, course.id))
    if held is not None:
        session.expire(held)
    return course.id


def amend(
    *,
    session: Session,
    course_id: int,
    data: CourseRequestIn,
    note: str | None,
    by: str,
    clock: Clock,
    policy: Policy,
    on: date | None = None,
) -> Course:
    """The requester answers a question or corrects a request still ``requested``
    (``on``: the clinical date of the answer, default today).

    The recommendation is judged again on the amended document.
    """
    when = clinical_date(on, today=clock.today()) if on is not None else clock.today()
    course = course_by_id(session, course_id)
    not_before(when, course.requested_on, field="date", what="the request")
    transition(
        session,
        course,
        "amend_request",
        by=by,
        clock=clock,
        on=when,
        reason=optional_text(note, "note") or "request amended",
    )
    patient = session.get_one(Patient, course.patient_id)
    named = prescriber.names(session, course)
    if not any(same_person(data.requested_by, name) for name in named):
        raise TransitionRefused(
            f"requested_by: course {course.id} was requested by {named[-1]}; the requester "
            "never changes in an amendment (`course correct-requester` records a correction)."
        )
    # The stored document keeps the prescriber as recorded; a correction lives in the history.
    data = data.model_copy(update={"requested_by": course.requested_by})
    if data.mrn != patient.mrn:
        raise TransitionRefused(
            f"mrn: course {course.id} is for another patient; it cannot be amended to {data.mrn}."
        )
    prior = course_by_id(session, course.prior_course_id) if course.prior_course_id else None
    context = prior_course_context(session, prior, policy) if prior is not None else None
    _apply_request(session, course, data, patient=patient, policy=policy, prior=context)
    course.awaiting_information = None
    return course


def correct_requester(
    *, session: Session, target: int, data: CorrectRequesterBody, actor: Actor, clock: Clock
) -> Course:
    """Attributes a request awaiting review to another prescriber: one history row
    naming the recorded, the previous and the corrected prescriber, who, when and why.

    ``requested_by`` keeps the recorded name. Nobody named as the requester corrects it,
    nobody to themselves, never to someone who already reviewed it
    (``permissions.check_requester_correction``); none of the names may review it.
    """
    to = required_text(data.to, "to")
    if len(to) > 200:
        raise InvalidInput("to: is longer than 200 characters.")
    reason = required_text(data.reason, "reason")
    course = course_by_id(session, target)
    require(course, prescriber.CORRECT_REQUESTER)
    named = prescriber.names(session, course)
    reviewers = session.scalars(select(Review.reviewer).where(Review.course_id == course.id))
    check_requester_correction(
        actor.name, course, requesters=named, to=to, reviewers=list(reviewers)
    )
    event = transition(
        session,
        course,
        prescriber.CORRECT_REQUESTER,
        by=actor.name,
        clock=clock,
        on=clock.today(),
        reason=f"requester corrected from {named[-1]} to {to}: {reason}",
    )
    event.changes = {"requested_by": {"old": named[-1], "new": to, "recorded": course.requested_by}}
    return course


def cancel(
    *,
    session: Session,
    course_id: int,
    reason: str,
    by: str,
    clock: Clock,
    on: date | None = None,
) -> Course:
    """Withdraws a course before infusions start."""
    on = clinical_date(on or clock.today(), today=clock.today())
    reason = required_text(reason, "reason")
    course = course_by_id(session, course_id)
    transition(session, course, "cancel", by=by, clock=clock, on=on, reason=reason)
    course.ended_on = on
    cancel_for_course(session, course=course, clock=clock)
    return course
