"""Pages: sign-in, the worklist, patients and their measurements.

Routes parse the form, call the same services as the CLI, and redirect after a
change (so a reload never repeats it); a refusal re-renders the form with what was
typed and the message beside its field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from workflow.catalogue import ACTIONS, Actor, Scope, of_scope
from workflow.errors import IvigError
from workflow.followups import KINDS
from workflow.paging import Page
from workflow.read import lists as reads
from workflow.read import queries
from workflow.schemas import PatientIn, Sex
from workflow.service import patients, users
from workflow.service.actions import perform
from workflow.service.common import patient_by_mrn
from workflow.web.action_forms import action_form
from workflow.web.api_models import MeasurementBody
from workflow.web.auth import (
    Principal,
    page_principal,
    page_principal_in,
    posted_form,
    session_principal,
    sign_in,
    sign_out,
)
from workflow.web.context import clock, log_list, reading, work
from workflow.web.forms import FormErrors, present, refusal, validate_form
from workflow.web.paging import Pager, offset_of, rows_per_page
from workflow.web.render import flash, page, words

router = APIRouter(include_in_schema=False)
Me = Annotated[Principal, Depends(page_principal)]
Form = Annotated[dict[str, str], Depends(posted_form)]

PATIENT_FIELDS = ("mrn", "name", "birth_date", "sex", "weight_kg", "height_cm", "diabetes")
MEASURE_FIELDS = ("date", "hba1c", "monofilament_sites_felt")


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


# --- sign-in --------------------------------------------------------------------------


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str = "/") -> Response:
    if session_principal(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return page(request, "signin.html", {"next": _safe_next(next)})


@router.post("/signin", response_class=HTMLResponse)
def signin(request: Request, form: Form) -> Response:
    username = form.get("username", "").strip()
    target = _safe_next(form.get("next"))
    address = request.client.host if request.client else None
    now = clock(request).now()
    with work(request) as session:
        users.check_sign_in_allowed(session=session, username=username, address=address, now=now)
        user = users.verify_password(
            session=session, username=username, password=form.get("password", "")
        )
        users.record_sign_in(
            session=session, username=username, address=address, ok=user is not None, now=now
        )
        if user is not None:
            sign_in(request, user)
    if user is None:
        return page(
            request,
            "signin.html",
            {
                "next": target,
                "values": {"username": username},
                "form_error": "The username or the password is not right, or the account "
                "is deactivated.",
            },
            status_code=401,
        )
    return RedirectResponse(target, status_code=303)


@router.post("/signout")
def signout(request: Request, form: Form) -> Response:
    sign_out(request)
    return RedirectResponse("/signin", status_code=303)


# --- the worklist ---------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def worklist(
    request: Request,
    mrn: str | None = None,
    kind: str | None = None,
    due_by: str | None = None,
) -> Response:
    """What needs doing: reviews, questions, relapses, infusions and follow-ups due."""
    today = clock(request).today()
    values = {"mrn": mrn or "", "kind": kind or "", "due_by": due_by or ""}
    errors: dict[str, str] = {}
    until: dt.date | None = None
    if due_by:
        try:
            until = dt.date.fromisoformat(due_by)
        except ValueError:
            errors["due_by"] = f"{due_by!r} is not a date in the form YYYY-MM-DD."
    offsets = {name: offset_of(request, f"{name}_cursor") for name in reads.SECTIONS}
    size = rows_per_page()
    # The user and the worklist are read in one read transaction (one BEGIN, no lock).
    with reading(request) as session:
        me = page_principal_in(request, session)
        try:
            data = reads.worklist(
                session=session,
                today=today,
                due_by=until,
                mrn=mrn or None,
                kind=kind or None,
                offsets=offsets,
                size=size,
            )
        except IvigError as exc:  # a refused filter (unknown MRN…): raised before any SQL error
            found = refusal(exc, ("mrn", "kind", "due_by"))
            errors.update(found.fields)
            data = reads.worklist(session=session, today=today, offsets=offsets, size=size)
    # The worklist shows patients' names: like every list, it is in the access log. A
    # short write of its own, so the page's reads still never wait for the write lock.
    with work(request) as session:
        log_list(session, request, me.username, f"page GET {request.url.path}")
    sections: dict[str, tuple[Page[Any], str]] = {
        "followups": (data.followups, "follow-ups due"),
        "reviews": (data.pending_reviews, "pending reviews"),
        "information": (data.awaiting_information, "courses awaiting information"),
        "relapses": (data.suspected_relapses, "suspected relapses"),
        "lapsing": (data.lapsing_approvals, "approvals lapsing soon"),
        "approved": (data.approved, "approved courses"),
    }
    return page(
        request,
        "worklist.html",
        {
            "w": data,
            "pagers": {
                name: Pager.of(request, shown, param=f"{name}_cursor", noun=noun)
                for name, (shown, noun) in sections.items()
            },
            "kind_options": [(k, words(k)) for k in KINDS],
            "values": values,
            "errors": errors,
        },
        status_code=422 if errors else 200,
    )


# --- patients -------------------------------------------------------------------------


@router.get("/patients", response_class=HTMLResponse)
def patient_list(
    request: Request, me: Me, search: str | None = None, cursor: str | None = None
) -> Response:
    offset, size = offset_of(request), rows_per_page()
    with work(request) as session:
        log_list(session, request, me.username, f"page GET {request.url.path}")
        rows = reads.list_patients(session=session, search=search, limit=size, offset=offset)
        total = queries.count_patients(session=session, search=search)
    shown = Page(rows, total, offset, size)
    return page(
        request,
        "patients.html",
        {
            "patients": rows,
            "pager": Pager.of(request, shown, noun="patients"),
            "values": {"search": search or ""},
        },
    )


def _patient_form(request: Request, values: dict[str, str], found: FormErrors) -> Response:
    return page(
        request,
        "patient_form.html",
        {
            "values": values,
            "errors": found.fields,
            "form_error": found.form,
            "sex_options": [(s.value, s.value) for s in Sex],
            "diabetes_options": [
                ("none", "No diabetes"),
                ("type1", "Type 1 diabetes"),
                ("type2", "Type 2 diabetes"),
            ],
        },
        status_code=found.status,
    )


@router.get("/patients/new", response_class=HTMLResponse)
def new_patient(request: Request, me: Me) -> Response:
    me.authorize("register")
    return _patient_form(request, {"diabetes": "none"}, FormErrors(status=200))


@router.post("/patients", response_class=HTMLResponse)
def add_patient(request: Request, me: Me, form: Form) -> Response:
    me.authorize("register")
    values = {k: form.get(k, "") for k in PATIENT_FIELDS}
    now = clock(request)
    try:
        data = validate_form(PatientIn, present(form, PATIENT_FIELDS), PATIENT_FIELDS)
        with work(request) as session:
            patient = patients.add_patient(
                session=session, data=data, by=me.username, clock=now, role=me.role
            )
            mrn = patient.mrn
    except FormErrors as found:
        return _patient_form(request, values, found)
    except IvigError as exc:
        return _patient_form(request, values, refusal(exc, PATIENT_FIELDS))
    flash(request, f"Patient {mrn} registered.")
    return RedirectResponse(f"/patients/{mrn}", status_code=303)


#: The lists on a patient's record, each paged on its own, and what they hold.
PATIENT_LISTS = {"courses": "courses", "followups": "follow-ups", "measurements": "measurements"}


def _patient_page(
    request: Request,
    me: Me,
    mrn: str,
    *,
    found: FormErrors | None = None,
    values: Any = None,
    failed: str | None = None,
) -> Response:
    today = clock(request).today()
    # A refused form is answered at its POST address: the lists' links go to the record.
    own = None if request.method == "GET" else f"/patients/{quote(mrn, safe='')}"
    at = {name: 0 if own else offset_of(request, f"{name}_cursor") for name in PATIENT_LISTS}
    size = rows_per_page()
    with work(request) as session:
        patient = patient_by_mrn(session, mrn)
        users.log_access(
            session=session,
            actor=me.username,
            what="page patient",
            at=clock(request).now(),
            patient_id=patient.id,
        )
        lists: dict[str, Page[Any]] = {
            "courses": Page(
                queries.list_courses(session=session, mrn=mrn, limit=size, offset=at["courses"]),
                queries.count_courses(session=session, mrn=mrn),
                at["courses"],
                size,
            ),
            "followups": Page(
                queries.list_followups(
                    session=session, mrn=mrn, today=today, limit=size, offset=at["followups"]
                ),
                queries.count_followups(session=session, mrn=mrn),
                at["followups"],
                size,
            ),
            "measurements": Page(
                queries.list_measurements(
                    session=session, mrn=mrn, limit=size, offset=at["measurements"]
                ),
                queries.count_measurements(session=session, mrn=mrn),
                at["measurements"],
                size,
            ),
        }
        context: dict[str, Any] = {
            "patient": queries.patient_read(patient),
            "courses": lists["courses"].rows,
            "followups": lists["followups"].rows,
            "measurements": lists["measurements"].rows,
            "pagers": {
                name: Pager.of(
                    request, shown, param=f"{name}_cursor", noun=PATIENT_LISTS[name], path=own
                )
                for name, shown in lists.items()
            },
        }
    if failed is None:  # the measurement form's
        context.update(
            values=values or {"date": today.isoformat()},
            errors=found.fields if found else {},
            form_error=found.form if found else None,
        )
    else:  # a catalogue action's form
        context.update(
            values={"date": today.isoformat()},
            errors={},
            form_error=None,
            action_values=values or {},
            action_errors=found.fields if found else {},
            action_error=found.form if found else None,
        )
    context.update(
        failed=failed,
        patient_forms=[
            action_form(a)
            for a in of_scope(Scope.PATIENT)
            if a.form == "generic" and me.may(a.name)
        ],
    )
    return page(request, "patient.html", context, status_code=found.status if found else 200)


@router.get("/patients/{mrn}", response_class=HTMLResponse)
def patient_view(request: Request, me: Me, mrn: str) -> Response:
    """The patient's record: courses, follow-ups, measurements (written to the access log)."""
    return _patient_page(request, me, mrn)


