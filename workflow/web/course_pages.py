"""Course pages: request, the course with its timeline, and the actions its state allows.

Which actions a page offers comes from the action catalogue and the transition
table (``CourseRead.allowed_actions``) and the user's role; whether an action
succeeds is still decided by the service alone (``service.actions.perform``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from workflow.catalogue import ACTIONS as CATALOGUE_ACTIONS
from workflow.catalogue import Action, Actor, AmendBody, Scope, of_scope
from workflow.clock import Clock
from workflow.errors import IvigError
from workflow.read import queries
from workflow.review import load_policy
from workflow.schemas import CourseRead, CourseRequestIn, Indication, SteroidTrial
from workflow.service import courses, users
from workflow.service.actions import perform
from workflow.service.common import course_by_id, patient_by_mrn
from workflow.web.action_forms import action_form
from workflow.web.auth import Principal, page_principal, posted_form
from workflow.web.context import clock, deliver_if_urgent, work
from workflow.web.forms import (
    MEDICATION_ROWS,
    REQUEST_FIELDS,
    FormErrors,
    present,
    refusal,
    request_document,
    request_values,
    validate_form,
)
from workflow.web.render import flash, page, words

router = APIRouter(include_in_schema=False)
Me = Annotated[Principal, Depends(page_principal)]
Form = Annotated[dict[str, str], Depends(posted_form)]


@dataclass(frozen=True)
class PageAction:
    """One button of the course page: the catalogue entry and its form's fields."""

    action: Action
    fields: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.action.name

    @property
    def done(self) -> str:
        return self.action.done


def _page_fields(action: Action) -> tuple[str, ...]:
    return tuple(n for n in action.input.model_fields if n not in action.signed_in)


#: The course actions with a form on the course page, from the catalogue.
ACTIONS: dict[str, PageAction] = {
    a.name: PageAction(a, _page_fields(a))
    for a in of_scope(Scope.COURSE)
    if a.form in ("generic", "special")
}
#: Actions with a page of their own (the whole request document).
DOCUMENT_ACTIONS = tuple(a.name for a in of_scope(Scope.COURSE) if a.form == "document")


def _run(session: Session, action: Action, target: Any, body: Any, me: Principal, c: Clock) -> Any:
    """The catalogue action for the signed-in user (the service checks the role)."""
    for name in action.signed_in:
        body = body.model_copy(update={name: me.username})
    actor = Actor(me.username, me.role, me.delegated)
    return perform(action, session=session, target=target, data=body, actor=actor, clock=c)


@dataclass(frozen=True)
class TimelineEntry:
    on: dt.date
    what: str
    detail: str
    who: str


def _timeline(course: CourseRead) -> list[TimelineEntry]:
    """History and follow-ups in date order (a follow-up sits at its due date)."""
    entries = [
        TimelineEntry(
            on=h.date or h.at.date(),
            what=_event_words(h.trigger, h.from_, h.to),
            detail=h.reason or "",
            who=h.actor,
        )
        for h in course.history
    ]
    entries += [
        TimelineEntry(
            on=f.due_date,
            what=f"Follow-up due: {words(f.kind)}",
            detail=f"status: {words(f.status).lower()}",
            who="",
        )
        for f in course.followups
    ]
    return sorted(entries, key=lambda e: e.on)


def _event_words(trigger: str, before: str | None, after: str | None) -> str:
    label = trigger.replace("_", " ").capitalize()
    if after and before != after:
        return f"{label}: {before or 'new'} to {after}"
    return label


def _offered(course: CourseRead, me: Principal) -> list[str]:
    """Actions the state allows (from the table) that this user's role may do."""
    names = set(ACTIONS) | set(DOCUMENT_ACTIONS)
    return [a for a in course.allowed_actions if a in names and me.may(a)]


def _defaults(course: CourseRead, today: dt.date) -> dict[str, str]:
    return {"date": today.isoformat(), "grams": f"{course.dose.grams_per_day:g}"}


