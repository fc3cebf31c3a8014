"""Every API list takes limit and cursor and says the total; the pages say
"showing N of M" with next and previous; the worklist names patients and says how
long each request has waited."""

from __future__ import annotations

from tests.web.conftest import COORDINATOR, PATIENT, Web, request_doc


def _patients(web: Web, count: int) -> None:
    api = web.api(COORDINATOR)
    for n in range(count):
        response = api.post("/api/v1/patients", json={**PATIENT, "mrn": f"P{n:02d}"})
        assert response.status_code == 201, response.text


def test_api_lists_page_with_a_cursor_and_a_total(web: Web) -> None:
    _patients(web, 5)
    api = web.api(COORDINATOR)

    first = api.get("/api/v1/patients", params={"limit": 2})
    assert [p["mrn"] for p in first.json()] == ["P00", "P01"]
    assert first.headers["X-Total-Count"] == "5"
    assert 'rel="next"' in first.headers["Link"]
    second = api.get(
        "/api/v1/patients", params={"limit": 2, "cursor": first.headers["X-Next-Cursor"]}
    )
    assert [p["mrn"] for p in second.json()] == ["P02", "P03"]
    assert "X-Previous-Cursor" in second.headers
    assert api.get("/api/v1/patients", params={"search": "p0"}).headers["X-Total-Count"] == "5"
    assert api.get("/api/v1/patients", params={"cursor": "zzz"}).status_code == 422
    assert api.get("/api/v1/patients", params={"limit": 0}).status_code == 422


def test_course_and_followup_lists_say_their_totals(web: Web) -> None:
    _patients(web, 1)
    api = web.api(COORDINATOR)
    api.post("/api/v1/courses", json=request_doc("P00", requested_on="2026-11-10"))

    courses = api.get("/api/v1/courses", params={"limit": 1})
    assert courses.headers["X-Total-Count"] == "1"
    assert "X-Next-Cursor" not in courses.headers
    assert courses.json()[0]["requested_on"] == "2026-11-10"
    assert courses.json()[0]["patient_name"] == PATIENT["name"]
    assert api.get("/api/v1/followups").headers["X-Total-Count"] == "0"


def test_the_patient_page_says_showing_n_of_m(web: Web) -> None:
    _patients(web, 3)
    text = web.browser(COORDINATOR).get("/patients").text
    assert "showing 1-3 of 3" in text


def test_the_worklist_names_patients_and_says_how_long_requests_waited(web: Web) -> None:
    _patients(web, 1)
    web.api(COORDINATOR).post("/api/v1/courses", json=request_doc("P00", requested_on="2026-11-10"))

    text = web.browser(COORDINATOR).get("/").text

    assert f"{PATIENT['name']} (P00)" in text
    assert "8 working days (past the deadline)" in text
    assert "2026-11-10" in text
