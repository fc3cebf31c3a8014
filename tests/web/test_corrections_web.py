"""Voids over the API and on the pages: catalogue actions like the others."""

from __future__ import annotations

from tests.web.conftest import COORDINATOR, PATIENT, REVIEWER, Web


def test_a_measurement_is_voided_over_the_api_and_shown_marked(web: Web) -> None:
    api = web.api(COORDINATOR)
    api.post("/api/v1/patients", json=PATIENT)
    measured = api.post(
        "/api/v1/patients/M1/measurements", json={"date": "2026-11-01", "hba1c": 7.2}
    ).json()

    answer = api.post(
        "/api/v1/patients/M1/void-measurement",
        json={"measurement": measured["id"], "reason": "wrong patient"},
    )

    assert answer.status_code == 200, answer.text
    [row] = api.get("/api/v1/patients/M1/measurements").json()
    assert (row["voided"], row["void_reason"]) == (True, "wrong patient")
    refused = web.api(REVIEWER).post(
        "/api/v1/patients/M1/void-measurement",
        json={"measurement": measured["id"], "reason": "again"},
    )
    assert refused.status_code == 403
    page = web.browser(COORDINATOR).get("/patients/M1").text
    assert "wrong patient" in page
