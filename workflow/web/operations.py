"""The relapse report and follow-up raising, for the JSON API and the pages.

Thin over ``workflow.reports`` and ``schedules``: the same functions the CLI calls.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from schedules.cycle import raise_then_deliver
from workflow.config import get_settings
from workflow.followups import worklist_group
from workflow.reports.plot import write_km_plot
from workflow.reports.relapse import relapse_report
from workflow.review import load_policy
from workflow.schemas import FollowUpRead
from workflow.web.auth import Principal, api_principal
from workflow.web.context import clock, config, work
from workflow.web.params import QueryDate


def followup_when(row: FollowUpRead, today: dt.date) -> str:
    """Where a follow-up sits on the worklist (overdue, due today…)."""
    return worklist_group(row.status, row.due_date, today)


def relapse_json(session: Session, as_of: dt.date) -> dict[str, Any]:
    document: dict[str, Any] = relapse_report(session, as_of).as_json()
    return document


def relapse_png(session: Session, as_of: dt.date) -> bytes:
    """The Kaplan-Meier plot as PNG bytes (matplotlib writes to a file, so a temporary one)."""
    report = relapse_report(session, as_of)
    with tempfile.TemporaryDirectory(prefix="ivig-plot-") as folder:
        path = Path(folder) / "relapse.png"
        write_km_plot(report.times, path, as_of=as_of)
        return path.read_bytes()


def as_of_or_today(request: Request, as_of: dt.date | None) -> dt.date:
    return as_of or clock(request).today()


Me = Annotated[Principal, Depends(api_principal)]


def add_api_routes(router: APIRouter) -> None:
    """Adds the report and raising endpoints."""

    @router.get("/reports/relapse", tags=["reports"])
    def relapse(request: Request, as_of: QueryDate | None = None) -> dict[str, Any]:
        """``report relapse --json``: response and relapse figures, overall and by
        indication (no patient identifiers, so no access-log entry)."""
        with work(request) as session:
            return relapse_json(session, as_of_or_today(request, as_of))

    @router.get(
        "/reports/relapse.png",
        tags=["reports"],
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}},
    )
    def relapse_plot(request: Request, as_of: QueryDate | None = None) -> Response:
        """``report relapse --plot``: the Kaplan-Meier plot of time to relapse."""
        with work(request) as session:
            png = relapse_png(session, as_of_or_today(request, as_of))
        return Response(png, media_type="image/png")

    @router.post("/followups/raise", response_model=list[FollowUpRead], tags=["followups"])
    def raise_followups(
        request: Request, me: Me, as_of: QueryDate | None = None, deliver: bool = True
    ) -> list[FollowUpRead]:
        """``followups raise``: raises what is due by ``as_of`` (default today), escalates
        what is long overdue, and (``deliver``) sends the pending reminders."""
        me.authorize("raise")
        settings, now = get_settings(), clock(request)
        engine = config(request).engine
        day = as_of_or_today(request, as_of)
        cycle = raise_then_deliver(
            engine,
            as_of=day,
            clock=now,
            notify_urls=settings.notify_urls(),
            policy=load_policy(),
            outreach=settings.patient_outreach(),
            deliver=deliver,
        )
        return cycle.raising.raised
