"""The courses page: every course, newest first, filtered by patient and state, a page
at a time ("showing N of M"), and its CSV download with every row the filters select.

The same queries as ``course list`` and ``GET /api/v1/courses``; like every list that
names patients, each view and download is a row in the access log with its query.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from workflow.errors import IvigError
from workflow.paging import Page
from workflow.read import queries
from workflow.schemas import CourseSummary
from workflow.states import CourseState
from workflow.web.auth import Principal, page_principal
from workflow.web.context import logged_list, work
from workflow.web.downloads import MAX_ROWS, csv_response
from workflow.web.forms import refusal
from workflow.web.paging import Pager, offset_of, rows_per_page
from workflow.web.render import page

router = APIRouter(include_in_schema=False)
Me = Annotated[Principal, Depends(page_principal)]

FILTERS = ("mrn", "state")


@router.get("/courses", response_class=HTMLResponse)
def course_list(
    request: Request, me: Me, mrn: str | None = None, state: str | None = None
) -> Response:
    values = {"mrn": mrn or "", "state": state or ""}
    who, which = mrn or None, state or None
    offset, size = offset_of(request), rows_per_page()
    errors: dict[str, str] = {}
    rows: list[CourseSummary] = []
    total = 0
    try:
        with work(request) as session:
            rows = queries.list_courses(
                session=session, mrn=who, state=which, limit=size, offset=offset
            )
            total = queries.count_courses(session=session, mrn=who, state=which)
    except IvigError as exc:  # an unknown MRN or state: said beside its filter
        found = refusal(exc, FILTERS)
        errors = found.fields or {"mrn": found.form or ""}
    logged_list(request, me.username, f"page GET {request.url.path}")
    shown = Page(rows, total, offset, size)
    return page(
        request,
        "courses.html",
        {
            "courses": rows,
            "pager": Pager.of(request, shown, noun="courses"),
            "state_options": [(s.value, s.value) for s in CourseState],
            "values": values,
            "errors": errors,
        },
        status_code=422 if errors else 200,
    )


@router.get("/courses.csv")
def courses_csv(
    request: Request, me: Me, mrn: str | None = None, state: str | None = None
) -> Response:
    """Every course the filters select (not only the page shown)."""
    with work(request) as session:
        rows = queries.list_courses(
            session=session, mrn=mrn or None, state=state or None, limit=MAX_ROWS
        )
    logged_list(request, me.username, "download courses.csv")
    return csv_response(
        "courses.csv",
        ("id", "mrn", "name", "state", "indication", "requested_on", "requested_at"),
        (
            (c.id, c.mrn, c.patient_name, c.state, c.indication, c.requested_on, c.requested_at)
            for c in rows
        ),
    )
