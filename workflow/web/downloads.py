"""CSV downloads of every list and report page, and the completeness report's page.

A download has the page's filters and every row they select (not only the page
shown); opening one is written to the access log like viewing the page.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from workflow.paging import Page
from workflow.read import queries
from workflow.reports.completeness import completeness_report
from workflow.service import users
from workflow.web import operations
from workflow.web.auth import Principal, page_principal
from workflow.web.context import clock, log_list, logged_list, work
from workflow.web.paging import Pager, offset_of, rows_per_page
from workflow.web.render import page

router = APIRouter(include_in_schema=False)
Me = Annotated[Principal, Depends(page_principal)]

#: The most rows one download carries (a national programme's open follow-ups).
MAX_ROWS = 100_000


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _day(request: Request, value: str | None) -> tuple[dt.date, str | None]:
    today = clock(request).today()
    if not value:
        return today, None
    try:
        return dt.date.fromisoformat(value), None
    except ValueError:
        return today, f"{value!r} is not a date in the form YYYY-MM-DD."


@router.get("/patients.csv")
def patients_csv(request: Request, me: Me, search: str | None = None) -> Response:
    with work(request) as session:
        rows = queries.list_patients(session=session, search=search, limit=MAX_ROWS)
    logged_list(request, me.username, "download patients.csv")
    return csv_response(
        "patients.csv",
        ("mrn", "name", "birth_date", "sex", "diabetes", "weight_kg", "height_cm"),
        (
            (p.mrn, p.name, p.birth_date, p.sex.value, p.diabetes.value, p.weight_kg, p.height_cm)
            for p in rows
        ),
    )


@router.get("/worklist.csv")
def worklist_csv(
    request: Request,
    me: Me,
    mrn: str | None = None,
    kind: str | None = None,
    due_by: str | None = None,
) -> Response:
    """The worklist's open follow-ups due by ``due_by`` (default today), all of them."""
    until, _ = _day(request, due_by)
    today = clock(request).today()
    with work(request) as session:
        rows = queries.list_followups(
            session=session,
            mrn=mrn or None,
            kind=kind or None,
            due_before=until + dt.timedelta(days=1),
            today=today,
            open_only=True,
            limit=MAX_ROWS,
        )
    logged_list(request, me.username, "download worklist.csv")
    return csv_response(
        "worklist.csv",
        ("followup_id", "kind", "mrn", "course_id", "due_date", "status", "days_overdue"),
        ((f.id, f.kind, f.mrn, f.course_id, f.due_date, f.status, f.days_overdue) for f in rows),
    )


_FIGURES = (
    "courses_monitored",
    "responders",
    "relapses",
    "relapse_rate",
    "median_months_to_relapse",
)


@router.get("/reports/relapse.csv")
def relapse_csv(request: Request, me: Me, as_of: str | None = None) -> Response:
    day, _ = _day(request, as_of)
    with work(request) as session:
        report = operations.relapse_json(session, day)
    groups = [("all", report), *report.get("by_indication", {}).items()]
    return csv_response(
        f"relapse-{day.isoformat()}.csv",
        ("indication", *_FIGURES),
        ((name, *(group.get(k) for k in _FIGURES)) for name, group in groups),
    )


@router.get("/reports/completeness", response_class=HTMLResponse)
def completeness_page(request: Request, me: Me, as_of: str | None = None) -> Response:
    """Share of due reassessments recorded, by coordinator, with the missing ones."""
    day, error = _day(request, as_of)
    offset, size = offset_of(request), rows_per_page()
    with work(request) as session:
        report = completeness_report(session, day).as_json()
        # The missing reassessments name patients (MRNs): a list, in the access log.
        log_list(session, request, me.username, f"page GET {request.url.path}")
    missing = report.get("missing_reassessments", [])
    shown = Page(missing[offset : offset + size], len(missing), offset, size)
    return page(
        request,
        "completeness.html",
        {
            "report": report,
            "missing": shown.rows,
            "pager": Pager.of(request, shown, noun="missing reassessments"),
            "as_of": day,
            "values": {"as_of": as_of or day.isoformat()},
            "errors": {"as_of": error} if error else {},
        },
        status_code=422 if error else 200,
    )


@router.get("/reports/lot.csv")
def lot_csv(request: Request, me: Me, lot: str = "") -> Response:
    """Every recipient of a product lot (a recall's list), one infusion day a line."""
    from workflow.reports.safety import lot_report

    with work(request) as session:
        report = lot_report(session, lot)
        for course_id in dict.fromkeys(r.course_id for r in report.infusions):
            users.log_access(
                session=session,
                actor=me.username,
                what="download lot.csv",
                at=clock(request).now(),
                course_id=course_id,
            )
    return csv_response(
        "lot.csv",
        ("lot", "date", "mrn", "name", "course_id", "course_state", "day", "grams"),
        (
            (report.lot, r.date, r.mrn, r.name, r.course_id, r.course_state, r.day, r.grams)
            for r in report.infusions
        ),
    )


@router.get("/reports/completeness.csv")
def completeness_csv(request: Request, me: Me, as_of: str | None = None) -> Response:
    """The missing reassessments, one a line (what a coordinator chases)."""
    day, _ = _day(request, as_of)
    with work(request) as session:
        report = completeness_report(session, day).as_json()
    logged_list(request, me.username, "download completeness.csv")
    missing = report.get("missing_reassessments", [])
    header = tuple(missing[0]) if missing else ("followup_id", "course_id", "mrn", "kind")
    return csv_response(
        f"completeness-{day.isoformat()}.csv",
        header,
        ([m.get(k) for k in header] for m in missing),
    )
