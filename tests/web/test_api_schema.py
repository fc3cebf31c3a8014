"""The API answers as its OpenAPI document says: malformed JSON is 422 naming the body,
query dates are real dates, 405 names every method of the path, replacing your own
token is explicit, and every operation documents the errors it may give."""

from __future__ import annotations

import pytest

from tests.web.conftest import ADMIN, COORDINATOR, Web


def test_malformed_json_is_422_naming_the_body(web: Web) -> None:
    api = web.api(COORDINATOR)
    for body in (b"{not json", b"\xff\xfe\x00garbage"):
        response = api.post(
            "/api/v1/patients", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"].startswith(("body", "document"))
        assert "path:" not in response.json()["detail"]


@pytest.mark.parametrize("value", ["0", "20261120", "2026-1-2", "yesterday"])
def test_query_dates_are_dates(web: Web, value: str) -> None:
    response = web.api(COORDINATOR).get("/api/v1/followups", params={"as_of": value})
    assert response.status_code == 422
    assert "as_of" in response.json()["detail"]
    assert "YYYY-MM-DD" in response.json()["detail"]


def test_unknown_status_is_refused_as_the_schema_says(web: Web) -> None:
    response = web.api(COORDINATOR).get("/api/v1/followups", params={"status": "lost"})
    assert response.status_code == 422
    assert "status" in response.json()["detail"]


def test_405_names_every_method_of_the_path(web: Web) -> None:
    response = web.api(COORDINATOR).request("OPTIONS", "/api/v1/courses")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}
    response = web.api(COORDINATOR).delete("/api/v1/patients")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}


def test_replacing_your_own_token_is_explicit(web: Web) -> None:
    api = web.api(ADMIN)
    refused = api.post(f"/api/v1/users/{ADMIN}/token")
    assert refused.status_code == 409
    assert "replace_mine=true" in refused.json()["detail"]
    assert api.get("/api/v1/me").status_code == 200  # the token still works

    replaced = api.post(f"/api/v1/users/{ADMIN}/token", params={"replace_mine": "true"})
    assert replaced.status_code == 200
    assert api.get("/api/v1/me").status_code == 401
    fresh = web.api()
    fresh.headers["Authorization"] = f"Bearer {replaced.json()['token']}"
    assert fresh.get("/api/v1/me").status_code == 200
    other = fresh.post(f"/api/v1/users/{COORDINATOR}/token")
    assert other.status_code == 200  # another user's token: no confirmation needed


def test_every_operation_documents_its_errors(web: Web) -> None:
    document = web.api().get("/api/v1/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post"):
                continue
            for status in ("401", "403", "422"):
                assert status in operation["responses"], (method, path, status)
            shape = str(operation["responses"]["422"])
            assert "ErrorRead" in shape, (method, path)
