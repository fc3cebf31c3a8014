"""Errors people can act on, CSV downloads of every list and report page, and the
completeness report on a page."""

from __future__ import annotations

import csv
import io

from tests.web.conftest import COORDINATOR, PATIENT, REVIEWER, Web, request_doc


def test_a_refusal_speaks_of_fields_not_command_line_options(web: Web) -> None:
    web.api(COORDINATOR).post("/api/v1/patients", json=PATIENT)
    cid = web.api(COORDINATOR).post("/api/v1/courses", json=request_doc()).json()["id"]
    page = f"/courses/{cid}"
    coordinator = web.browser(COORDINATOR)

    response = coordinator.post(f"{page}/infuse", {"date": "2026-10-01", "grams": "99"}, page=page)
    web.browser(REVIEWER).post(
        f"{page}/review", {"decision": "approve", "note": "ok", "override_reason": "x"}, page=page
    )
    response = coordinator.post(f"{page}/infuse", {"date": "2026-10-01", "grams": "99"}, page=page)

    assert response.status_code == 409
    assert "--override-reason" not in response.text
    assert "“Override reason” field" in response.text
    assert 'class="form-error" role="alert"' in response.text
    assert "infuse-grams-error" in response.text


def test_pages_load_the_script_that_focuses_errors_and_shows_htmx_refusals(web: Web) -> None:
    browser = web.browser(COORDINATOR)
    assert '<script src="/static/ivig.js" defer></script>' in browser.get("/").text
    script = browser.get("/static/ivig.js").text
    assert "htmx:beforeSwap" in script and "focus()" in script


def test_an_unknown_mrn_in_the_worklist_filter_is_said_beside_the_filter(web: Web) -> None:
    response = web.browser(COORDINATOR).get(
        "/", params={"mrn": "NOPE"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    page = response.text
    swapped = page[page.index('id="worklist-page"') :]
    assert "NOPE" in swapped and 'aria-invalid="true"' in swapped
    assert "Check the filters." in swapped


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_every_list_and_report_page_downloads_as_csv(web: Web) -> None:
    web.api(COORDINATOR).post("/api/v1/patients", json=PATIENT)
    browser = web.browser(COORDINATOR)
    for page, link in (
        ("/patients", "/patients.csv"),
        ("/", "/worklist.csv"),
        ("/reports/relapse", "/reports/relapse.csv"),
        ("/reports/completeness", "/reports/completeness.csv"),
        ("/courses", "/courses.csv"),
    ):
        html = browser.get(page)
        assert html.status_code == 200, page
        assert link in html.text and "Download CSV" in html.text, page
    patients = browser.get("/patients.csv")
    assert patients.headers["content-type"].startswith("text/csv")
    assert _csv(patients.text)[1][:2] == ["M1", PATIENT["name"]]
    assert _csv(browser.get("/worklist.csv").text)[0][0] == "followup_id"
    assert _csv(browser.get("/reports/relapse.csv").text)[1][0] == "all"
    assert "Outcome completeness" in browser.get("/reports/completeness").text
