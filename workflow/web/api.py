"""The JSON API, ``/api/v1``: the CLI's use-cases over HTTP, same services, same JSON.

Every route needs a bearer token (401 without), checks the role before touching
anything (403), and runs in one transaction; views of a patient's record are
written to the access log in that same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from workflow.errors import PermissionDenied
from workflow.models import Course
from workflow.review import load_policy
from workflow.schemas import (
    CourseRead,
    CourseRequestIn,
    CourseSummary,
    MeasurementRead,
    PatientIn,
    PatientRead,
)
from workflow.service import courses, patients, queries, users
from workflow.service.common import course_by_id, patient_by_mrn
from workflow.web import actions, operations, reads
from workflow.web.api_models import (
    AdverseEventBody,
    AmendBody,
    AssessmentBody,
    CancelBody,
    CloseBody,
    ErrorRead,
    ExpireBody,
    ExpiredRead,
    FollowUpListed,
    InfusionBody,
    MeasurementBody,
    MeRead,
    RelapseBody,
    ReviewBody,
    StopBody,
    TokenRead,
    UserBody,
)
from workflow.web.auth import Principal, api_principal
from workflow.web.context import clock, work

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorRead, "description": text}
    for status, text in (
        (401, "No valid bearer token."),
        (403, "The signed-in role may not do this."),
        (404, "Unknown MRN or course id."),
        (409, "Refused by the course's state or a rule, or a concurrent change."),
        (422, "Malformed or out-of-range input; the message names the field."),
    )
}

router = APIRouter(prefix="/api/v1", dependencies=[Depends(api_principal)], responses=_ERRORS)
Me = Annotated[Principal, Depends(api_principal)]


def _viewed(
    session: Session,
    request: Request,
    me: Principal,
    *,
    patient_id: int,
    course_id: int | None = None,
) -> None:
    users.log_access(
        session=session,
        actor=me.username,
        what=f"api {request.method} {request.url.path}",
        at=clock(request).now(),
        patient_id=patient_id,
        course_id=course_id,
    )


def _as_self(given: str | None, me: Principal, field: str) -> str:
    """A name the body may repeat, but only as the signed-in user's own."""
    if given is not None and given.strip() != me.username:
        raise PermissionDenied(
            f"{field}: you are signed in as {me.username}; a change made here is recorded "
            "under your own name."
        )
    return me.username


def _change(
    request: Request, me: Principal, action: str, use_case: Callable[[Session], Course]
) -> CourseRead:
    me.authorize(action)
    today = clock(request).today()
    with work(request) as session:
        return queries.course_read(session, use_case(session), today=today)


# --- who am I -------------------------------------------------------------------------


@router.get("/me", response_model=MeRead, tags=["users"])
def me_(me: Me) -> MeRead:
    """The token's user and what their role may do."""
    allowed = [a for a in users.PERMISSIONS if me.may(a)]
    return MeRead(username=me.username, full_name=me.full_name, role=me.role, may=allowed)


# --- patients -------------------------------------------------------------------------


@router.get("/patients", response_model=list[PatientRead], tags=["patients"])
def list_patients(request: Request, search: str | None = None) -> list[PatientRead]:
    """Registered patients by MRN; ``search`` matches an MRN's start or part of a name."""
    with work(request) as session:
        return reads.list_patients(session=session, search=search)


@router.post("/patients", response_model=PatientRead, status_code=201, tags=["patients"])
def add_patient(request: Request, me: Me, body: PatientIn) -> PatientRead:
    """``patient add``."""
    me.authorize("register")
    now = clock(request)
    with work(request) as session:
        return queries.patient_read(
            patients.add_patient(session=session, data=body, by=me.username, clock=now)
        )


@router.get("/patients/{mrn}", response_model=PatientRead, tags=["patients"])
def show_patient(request: Request, me: Me, mrn: str) -> PatientRead:
    """``patient show`` (written to the access log)."""
    with work(request) as session:
        patient = patient_by_mrn(session, mrn)
        _viewed(session, request, me, patient_id=patient.id)
        return queries.patient_read(patient)


@router.get("/patients/{mrn}/measurements", response_model=list[MeasurementRead], tags=["patients"])
def list_measurements(request: Request, me: Me, mrn: str) -> list[MeasurementRead]:
    """The patient's measurements, newest first (written to the access log)."""
    with work(request) as session:
        patient = patient_by_mrn(session, mrn)
        _viewed(session, request, me, patient_id=patient.id)
        return queries.list_measurements(session=session, mrn=mrn)


@router.post(
    "/patients/{mrn}/measurements",
    response_model=MeasurementRead,
    status_code=201,
    tags=["patients"],
)
def measure(request: Request, me: Me, mrn: str, body: MeasurementBody) -> MeasurementRead:
    """``patient measure``; completes the follow-ups the measurement satisfies."""
    me.authorize("measure")
    now = clock(request)
    with work(request) as session:
        row = patients.measure(
            session=session,
            mrn=mrn,
            on=body.date,
            hba1c_percent=body.hba1c,
            monofilament_sites_felt=body.monofilament_sites_felt,
            by=me.username,
            clock=now,
        )
        return queries.measurement_read(row, mrn)


