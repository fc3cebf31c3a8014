"""The audit trails can be read back from the command line: an auditor sees who looked
at a patient's record (and what a search asked for) and who minted whose token."""

from __future__ import annotations

import pytest

from tests.conftest import Ivig
from tests.web.conftest import ADMIN, COORDINATOR, PATIENT, REVIEWER, Web

API = "/api/v1"


@pytest.fixture
def seen(web: Web) -> Web:
    client = web.api(COORDINATOR)
    assert client.post(f"{API}/patients", json=PATIENT).status_code == 201
    assert client.post(f"{API}/patients", json={**PATIENT, "mrn": "M2"}).status_code == 201
    assert client.get(f"{API}/patients/m1").status_code == 200  # MRNs match in any case
    assert web.api(REVIEWER).get(f"{API}/patients", params={"search": "Test"}).status_code == 200
    return web


def test_access_log_lists_views_of_one_patient(seen: Web, ivig: Ivig) -> None:
    rows = ivig.ok("user", "access-log", "--mrn", "M1")
    assert [(r["actor"], r["mrn"]) for r in rows] == [(COORDINATOR, "M1")]
    assert rows[0]["what"] == "api GET /api/v1/patients/m1"


def test_access_log_keeps_searches_with_their_query(seen: Web, ivig: Ivig) -> None:
    rows = ivig.ok("user", "access-log", "--actor", REVIEWER)
    assert len(rows) == 1
    assert rows[0]["mrn"] is None
    assert "search=Test" in rows[0]["what"]


def test_access_log_filters_by_date_and_says_when_nothing_matches(seen: Web, ivig: Ivig) -> None:
    assert ivig.ok("user", "access-log", "--since", "2026-11-20")
    assert ivig.ok("user", "access-log", "--since", "2026-11-21") == []
    text = ivig("user", "access-log", "--since", "2026-11-21")
    assert text.code == 0
    assert "No view" in text.out


def test_access_log_refuses_an_unknown_patient_and_a_bad_date(seen: Web, ivig: Ivig) -> None:
    unknown = ivig("user", "access-log", "--mrn", "NOPE")
    assert unknown.code != 0
    assert "mrn" in unknown.err
    bad = ivig("user", "access-log", "--since", "20261120")
    assert bad.code == 2
    assert "since" in bad.err


def test_account_audit_shows_who_minted_whose_token(web: Web, ivig: Ivig) -> None:
    minted = ivig("user", "token", REVIEWER, "--actor", ADMIN)
    assert minted.code == 0, minted.err
    rows = ivig.ok("user", "audit", "--username", REVIEWER)
    assert rows[0]["actor"] == ADMIN
    assert rows[0]["username"] == REVIEWER
    assert "token" in rows[0]["action"]


def test_a_csv_download_of_a_search_is_logged_with_its_query(seen: Web, ivig: Ivig) -> None:
    response = seen.browser(ADMIN).get("/patients.csv", params={"search": "Test"})
    assert response.status_code == 200
    assert "M1" in response.text
    rows = ivig.ok("user", "access-log", "--actor", ADMIN)
    assert [r["what"] for r in rows] == ["download patients.csv?search=Test"]
