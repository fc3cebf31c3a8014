"""The JSON API, ``/api/v1``: the CLI's use-cases over HTTP, same services, same JSON.

Every route needs a bearer token (401 without), checks the role before touching
anything (403), and runs in one transaction; views of a patient's record are
written to the access log in that same transaction.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from workflow.catalogue import ACTIONS, CATALOGUE, Action, Actor, AmendBody, Scope
from workflow.errors import Conflict, PermissionDenied
from workflow.followups import Status
from workflow.paging import Page, decode
from workflow.read import queries
from workflow.review import load_policy
from workflow.schemas import (
    CourseRead,
    CourseRequestIn,
    CourseSummary,
    MeasurementRead,
    PatientEventRead,
    PatientIn,
    PatientRead,
)
from workflow.service import courses, patients, users
from workflow.service.actions import perform
from workflow.service.common import course_by_id, patient_by_mrn
from workflow.states import CourseState
from workflow.web import operations, paging
from workflow.web.api_models import (
    ErrorRead,
    ExpireBody,
    ExpiredRead,
    FollowUpListed,
    MeasurementBody,
    MeRead,
    TokenRead,
    UserBody,
)
from workflow.web.auth import Principal, api_principal
from workflow.web.context import clock, deliver_if_urgent, work
from workflow.web.paging import PAGE_HEADERS, Cursor, Limit
from workflow.web.params import FollowUpKindName, QueryDate

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
    patient_id: int | None = None,
    course_id: int | None = None,
) -> None:
    """One access-log row; a list or search (no one patient) names its query."""
    query = f"?{request.url.query}" if request.url.query and patient_id is None else ""
    users.log_access(
        session=session,
        actor=me.username,
        what=f"api {request.method} {request.url.path}{query}",
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


# --- who am I -------------------------------------------------------------------------


@router.get("/me", response_model=MeRead, tags=["users"])
def me_(me: Me) -> MeRead:
    """The token's user and what their role may do."""
    allowed = [a for a in users.PERMISSIONS if me.may(a)]
    return MeRead(username=me.username, full_name=me.full_name, role=me.role, may=allowed)


# --- patients -------------------------------------------------------------------------


@router.get(
    "/patients", response_model=list[PatientRead], tags=["patients"], responses=PAGE_HEADERS
)
def list_patients(
    request: Request,
    response: Response,
    me: Me,
    search: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = paging.DEFAULT,
    cursor: Cursor = None,
) -> list[PatientRead]:
    """Registered patients by MRN, a page at a time; ``search`` matches an MRN's start or
    part of a name, without regard to case."""
    offset = decode(cursor)
    with work(request) as session:
        _viewed(session, request, me)  # a search, with its query, in the access log
        rows = queries.list_patients(session=session, search=search, limit=limit, offset=offset)
        total = queries.count_patients(session=session, search=search)
    paging.say(request, response, Page(rows, total, offset, limit))
    return rows


@router.post("/patients", response_model=PatientRead, status_code=201, tags=["patients"])
def add_patient(request: Request, me: Me, body: PatientIn) -> PatientRead:
    """``patient add``."""
    me.authorize("register")
    now = clock(request)
    with work(request) as session:
        return queries.patient_read(
            patients.add_patient(
                session=session, data=body, by=me.username, clock=now, role=me.role
            )
        )


@router.get("/patients/{mrn}", response_model=PatientRead, tags=["patients"])
def show_patient(request: Request, me: Me, mrn: str) -> PatientRead:
    """``patient show`` (written to the access log)."""
    with work(request) as session:
        patient = patient_by_mrn(session, mrn)
        _viewed(session, request, me, patient_id=patient.id)
        return queries.patient_read(patient)


@router.get(
    "/patients/{mrn}/history",
    response_model=list[PatientEventRead],
    tags=["patients"],
    responses=PAGE_HEADERS,
)
def patient_history(
    request: Request,
    response: Response,
    me: Me,
    mrn: str,
    limit: Limit = paging.DEFAULT,
    cursor: Cursor = None,
) -> list[PatientEventRead]:
    """``patient history``: registration and corrections, with old and new values, oldest
    first, a page at a time."""
    page = (queries.patient_history, queries.count_patient_history)
    return _patient_page(request, response, me, mrn, limit, cursor, *page)


@router.get(
    "/patients/{mrn}/measurements",
    response_model=list[MeasurementRead],
    tags=["patients"],
    responses=PAGE_HEADERS,
)
def list_measurements(
    request: Request,
    response: Response,
    me: Me,
    mrn: str,
    limit: Limit = paging.DEFAULT,
    cursor: Cursor = None,
) -> list[MeasurementRead]:
    """The patient's measurements, newest first, a page at a time (written to the access
    log)."""
    page = (queries.list_measurements, queries.count_measurements)
    return _patient_page(request, response, me, mrn, limit, cursor, *page)