# --- courses --------------------------------------------------------------------------


@router.get("/courses", response_model=list[CourseSummary], tags=["courses"])
def list_courses(
    request: Request, me: Me, mrn: str | None = None, state: str | None = None
) -> list[CourseSummary]:
    """``course list``: newest first (a list for one patient is written to the access log)."""
    with work(request) as session:
        rows = queries.list_courses(session=session, mrn=mrn, state=state)
        if mrn is not None:
            _viewed(session, request, me, patient_id=patient_by_mrn(session, mrn).id)
        return rows


@router.post("/courses", response_model=CourseRead, status_code=201, tags=["courses"])
def request_course(request: Request, me: Me, body: CourseRequestIn) -> CourseRead:
    """``course request``: the request document; ``requested_by`` is the signed-in user."""
    _as_self(body.requested_by, me, "requested_by")
    now, policy = clock(request), load_policy()
    return _change(
        request,
        me,
        "request",
        lambda s: courses.request_course(
            session=s, data=body, by=me.username, clock=now, policy=policy
        ),
    )


@router.get("/courses/{course_id}", response_model=CourseRead, tags=["courses"])
def show_course(request: Request, me: Me, course_id: int) -> CourseRead:
    """``course show --json`` (written to the access log)."""
    today = clock(request).today()
    with work(request) as session:
        course = course_by_id(session, course_id, lock=False)
        _viewed(session, request, me, patient_id=course.patient_id, course_id=course.id)
        return queries.course_read(session, course, today=today)


@router.post("/courses/{course_id}/review", response_model=CourseRead, tags=["courses"])
def review(request: Request, me: Me, course_id: int, body: ReviewBody) -> CourseRead:
    """``course review``: approve, deny, or ask for information; never one's own request."""
    _as_self(body.reviewer, me, "reviewer")  # the reviewer is always the signed-in user
    now = clock(request)
    return _change(request, me, "review", lambda s: actions.review(s, course_id, body, me, now))


@router.post("/courses/{course_id}/amend", response_model=CourseRead, tags=["courses"])
def amend(request: Request, me: Me, course_id: int, body: AmendBody) -> CourseRead:
    """``course amend``: answer a reviewer's question or correct a request."""
    now, policy = clock(request), load_policy()
    return _change(
        request,
        me,
        "amend",
        lambda s: courses.amend(
            session=s,
            course_id=course_id,
            data=body.request,
            note=body.note,
            by=me.username,
            clock=now,
            policy=policy,
        ),
    )


@router.post("/courses/{course_id}/infusions", response_model=CourseRead, tags=["courses"])
def infuse(request: Request, me: Me, course_id: int, body: InfusionBody) -> CourseRead:
    """``course infuse``: one infusion day."""
    now = clock(request)
    return _change(request, me, "infuse", lambda s: actions.infuse(s, course_id, body, me, now))


@router.post("/courses/{course_id}/adverse-events", response_model=CourseRead, tags=["courses"])
def adverse_event(request: Request, me: Me, course_id: int, body: AdverseEventBody) -> CourseRead:
    """``course adverse-event``: from the first infusion on; grade ≥ 3 is messaged at once."""
    now = clock(request)
    return _change(
        request, me, "adverse-event", lambda s: actions.adverse_event(s, course_id, body, me, now)
    )


@router.post("/courses/expire-lapsed", response_model=list[ExpiredRead], tags=["courses"])
def expire_lapsed(request: Request, me: Me, body: ExpireBody) -> list[ExpiredRead]:
    """``course expire-lapsed``: approvals that lapsed by ``as_of`` (default today) expire."""
    from workflow.service.safety import expire_lapsed as expire

    me.authorize("expire-lapsed")
    now, policy = clock(request), load_policy()
    with work(request) as session:
        expired = expire(
            session=session,
            as_of=body.as_of or now.today(),
            clock=now,
            policy=policy,
            by=me.username,
        )
        return [
            ExpiredRead(id=c.id, mrn=c.patient.mrn, approved_on=c.approved_on, state=c.state)
            for c in expired
        ]


@router.get("/reports/safety", tags=["reports"])
def report_safety(request: Request, as_of: dt.date | None = None) -> dict[str, Any]:
    """``report safety``: adverse events per 100 treated courses by kind and grade."""
    from workflow.reports.safety import safety_report

    with work(request) as session:
        return safety_report(session, as_of or clock(request).today()).model_dump(mode="json")


@router.get("/reports/lot/{lot}", tags=["reports"])
def report_lot(request: Request, lot: str) -> dict[str, Any]:
    """``report lot LOT``: every patient, course and day that received the lot."""
    from workflow.reports.safety import lot_report

    with work(request) as session:
        return lot_report(session, lot).model_dump(mode="json")


