"""Attacks at the web edge: reads that leave no trace, 500s without security headers,
bodies too large to parse."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import COORDINATOR, PATIENT, REVIEWER, Web
from workflow.db import engine_for, transaction
from workflow.models import AccessLog


def _log(web: Web) -> list[tuple[str, str]]:
    with transaction(engine_for(web.url)) as session:
        return [(a, w) for a, w in session.execute(select(AccessLog.actor, AccessLog.what))]


def test_searches_and_lists_are_in_the_access_log(web: Web) -> None:
    assert web.api(COORDINATOR).post("/api/v1/patients", json=PATIENT).status_code == 201
    api = web.api(REVIEWER)
    assert api.get("/api/v1/patients", params={"search": "Test"}).status_code == 200
    assert api.get("/api/v1/courses").status_code == 200
    assert api.get("/api/v1/followups").status_code == 200
    assert web.browser(REVIEWER).get("/patients?search=Te").status_code == 200
    assert web.browser(REVIEWER).get("/?kind=hba1c").status_code == 200
    rows = _log(web)
    assert (REVIEWER, "page GET /?kind=hba1c") in rows
    assert (REVIEWER, "api GET /api/v1/patients?search=Test") in rows
    assert (REVIEWER, "api GET /api/v1/courses") in rows
    assert (REVIEWER, "api GET /api/v1/followups") in rows
    assert (REVIEWER, "page GET /patients?search=Te") in rows


def test_a_500_carries_the_security_headers(web: Web) -> None:
    def boom() -> None:
        raise RuntimeError("patient Ann Lee")

    web.app.add_api_route("/api/v1/boom", boom)
    response = TestClient(web.app, raise_server_exceptions=False).get("/api/v1/boom")
    assert response.status_code == 500
    assert "Ann Lee" not in response.text
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_huge_body_is_413_before_parsing(web: Web) -> None:
    big = b'{"mrn": "' + b"M" * (3 * 1024 * 1024) + b'"}'
    response = web.api(COORDINATOR).post(
        "/api/v1/patients", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["X-Frame-Options"] == "DENY"