def _patient_page(
    request: Request,
    response: Response,
    me: Principal,
    mrn: str,
    limit: int,
    cursor: str | None,
    rows_of: Callable[..., list[Any]],
    count_of: Callable[..., int],
) -> list[Any]:
    """One page of a patient's records (``rows_of``, ``count_of`` the total), the view
    written to the access log, the paging headers set."""
    offset = decode(cursor)
    with work(request) as session:
        patient = patient_by_mrn(session, mrn)
        _viewed(session, request, me, patient_id=patient.id)
        rows = rows_of(session=session, mrn=mrn, limit=limit, offset=offset)
        total = count_of(session=session, mrn=mrn)
    paging.say(request, response, Page(rows, total, offset, limit))
    return rows


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
            role=me.role,
            clock=now,
        )
        return queries.measurement_read(row, mrn)


# --- courses --------------------------------------------------------------------------


@router.get(
    "/courses",
    response_model=list[CourseSummary],
    tags=["courses"],
    responses=PAGE_HEADERS,
)
def list_courses(
    request: Request,
    response: Response,
    me: Me,
    mrn: str | None = None,
    state: CourseState | None = None,
    limit: Limit = paging.DEFAULT,
    cursor: Cursor = None,
) -> list[CourseSummary]:
    """``course list``: newest first, a page at a time (a list for one patient is written
    to the access log)."""
    offset = decode(cursor)
    with work(request) as session:
        rows = queries.list_courses(
            session=session, mrn=mrn, state=state and state.value, limit=limit, offset=offset
        )
        total = queries.count_courses(session=session, mrn=mrn, state=state and state.value)
        if mrn is not None:
            _viewed(session, request, me, patient_id=patient_by_mrn(session, mrn).id)
        else:
            _viewed(session, request, me)
    paging.say(request, response, Page(rows, total, offset, limit))
    return rows


@router.post("/courses", response_model=CourseRead, status_code=201, tags=["courses"])
def request_course(request: Request, me: Me, body: CourseRequestIn) -> CourseRead:
    """``course request``: the request document; ``requested_by`` is the signed-in user."""
    _as_self(body.requested_by, me, "requested_by")
    me.authorize("request")
    now, policy = clock(request), load_policy()
    with work(request) as session:
        course = courses.request_course(
            session=session, data=body, by=me.username, clock=now, policy=policy, role=me.role
        )
        return queries.course_read(session, course, today=now.today())


# ``{course_id:int}``: only digits reach these routes, so /courses/expire-lapsed is that
# route's (GET there is 405 with Allow: POST), and /courses/abc is 404.
@router.get("/courses/{course_id:int}", response_model=CourseRead, tags=["courses"])
def show_course(request: Request, me: Me, course_id: int) -> CourseRead:
    """``course show --json`` (written to the access log)."""
    today = clock(request).today()
    with work(request) as session:
        course = course_by_id(session, course_id, lock=False)
        _viewed(session, request, me, patient_id=course.patient_id, course_id=course.id)
        return queries.course_read(session, course, today=today)


@router.post("/courses/{course_id:int}/amend", response_model=CourseRead, tags=["courses"])
def amend(request: Request, me: Me, course_id: int, body: AmendBody) -> CourseRead:
    """``course amend``: answer a reviewer's question or correct a request."""
    course: CourseRead = _perform(request, me, ACTIONS["amend"], course_id, body)
    return course


@router.post(
    "/courses/{course_id:int}/retreat", response_model=CourseRead, status_code=201, tags=["courses"]
)
def retreat(request: Request, me: Me, course_id: int, body: CourseRequestIn) -> CourseRead:
    """``course retreat``: from relapsed, a new linked request; answers the new course."""
    _as_self(body.requested_by, me, "requested_by")
    course: CourseRead = _perform(request, me, ACTIONS["retreat"], course_id, body)
    return course


def _perform(request: Request, me: Me, action: Action, target: Any, body: Any) -> Any:
    """Runs a catalogue action for the signed-in user; answers the course or patient."""
    for name in action.signed_in:  # the signed-in user, whatever the body repeats
        _as_self(getattr(body, name), me, name)
        body = body.model_copy(update={name: me.username})
    actor, now = Actor(me.username, me.role, me.delegated), clock(request)
    with work(request) as session:
        result = perform(action, session=session, target=target, data=body, actor=actor, clock=now)
        if action.scope == Scope.PATIENT:
            answer: Any = queries.patient_read(result)
        else:
            answer = queries.course_read(session, result, today=now.today())
    deliver_if_urgent(request, action.extra)
    return answer


def _action_route(action: Action) -> None:
    """``POST /api/v1/<scope>s/{target}/<path>``: the catalogue action, its input as the body."""
    course = action.scope == Scope.COURSE
    target = "course_id" if course else "mrn"

    def route(request: Request, me: Principal, body: BaseModel, **path: Any) -> Any:
        return _perform(request, me, action, path[target], body)

    P = inspect.Parameter
    route.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            P("request", P.POSITIONAL_OR_KEYWORD, annotation=Request),
            P("me", P.POSITIONAL_OR_KEYWORD, annotation=Me),
            P(target, P.POSITIONAL_OR_KEYWORD, annotation=int if course else str),
            P("body", P.POSITIONAL_OR_KEYWORD, annotation=action.input),
        ]
    )
    route.__name__ = action.name.replace("-", "_")
    route.__doc__ = f"``{action.scope} {action.name}``: {action.help}"
    router.add_api_route(
        f"/{action.scope}s/{{{target}{':int' if course else ''}}}/{action.api_path}",
        route,
        methods=["POST"],
        response_model=CourseRead if course else PatientRead,
        status_code=201 if action.creates else 200,
        tags=[f"{action.scope}s"],
        name=f"{action.scope}_{route.__name__}",
    )