def _course_page(
    request: Request,
    me: Principal,
    course_id: int,
    *,
    failed: str | None = None,
    found: FormErrors | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    today = clock(request).today()
    with work(request) as session:
        row = course_by_id(session, course_id, lock=False)
        users.log_access(
            session=session,
            actor=me.username,
            what="page course",
            at=clock(request).now(),
            patient_id=row.patient_id,
            course_id=row.id,
        )
        course = queries.course_read(session, row, today=today)
        patient = queries.patient_read(patient_by_mrn(session, course.mrn))
    offered = _offered(course, me)
    return page(
        request,
        "course.html",
        {
            "course": course,
            "patient": patient,
            "timeline": _timeline(course),
            "offered": offered,
            "generic_forms": [
                action_form(ACTIONS[a].action)
                for a in offered
                if a in ACTIONS and ACTIONS[a].action.form == "generic"
            ],
            "defaults": _defaults(course, today),
            "failed": failed,
            "errors": found.fields if found else {},
            "form_error": found.form if found else None,
            "values": values or {},
        },
        status_code=found.status if found else 200,
    )


# --- the request document: request, amend, re-treat -----------------------------------


def _request_form(
    request: Request,
    *,
    title: str,
    action_url: str,
    values: dict[str, str],
    found: FormErrors | None = None,
    course_id: int | None = None,
    with_note: bool = False,
) -> Response:
    return page(
        request,
        "course_form.html",
        {
            "title": title,
            "action_url": action_url,
            "values": values,
            "errors": found.fields if found else {},
            "form_error": found.form if found else None,
            "indication_options": [(i.value, words(i.value)) for i in Indication],
            "steroid_options": [(t.value, words(t.value)) for t in SteroidTrial],
            "course_id": course_id,
            "with_note": with_note,
            "medication_rows": MEDICATION_ROWS,
        },
        status_code=found.status if found else 200,
    )


@router.get("/courses/new", response_class=HTMLResponse, name="new_course")
def new_course(request: Request, me: Me, mrn: str | None = None) -> Response:
    me.authorize("request")
    values = {"dose_g_per_kg_per_day": "0.4", "days": "5"}
    if mrn:
        values["mrn"] = mrn
        with work(request) as session:
            patient = patient_by_mrn(session, mrn)
            values["weight_kg"] = f"{patient.weight_kg:g}"
    values["requested_on"] = clock(request).today().isoformat()
    return _request_form(request, title="Request a course", action_url="/courses", values=values)


@router.post("/courses", response_class=HTMLResponse)
def request_course(request: Request, me: Me, form: Form) -> Response:
    me.authorize("request")
    values = {k: form.get(k, "") for k in REQUEST_FIELDS}
    now, policy = clock(request), load_policy()
    try:
        data = validate_form(CourseRequestIn, request_document(form, me.username), REQUEST_FIELDS)
        with work(request) as session:
            course_id = courses.request_course(
                session=session, data=data, by=me.username, clock=now, policy=policy, role=me.role
            ).id
    except FormErrors as found:
        return _request_form(
            request, title="Request a course", action_url="/courses", values=values, found=found
        )
    except IvigError as exc:
        return _request_form(
            request,
            title="Request a course",
            action_url="/courses",
            values=values,
            found=refusal(exc, REQUEST_FIELDS),
        )
    flash(request, f"Course {course_id} requested; it now waits for a reviewer.")
    return RedirectResponse(f"/courses/{course_id}", status_code=303)


_DOCUMENT_TITLES = {
    "amend": "Amend the request of course {}",
    "retreat": "Re-treat after course {}",
}


@router.get("/courses/{course_id}/{action}", response_class=HTMLResponse)
def document_form(request: Request, me: Me, course_id: int, action: str) -> Response:
    """The request form, filled from the course's stored request, to amend or re-treat."""
    if action not in DOCUMENT_ACTIONS:
        return RedirectResponse(f"/courses/{course_id}", status_code=303)
    me.authorize(action)
    with work(request) as session:
        course = course_by_id(session, course_id, lock=False)
        values = request_values(course.request)
    if action == "retreat":
        values["requested_on"] = clock(request).today().isoformat()
    return _request_form(
        request,
        title=_DOCUMENT_TITLES[action].format(course_id),
        action_url=f"/courses/{course_id}/{action}",
        values=values,
        course_id=course_id,
        with_note=action == "amend",
    )


def _document_action(
    request: Request, me: Principal, course_id: int, action: str, form: dict[str, str]
) -> Response:
    if action not in DOCUMENT_ACTIONS:
        return RedirectResponse(f"/courses/{course_id}", status_code=303)
    me.authorize(action)
    values = {k: form.get(k, "") for k in (*REQUEST_FIELDS, "note")}
    now = clock(request)
    title = _DOCUMENT_TITLES[action].format(course_id)
    url = f"/courses/{course_id}/{action}"
    try:
        data = validate_form(CourseRequestIn, request_document(form, me.username), REQUEST_FIELDS)
        body: Any = data if action == "retreat" else AmendBody(request=data, note=form.get("note"))
        with work(request) as session:
            target = _run(session, CATALOGUE_ACTIONS[action], course_id, body, me, now).id
    except FormErrors as found:
        return _request_form(
            request,
            title=title,
            action_url=url,
            values=values,
            found=found,
            course_id=course_id,
            with_note=action == "amend",
        )
    except IvigError as exc:
        return _request_form(
            request,
            title=title,
            action_url=url,
            values=values,
            found=refusal(exc, (*REQUEST_FIELDS, "note")),
            course_id=course_id,
            with_note=action == "amend",
        )
    flash(
        request,
        CATALOGUE_ACTIONS[action].done if action == "amend" else f"Course {target} requested.",
    )
    return RedirectResponse(f"/courses/{target}", status_code=303)


# --- the course page and its actions (after /courses/new, which they would shadow) ---


@router.get("/courses/{course_id}", response_class=HTMLResponse)
def course_view(request: Request, me: Me, course_id: int) -> Response:
    """The course, its recommendation and timeline (written to the access log)."""
    return _course_page(request, me, course_id)


def _saw_a_version(action: Action, body: Any) -> None:
    """A decision made on a page is on the version the page showed (its hidden field).

    The API keeps ``version`` optional (docs/web.md); a page always sends it, so a post
    without it did not come from the page as shown, and is not decided on blindly.
    """
    if "version" in action.input.model_fields and getattr(body, "version", None) is None:
        raise FormErrors(
            form="version: the form did not say which version of the course you saw; "
            "reload the course page and decide on what it shows."
        )


@router.post("/courses/{course_id}/{action}", response_class=HTMLResponse)
def course_action(request: Request, me: Me, course_id: int, action: str, form: Form) -> Response:
    spec = ACTIONS.get(action)
    if spec is None:
        return _document_action(request, me, course_id, action, form)
    me.authorize(spec.name)
    values = {k: form.get(k, "") for k in spec.fields}
    now = clock(request)
    try:
        body = validate_form(spec.action.input, present(form, spec.fields), spec.fields)
        _saw_a_version(spec.action, body)
        with work(request) as session:
            _run(session, spec.action, course_id, body, me, now)
    except FormErrors as found:
        return _course_page(request, me, course_id, failed=action, found=found, values=values)
    except IvigError as exc:
        if exc.http_status == 404:  # no such course: there is no page to show the form on
            raise
        refused = refusal(exc, spec.fields)
        return _course_page(request, me, course_id, failed=action, found=refused, values=values)
    deliver_if_urgent(request, spec.action.extra)
    flash(request, spec.done)
    return RedirectResponse(f"/courses/{course_id}", status_code=303)