@router.post("/courses/{course_id}/stop", response_model=CourseRead, tags=["courses"])
def stop(request: Request, me: Me, course_id: int, body: StopBody) -> CourseRead:
    """``course stop``: infusing -> discontinued."""
    now = clock(request)
    return _change(request, me, "stop", lambda s: actions.stop(s, course_id, body, me, now))


@router.post("/courses/{course_id}/assessments", response_model=CourseRead, tags=["courses"])
def assess(request: Request, me: Me, course_id: int, body: AssessmentBody) -> CourseRead:
    """``course assess``; completes the follow-ups the assessment satisfies."""
    now = clock(request)
    return _change(request, me, "assess", lambda s: actions.assess(s, course_id, body, me, now))


@router.post("/courses/{course_id}/relapse", response_model=CourseRead, tags=["courses"])
def relapse(request: Request, me: Me, course_id: int, body: RelapseBody) -> CourseRead:
    """``course relapse``: monitoring -> relapsed."""
    now = clock(request)
    return _change(request, me, "relapse", lambda s: actions.relapse(s, course_id, body, me, now))


@router.post("/courses/{course_id}/dismiss-relapse", response_model=CourseRead, tags=["courses"])
def dismiss_relapse(request: Request, me: Me, course_id: int, body: CancelBody) -> CourseRead:
    """``course dismiss-relapse``: the suspected relapse is judged not to be one."""
    now = clock(request)
    return _change(
        request,
        me,
        "dismiss-relapse",
        lambda s: actions.dismiss_relapse(s, course_id, body, me, now),
    )


@router.post(
    "/courses/{course_id}/retreat", response_model=CourseRead, status_code=201, tags=["courses"]
)
def retreat(request: Request, me: Me, course_id: int, body: CourseRequestIn) -> CourseRead:
    """``course retreat``: from relapsed, a new linked request; answers the new course."""
    _as_self(body.requested_by, me, "requested_by")
    now, policy = clock(request), load_policy()
    return _change(
        request,
        me,
        "retreat",
        lambda s: courses.retreat(
            session=s, course_id=course_id, data=body, by=me.username, clock=now, policy=policy
        ),
    )


@router.post("/courses/{course_id}/close", response_model=CourseRead, tags=["courses"])
def close(request: Request, me: Me, course_id: int, body: CloseBody) -> CourseRead:
    """``course close``: monitoring -> completed."""
    now = clock(request)
    return _change(request, me, "close", lambda s: actions.close(s, course_id, body, me, now))


@router.post("/courses/{course_id}/cancel", response_model=CourseRead, tags=["courses"])
def cancel(request: Request, me: Me, course_id: int, body: CancelBody) -> CourseRead:
    """``course cancel``: requested or reviewed -> cancelled."""
    now = clock(request)
    return _change(request, me, "cancel", lambda s: actions.cancel(s, course_id, body, me, now))


# --- follow-ups -----------------------------------------------------------------------


@router.get("/followups", response_model=list[FollowUpListed], tags=["followups"])
def list_followups(
    request: Request,
    me: Me,
    mrn: str | None = None,
    course: int | None = None,
    status: str | None = None,
    due_before: dt.date | None = None,
    kind: str | None = None,
    as_of: dt.date | None = None,
) -> list[FollowUpListed]:
    """``followups list``: sorted by due date, with days overdue as of ``as_of`` (today)."""
    today = as_of or clock(request).today()
    with work(request) as session:
        rows = queries.list_followups(
            session=session,
            mrn=mrn,
            course_id=course,
            status=status,
            due_before=due_before,
            kind=kind,
            today=today,
        )
        if mrn is not None:
            _viewed(session, request, me, patient_id=patient_by_mrn(session, mrn).id)
    return [FollowUpListed(**r.model_dump(), when=operations.followup_when(r, today)) for r in rows]


# --- users (admin) --------------------------------------------------------------------


@router.get("/users", response_model=list[users.UserRead], tags=["users"])
def list_users(request: Request, me: Me) -> list[users.UserRead]:
    """``user list`` (admin)."""
    me.authorize("users")
    with work(request) as session:
        return [users.user_read(u) for u in users.list_users(session=session)]


@router.post("/users", response_model=users.UserRead, status_code=201, tags=["users"])
def add_user(request: Request, me: Me, body: UserBody) -> users.UserRead:
    """``user add`` (admin)."""
    me.authorize("users")
    now = clock(request)
    with work(request) as session:
        return users.user_read(
            users.add_user(
                session=session,
                username=body.username,
                full_name=body.full_name,
                role=body.role,
                password=body.password,
                clock=now,
            )
        )


@router.post("/users/{username}/token", response_model=TokenRead, tags=["users"])
def issue_token(request: Request, me: Me, username: str) -> TokenRead:
    """``user token`` (admin): a new token, shown once."""
    me.authorize("users")
    with work(request) as session:
        return TokenRead(
            username=username, token=users.issue_token(session=session, username=username)
        )


operations.add_api_routes(router)