for _action in CATALOGUE:
    if not _action.custom_edges:
        _action_route(_action)


@router.post("/courses/expire-lapsed", response_model=list[ExpiredRead], tags=["courses"])
def expire_lapsed(request: Request, me: Me, body: ExpireBody) -> list[ExpiredRead]:
    """``course expire-lapsed``: approvals that lapsed by ``as_of`` (default today) expire."""
    from workflow.service.permissions import check
    from workflow.service.safety import expire_lapsed as expire

    check("expire-lapsed", Actor(me.username, me.role))
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
def report_safety(request: Request, as_of: QueryDate | None = None) -> dict[str, Any]:
    """``report safety``: adverse events per 100 treated courses by kind and grade."""
    from workflow.reports.safety import safety_report

    with work(request) as session:
        return safety_report(session, as_of or clock(request).today()).model_dump(mode="json")


@router.get("/reports/lot/{lot}", tags=["reports"])
def report_lot(request: Request, me: Me, lot: str) -> dict[str, Any]:
    """``report lot LOT``: every patient, course and day that received the lot, whole (a
    recall's list is one document; each course named is written to the access log)."""
    from workflow.reports.safety import lot_report

    with work(request) as session:
        report = lot_report(session, lot)
        for course_id in dict.fromkeys(r.course_id for r in report.infusions):
            _viewed(session, request, me, course_id=course_id)
        return report.model_dump(mode="json")


# --- follow-ups -----------------------------------------------------------------------


@router.get(
    "/followups", response_model=list[FollowUpListed], tags=["followups"], responses=PAGE_HEADERS
)
def list_followups(
    request: Request,
    response: Response,
    me: Me,
    mrn: str | None = None,
    course: int | None = None,
    status: Status | None = None,
    due_before: QueryDate | None = None,
    kind: FollowUpKindName | None = None,
    as_of: QueryDate | None = None,
    limit: Limit = paging.DEFAULT,
    cursor: Cursor = None,
) -> list[FollowUpListed]:
    """``followups list``: sorted by due date, with days overdue as of ``as_of`` (today),
    a page at a time."""
    today = as_of or clock(request).today()
    offset = decode(cursor)
    filters: dict[str, Any] = {
        "mrn": mrn,
        "course_id": course,
        "status": status.value if status is not None else None,
        "due_before": due_before,
        "kind": kind,
    }
    with work(request) as session:
        _viewed(session, request, me)
        rows = queries.list_followups(
            session=session, today=today, limit=limit, offset=offset, **filters
        )
        total = queries.count_followups(session=session, **filters)
        if mrn is not None:
            _viewed(session, request, me, patient_id=patient_by_mrn(session, mrn).id)
    paging.say(request, response, Page(rows, total, offset, limit))
    return [FollowUpListed(**r.model_dump(), when=operations.followup_when(r, today)) for r in rows]


# --- users (admin) --------------------------------------------------------------------


@router.get("/users", response_model=list[users.UserRead], tags=["users"], responses=PAGE_HEADERS)
def list_users(
    request: Request,
    response: Response,
    me: Me,
    limit: Limit = paging.DEFAULT,
    cursor: Cursor = None,
) -> list[users.UserRead]:
    """``user list`` (admin): accounts by username, a page at a time."""
    me.authorize("users")
    offset = decode(cursor)
    with work(request) as session:
        rows = [
            users.user_read(u)
            for u in users.list_users(session=session, limit=limit, offset=offset)
        ]
        total = users.count_users(session=session)
    paging.say(request, response, Page(rows, total, offset, limit))
    return rows


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
def issue_token(
    request: Request,
    me: Me,
    username: str,
    replace_mine: Annotated[
        bool,
        Query(
            description="Needed to replace the token of the signed-in user (the one this "
            "request is sent with): that token stops working as soon as the answer arrives."
        ),
    ] = False,
) -> TokenRead:
    """``user token`` (admin): a new token for ``username``, shown once; the user's
    previous token stops working. Replacing your own token is refused (409) unless
    ``replace_mine=true`` says you mean it."""
    me.authorize("users")
    if username == me.username and not replace_mine:
        raise Conflict(
            f"username: {username} is you; a new token replaces the one this request was "
            "sent with. Ask again with replace_mine=true to do that."
        )
    with work(request) as session:
        return TokenRead(
            username=username,
            token=users.issue_token(
                session=session, username=username, by=me.username, at=clock(request).now()
            ),
        )


operations.add_api_routes(router)
