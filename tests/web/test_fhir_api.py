"""``GET /api/v1/courses/{id}/fhir``: the course's record as a FHIR R4B Bundle."""

from __future__ import annotations

from tests.interop.test_fhir_export import check_bundle
from tests.web.conftest import COORDINATOR, PATIENT, Web, request_doc


def test_the_api_gives_the_course_bundle(web: Web) -> None:
    client = web.api(COORDINATOR)
    assert client.post("/api/v1/patients", json=PATIENT).status_code == 201
    cid = client.post("/api/v1/courses", json=request_doc()).json()["id"]
    response = client.get(f"/api/v1/courses/{cid}/fhir")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    kinds = check_bundle(response.json())
    assert kinds["MedicationRequest"] == 1 and kinds["Patient"] == 1
    assert client.get("/api/v1/courses/999/fhir").status_code == 404
    assert web.api().get(f"/api/v1/courses/{cid}/fhir").status_code == 401
