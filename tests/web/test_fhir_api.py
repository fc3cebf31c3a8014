"""``GET /api/v1/courses/{id}/fhir``: the course's record as a FHIR R4B Bundle."""

from __future__ import annotations

import pytest

from tests.interop.test_fhir_export import check_bundle
from tests.web.conftest import COORDINATOR, PATIENT, Web, request_doc


@pytest.mark.slow
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


def test_the_api_imports_a_bundle_once_and_refuses_a_bad_one_whole(web: Web) -> None:
    from tests.interop.test_fhir_import import LOINC, bundle, observation
    from tests.web.conftest import REVIEWER

    client = web.api(COORDINATOR)
    assert client.post("/api/v1/patients", json=PATIENT).status_code == 201
    labs = bundle(observation("a1c", LOINC, "4548-4", 7.4, "%", on="2026-11-04"))
    first = client.post("/api/v1/fhir", json=labs)
    assert first.status_code == 200, first.text
    assert [i["observation"] for i in first.json()["imported"]] == ["a1c"]
    again = client.post("/api/v1/fhir", json=labs).json()
    assert again == {"imported": [], "already_imported": ["a1c"]}

    bad = bundle(
        observation("a1c-2", LOINC, "4548-4", 7.0, "%", on="2026-11-05"),
        observation("a1c-3", LOINC, "4548-4", 40, "%", on="2026-11-06"),
    )
    refused = client.post("/api/v1/fhir", json=bad)
    assert refused.status_code == 422
    assert "entry 2" in refused.json()["detail"] and "a1c-3" in refused.json()["detail"]
    assert len(client.get("/api/v1/patients/M1/measurements").json()) == 1
    assert web.api(REVIEWER).post("/api/v1/fhir", json=labs).status_code == 403
