"""Pages for administrators (users and their API tokens) and the relapse report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from workflow.errors import IvigError
from workflow.paging import Page
from workflow.service import users
from workflow.web import operations
from workflow.web.auth import Principal, page_principal, posted_form
from workflow.web.context import clock, work
from workflow.web.forms import FormErrors, refusal
from workflow.web.paging import Pager, offset_of, rows_per_page
from workflow.web.render import flash, page

router = APIRouter(include_in_schema=False)
Me = Annotated[Principal, Depends(page_principal)]
Form = Annotated[dict[str, str], Depends(posted_form)]

USER_FIELDS = ("username", "full_name", "role", "password")


def _users_page(
    request: Request,
    *,
    found: FormErrors | None = None,
    values: dict[str, str] | None = None,
    token: tuple[str, str] | None = None,
) -> Response:
    # After a POST (a refusal, a token shown once) the list's links go to the users page.
    own = None if request.method == "GET" else "/users"
    offset, size = (0 if own else offset_of(request)), rows_per_page()
    with work(request) as session:
        rows = [
            users.user_read(u) for u in users.list_users(session=session, limit=size, offset=offset)
        ]
        shown = Page(rows, users.count_users(session=session), offset, size)
    return page(
        request,
        "users.html",
        {
            "users": rows,
            "pager": Pager.of(request, shown, noun="accounts", path=own),
            "role_options": [(r, r) for r in users.ROLES],
            "values": values or {"role": "coordinator"},
            "errors": found.fields if found else {},
            "form_error": found.form if found else None,
            "token": token,
        },
        status_code=found.status if found else 200,
    )


@router.get("/users", response_class=HTMLResponse)
def user_list(request: Request, me: Me) -> Response:
    me.authorize("users")
    return _users_page(request)


@router.post("/users", response_class=HTMLResponse)
def add_user(request: Request, me: Me, form: Form) -> Response:
    me.authorize("users")
    values = {k: form.get(k, "") for k in USER_FIELDS if k != "password"}
    now = clock(request)
    try:
        with work(request) as session:
            users.add_user(
                session=session,
                username=form.get("username", ""),
                full_name=form.get("full_name", ""),
                role=form.get("role", ""),
                password=form.get("password", ""),
                clock=now,
            )
    except IvigError as exc:
        return _users_page(request, found=refusal(exc, USER_FIELDS), values=values)
    flash(request, f"User {values['username'].strip()} created.")
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{username}/token", response_class=HTMLResponse)
def issue_token(request: Request, me: Me, username: str, form: Form) -> Response:
    """Shows a new token once, in this response only (never in a redirect or the log)."""
    me.authorize("users")
    with work(request) as session:
        token = users.issue_token(
            session=session, username=username, by=me.username, at=clock(request).now()
        )
    return _users_page(request, token=(username, token))


@router.post("/users/{username}/deactivate", response_class=HTMLResponse)
def deactivate(request: Request, me: Me, username: str, form: Form) -> Response:
    me.authorize("users")
    with work(request) as session:
        users.set_active(
            session=session,
            username=username,
            active=False,
            by=me.username,
            at=clock(request).now(),
        )
    flash(request, f"User {username} deactivated.")
    return RedirectResponse("/users", status_code=303)


def _as_of(request: Request, value: str | None) -> tuple[dt.date, str | None]:
    today = clock(request).today()
    if not value:
        return today, None
    try:
        return dt.date.fromisoformat(value), None
    except ValueError:
        return today, f"{value!r} is not a date in the form YYYY-MM-DD."


@router.get("/reports/relapse", response_class=HTMLResponse)
def relapse_report(request: Request, me: Me, as_of: str | None = None) -> Response:
    day, error = _as_of(request, as_of)
    with work(request) as session:
        report = operations.relapse_json(session, day)
    return page(
        request,
        "report.html",
        {
            "report": report,
            "as_of": day,
            "values": {"as_of": as_of or day.isoformat()},
            "errors": {"as_of": error} if error else {},
        },
        status_code=422 if error else 200,
    )


@router.get("/reports/safety", response_class=HTMLResponse)
def safety_report(
    request: Request, me: Me, as_of: str | None = None, lot: str | None = None
) -> Response:
    """Adverse events per 100 courses, and a product lot's recipients (``report lot``)."""
    from workflow.reports.safety import GRADES, lot_report
    from workflow.reports.safety import safety_report as build

    day, error = _as_of(request, as_of)
    offset, size = offset_of(request), rows_per_page()
    shown: Page[Any] | None = None
    with work(request) as session:
        report = build(session, day)
        recipients = lot_report(session, lot) if lot and lot.strip() else None
        if recipients is not None:
            rows = recipients.infusions
            shown = Page(rows[offset : offset + size], len(rows), offset, size)
            # The recipients shown (names and MRNs), each course once, with the query.
            query = f"?{request.url.query}" if request.url.query else ""
            for course_id in dict.fromkeys(r.course_id for r in shown.rows):
                users.log_access(
                    session=session,
                    actor=me.username,
                    what=f"page GET /reports/safety{query}",
                    at=clock(request).now(),
                    patient_id=None,
                    course_id=course_id,
                )
    return page(
        request,
        "safety.html",
        {
            "report": report,
            "lot": recipients,
            "recipients": shown.rows if shown else [],
            "pager": Pager.of(request, shown, noun="recipients") if shown else None,
            "grades": GRADES,
            "values": {"as_of": as_of or day.isoformat(), "lot": lot or ""},
            "errors": {"as_of": error} if error else {},
        },
        status_code=422 if error else 200,
    )


@router.get("/reports/relapse.png")
def relapse_plot(request: Request, me: Me, as_of: str | None = None) -> Response:
    day, _ = _as_of(request, as_of)
    with work(request) as session:
        png = operations.relapse_png(session, day)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})
