"""FHIR R4B over the JSON API: ``GET /api/v1/courses/{id}/fhir`` (a Bundle of the
course's record) and ``POST /api/v1/fhir`` (a Bundle of Observations in).
``fhir.resources`` is imported inside the routes only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response

from workflow.service import users
from workflow.service.common import course_by_id
from workflow.web.auth import Principal, api_principal
from workflow.web.context import clock, work

FHIR_JSON = "application/fhir+json"

router = APIRouter(prefix="/api/v1", dependencies=[Depends(api_principal)], tags=["fhir"])
Me = Annotated[Principal, Depends(api_principal)]


@router.get(
    "/courses/{course_id:int}/fhir",
    response_class=Response,
    responses={200: {"content": {FHIR_JSON: {}}, "description": "A FHIR R4B Bundle."}},
)
def course_bundle(request: Request, me: Me, course_id: int) -> Response:
    """``ivig fhir export --course ID``: the course as a FHIR R4B Bundle (written to the
    access log)."""
    from workflow.fhir.export import export_record

    now = clock(request).now()
    with work(request) as session:
        course = course_by_id(session, course_id, lock=False)
        users.log_access(
            session=session,
            actor=me.username,
            what=f"api {request.method} {request.url.path}",
            at=now,
            patient_id=course.patient_id,
            course_id=course.id,
        )
        text = export_record(session, mrn=None, course_id=course_id, now=now).model_dump_json(
            exclude_none=True
        )
    return Response(content=text, media_type=FHIR_JSON)


@router.post("/fhir")
def import_bundle(
    request: Request, me: Me, bundle: Annotated[dict[str, Any], Body(media_type=FHIR_JSON)]
) -> dict[str, Any]:
    """``ivig fhir import``: a Bundle of Observations, recorded all or nothing (422 naming
    the entry on any fault); an Observation imported before is skipped."""
    from workflow.catalogue import Actor
    from workflow.fhir.importer import import_bundle
    from workflow.review import load_policy

    who = Actor(me.username, me.role)
    now, policy = clock(request), load_policy()
    with work(request) as session:
        return import_bundle(session, bundle, actor=who, clock=now, policy=policy).as_json()