@router.post("/patients/{mrn}/measurements", response_class=HTMLResponse)
def measure(request: Request, me: Me, mrn: str, form: Form) -> Response:
    me.authorize("measure")
    values = {k: form.get(k, "") for k in MEASURE_FIELDS}
    now = clock(request)
    try:
        body = validate_form(MeasurementBody, present(form, MEASURE_FIELDS), MEASURE_FIELDS)
        with work(request) as session:
            patients.measure(
                session=session,
                mrn=mrn,
                on=body.date,
                hba1c_percent=body.hba1c,
                monofilament_sites_felt=body.monofilament_sites_felt,
                by=me.username,
                role=me.role,
                clock=now,
            )
    except FormErrors as found:
        return _patient_page(request, me, mrn, found=found, values=values)
    except IvigError as exc:
        if exc.http_status == 404:
            raise
        return _patient_page(request, me, mrn, found=refusal(exc, MEASURE_FIELDS), values=values)
    flash(request, f"Measurement of {body.date.isoformat()} recorded.")
    return RedirectResponse(f"/patients/{mrn}", status_code=303)


@router.post("/patients/{mrn}/{action}", response_class=HTMLResponse)
def patient_action(request: Request, me: Me, mrn: str, action: str, form: Form) -> Response:
    """A catalogue action on the patient (``patient update`` …), from its generic form."""
    entry = ACTIONS.get(action)
    if entry is None or entry.scope != Scope.PATIENT or entry.form == "none":
        return RedirectResponse(f"/patients/{mrn}", status_code=303)
    fields = tuple(n for n in entry.input.model_fields if n not in entry.signed_in)
    values = {k: form.get(k, "") for k in fields}
    now = clock(request)
    try:
        body = validate_form(entry.input, present(form, fields), fields)
        with work(request) as session:
            actor = Actor(me.username, me.role)
            target = perform(entry, session=session, target=mrn, data=body, actor=actor, clock=now)
            mrn = target.mrn
    except FormErrors as found:
        return _patient_page(request, me, mrn, found=found, values=values, failed=action)
    except IvigError as exc:
        if exc.http_status == 404:
            raise
        refused = refusal(exc, fields)
        return _patient_page(request, me, mrn, found=refused, values=values, failed=action)
    flash(request, entry.done)
    return RedirectResponse(f"/patients/{mrn}", status_code=303)
