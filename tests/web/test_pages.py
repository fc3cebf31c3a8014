"""Server-rendered pages: sign-in, CSRF, forms that keep what was typed, the access log."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.web.conftest import ADMIN, COORDINATOR, PASSWORD, PATIENT, REVIEWER, Web, request_doc
from workflow.db import engine_for, transaction
from workflow.models import AccessLog, Patient


def _count(web: Web, model: type) -> int:
    with transaction(engine_for(web.url)) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _new_patient(web: Web) -> None:
    response = web.api(COORDINATOR).post("/api/v1/patients", json=PATIENT)
    assert response.status_code == 201


def test_anonymous_pages_redirect_to_sign_in(web: Web) -> None:
    response = web.browser().get("/courses/1?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/courses/1%3Fx%3D1"


def test_sign_in_sets_a_httponly_samesite_lax_cookie(web: Web) -> None:
    browser = web.browser()
    response = browser.post(
        "/signin", {"username": COORDINATOR, "password": PASSWORD, "next": "/"}, page="/signin"
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    worklist = browser.get("/")
    assert worklist.status_code == 200
    assert "Worklist" in worklist.text and "coordinator" in worklist.text


def test_wrong_password_keeps_the_username_and_says_so(web: Web) -> None:
    browser = web.browser()
    response = browser.post(
        "/signin", {"username": REVIEWER, "password": "wrong password"}, page="/signin"
    )
    assert response.status_code == 401
    assert "is not right" in response.text
    assert f'value="{REVIEWER}"' in response.text


def test_sign_in_never_redirects_off_site(web: Web) -> None:
    browser = web.browser()
    response = browser.post(
        "/signin",
        {"username": REVIEWER, "password": PASSWORD, "next": "//evil.example/x"},
        page="/signin",
    )
    assert response.headers["location"] == "/"


def test_a_form_post_without_its_csrf_token_is_refused(web: Web) -> None:
    browser = web.browser(COORDINATOR)
    fields = {k: str(v) for k, v in PATIENT.items()}
    response = browser.client.post("/patients", data=fields)
    assert response.status_code == 403
    assert "csrf_token" in response.text
    response = browser.client.post("/patients", data={**fields, "csrf_token": "forged"})
    assert response.status_code == 403
    assert _count(web, Patient) == 0
    response = browser.post("/patients", fields, page="/patients/new")
    assert response.status_code == 303
    assert _count(web, Patient) == 1


def test_sign_in_itself_needs_the_csrf_token(web: Web) -> None:
    client = web.browser().client
    response = client.post("/signin", data={"username": COORDINATOR, "password": PASSWORD})
    assert response.status_code == 403


def test_a_refused_form_shows_the_error_beside_the_field_and_keeps_the_input(web: Web) -> None:
    browser = web.browser(COORDINATOR)
    fields = {k: str(v) for k, v in PATIENT.items()} | {"weight_kg": "-3", "name": "Ann Typed"}
    response = browser.post("/patients", fields, page="/patients/new")
    assert response.status_code == 422
    html = response.text
    assert 'id="f-weight_kg-error"' in html
    assert 'aria-invalid="true"' in html
    assert 'value="Ann Typed"' in html and 'value="-3"' in html
    assert _count(web, Patient) == 0


def test_a_service_refusal_lands_beside_its_field(web: Web) -> None:
    _new_patient(web)
    browser = web.browser(COORDINATOR)
    fields = {k: str(v) for k, v in PATIENT.items()}
    response = browser.post("/patients", fields, page="/patients/new")
    assert response.status_code == 409
    assert "f-mrn-error" in response.text
    assert "already registered" in response.text


def test_request_form_records_a_course_requested_by_the_signed_in_user(web: Web) -> None:
    _new_patient(web)
    browser = web.browser(COORDINATOR)
    form = {
        "mrn": "M1",
        "indication": "dlrpn",
        "severity_grade": "3",
        "product": "Octagam 10%",
        "dose_g_per_kg_per_day": "0.4",
        "days": "5",
        "weight_kg": "82",
        "baseline_vas": "8",
        "baseline_mrc_sum": "48",
        "baseline_walking_distance_m": "150",
        "steroids_trial": "no_response",
        "medication_1_name": "pregabalin",
        "medication_1_mg_per_day": "300",
        "medication_2_name": "Cymbalta",
        "medication_2_mg_per_day": "60",
        "creatinine_clearance_ml_min": "90",
        "creatinine_clearance_date": "2026-11-01",
        "hepatic_disease": "no",
        "hba1c_percent": "6.8",
    }
    response = browser.post("/courses", form, page="/courses/new?mrn=M1")
    assert response.status_code == 303, response.text
    course = web.api(COORDINATOR).get("/api/v1" + response.headers["location"]).json()
    assert course["requested_by"] == COORDINATOR
    assert course["state"] == "requested"
    assert course["request"]["medications"] == [
        {"name": "pregabalin", "mg_per_day": 300},
        {"name": "Cymbalta", "mg_per_day": 60},
    ]
    assert course["request"]["creatinine_clearance_date"] == "2026-11-01"
    page = browser.get(response.headers["location"]).text
    assert "Course 1 requested" in page


def test_a_dose_typed_as_words_is_refused_beside_its_field(web: Web) -> None:
    _new_patient(web)
    browser = web.browser(COORDINATOR)
    form = {
        "mrn": "M1",
        "indication": "dlrpn",
        "severity_grade": "3",
        "product": "Octagam 10%",
        "dose_g_per_kg_per_day": "0.4",
        "days": "5",
        "weight_kg": "82",
        "baseline_vas": "8",
        "medication_1_name": "duloxetine",
        "medication_1_mg_per_day": "sixty",
    }
    response = browser.post("/courses", form, page="/courses/new?mrn=M1")
    assert response.status_code == 422
    assert "f-medication_1_mg_per_day-error" in response.text


def test_request_form_errors_name_nested_fields(web: Web) -> None:
    _new_patient(web)
    browser = web.browser(COORDINATOR)
    form = {"mrn": "M1", "indication": "dlrpn", "baseline_vas": "12", "days": "5"}
    response = browser.post("/courses", form, page="/courses/new")
    assert response.status_code == 422
    html = response.text
    assert "f-baseline_vas-error" in html
    assert "f-product-error" in html and "is required" in html
    assert 'value="12"' in html


def test_course_page_offers_only_what_state_and_role_allow(web: Web) -> None:
    _new_patient(web)
    cid = web.api(COORDINATOR).post("/api/v1/courses", json=request_doc()).json()["id"]
    reviewer = web.browser(REVIEWER).get(f"/courses/{cid}").text
    assert 'id="action-review"' in reviewer
    assert 'id="action-infuse"' not in reviewer and 'id="action-cancel"' not in reviewer
    coordinator = web.browser(COORDINATOR).get(f"/courses/{cid}").text
    assert 'id="action-review"' not in coordinator
    assert 'id="action-cancel"' in coordinator and 'id="action-infuse"' not in coordinator
    assert "Supported" in coordinator or "Needs information" in coordinator


def test_review_then_infusion_through_the_pages(web: Web) -> None:
    _new_patient(web)
    cid = web.api(COORDINATOR).post("/api/v1/courses", json=request_doc()).json()["id"]
    page = f"/courses/{cid}"
    reviewer = web.browser(REVIEWER)
    response = reviewer.post(
        f"{page}/review",
        {
            "decision": "approve",
            "note": "meets the guidance",
            "override_reason": "reviewed",
            "date": "2026-09-25",  # the request's date: before the infusions
        },
        page=page,
    )
    assert response.status_code == 303, response.text
    coordinator = web.browser(COORDINATOR)
    response = coordinator.post(f"{page}/infuse", {"date": "2026-10-01", "grams": "99"}, page=page)
    assert response.status_code == 409
    assert "infuse-grams-error" in response.text and 'value="99"' in response.text
    response = coordinator.post(
        f"{page}/infuse", {"date": "2026-10-01", "grams": "32.8"}, page=page
    )
    assert response.status_code == 303
    assert web.api(COORDINATOR).get(f"/api/v1{page}").json()["state"] == "infusing"


def test_a_coordinator_posting_a_review_is_refused(web: Web) -> None:
    _new_patient(web)
    cid = web.api(COORDINATOR).post("/api/v1/courses", json=request_doc()).json()["id"]
    response = web.browser(COORDINATOR).post(
        f"/courses/{cid}/review", {"decision": "approve", "note": "x"}, page=f"/courses/{cid}"
    )
    assert response.status_code == 403
    assert "may not review courses" in response.text


def test_patient_and_course_pages_are_written_to_the_access_log(web: Web) -> None:
    _new_patient(web)
    cid = web.api(COORDINATOR).post("/api/v1/courses", json=request_doc()).json()["id"]
    browser = web.browser(REVIEWER)
    before = _count(web, AccessLog)
    browser.get("/patients/M1")
    browser.get(f"/courses/{cid}")
    with transaction(engine_for(web.url)) as session:
        rows = session.scalars(select(AccessLog).order_by(AccessLog.id)).all()[before:]
        assert [(r.actor, r.what, r.course_id) for r in rows] == [
            (REVIEWER, "page patient", None),
            (REVIEWER, "page course", cid),
        ]


def test_missing_things_are_404_pages(web: Web) -> None:
    browser = web.browser(COORDINATOR)
    response = browser.get("/courses/999")
    assert response.status_code == 404
    assert "there is no course 999" in response.text
    assert browser.get("/no/such/page").status_code == 404


def test_admin_users_page_issues_a_token_once(web: Web) -> None:
    browser = web.browser(ADMIN)
    response = browser.post(f"/users/{REVIEWER}/token", {}, page="/users")
    assert response.status_code == 200
    assert "shown only this once" in response.text
    assert web.browser(COORDINATOR).get("/users").status_code == 403


@pytest.mark.slow
def test_pages_carry_security_headers_and_load_nothing_from_elsewhere(web: Web) -> None:
    response = web.browser(COORDINATOR).get("/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert "http://" not in response.text and "https://" not in response.text
    assert web.browser().get("/static/htmx.min.js").status_code == 200


def test_htmx_is_configured_to_write_no_inline_style(web: Web) -> None:
    """The CSP blocks inline style: htmx adds no indicator <style> and copies no style
    attribute while a swap settles (the browser test watches the console for it)."""
    html = web.browser(COORDINATOR).get("/").text
    found = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html)
    assert found is not None
    config = json.loads(found.group(1))
    assert config["includeIndicatorStyles"] is False
    assert "style" not in config["attributesToSettle"]


def test_worklist_lists_pending_reviews_and_follow_ups_due(web: Web) -> None:
    _new_patient(web)
    cid = web.api(COORDINATOR).post("/api/v1/courses", json=request_doc()).json()["id"]
    html = web.browser(REVIEWER).get("/").text
    assert f'href="/courses/{cid}"' in html
    assert "No follow-up is due" in html
    filtered = web.browser(REVIEWER).get("/", params={"mrn": "NOPE"})
    assert filtered.status_code == 422
    assert "no patient is registered with MRN NOPE" in filtered.text


def test_amend_form_is_filled_from_the_stored_request(web: Web) -> None:
    _new_patient(web)
    api = web.api(COORDINATOR)
    cid = api.post("/api/v1/courses", json=request_doc()).json()["id"]
    web.api(REVIEWER).post(
        f"/api/v1/courses/{cid}/review", json={"decision": "info", "note": "which steroid?"}
    )
    browser = web.browser(COORDINATOR)
    form_page = browser.get(f"/courses/{cid}/amend").text
    assert 'value="Octagam 10%"' in form_page
    assert 'value="pregabalin"' in form_page and 'value="300"' in form_page
    fields = {
        "mrn": "M1",
        "indication": "dlrpn",
        "severity_grade": "3",
        "product": "Privigen 10%",
        "dose_g_per_kg_per_day": "0.4",
        "days": "5",
        "weight_kg": "82",
        "baseline_vas": "8",
        "note": "prednisolone, no response",
    }
    response = browser.post(f"/courses/{cid}/amend", fields, page=f"/courses/{cid}/amend")
    assert response.status_code == 303, response.text
    course = api.get(f"/api/v1/courses/{cid}").json()
    assert course["product"] == "Privigen 10%" and course["awaiting_information"] is None


def test_relapse_report_page_shows_figures_and_plot(web: Web) -> None:
    browser = web.browser(REVIEWER)
    response = browser.get("/reports/relapse", params={"as_of": "2026-11-20"})
    assert response.status_code == 200
    if "not available" in response.text:
        return  # workflow.reports is not installed here
    assert "Courses that reached monitoring" in response.text
    plot = browser.get("/reports/relapse.png", params={"as_of": "2026-11-20"})
    assert plot.status_code == 200 and plot.headers["content-type"] == "image/png"
    assert plot.content.startswith(b"\x89PNG")


@pytest.mark.slow
def test_worklist_shows_a_bounded_page_of_follow_ups_with_their_total(web: Web) -> None:
    """A programme has thousands of open follow-ups: the page shows the soonest due
    and says how many there are, rather than loading them all."""
    from datetime import UTC, date, datetime, timedelta

    from sqlalchemy import insert, select

    from workflow.db import engine_for
    from workflow.models import FollowUp, Patient
    from workflow.web.paging import ROWS_PER_PAGE as PAGE_SIZE

    _new_patient(web)
    course_id = web.api(COORDINATOR).post("/api/v1/courses", json=request_doc()).json()["id"]
    engine = engine_for(web.url)
    with engine.begin() as conn:
        patient_id = conn.scalar(select(Patient.id))
        conn.execute(
            insert(FollowUp),
            [
                {
                    "patient_id": patient_id,
                    "course_id": course_id,
                    "kind": "reassess_2w",
                    "due_date": date(2026, 1, 1) + timedelta(days=n),
                    "status": "scheduled",
                    "created_at": datetime(2026, 1, 1, tzinfo=UTC),
                }
                for n in range(PAGE_SIZE + 30)
            ],
        )
    html = web.browser(REVIEWER).get("/").text
    assert f"({PAGE_SIZE + 30})" in html
    assert f"showing 1-{PAGE_SIZE} of {PAGE_SIZE + 30}" in html
    assert "2026-01-01" in html  # the most overdue is on the page
    last = (date(2026, 1, 1) + timedelta(days=PAGE_SIZE + 29)).isoformat()
    assert last not in html  # the latest due is not


def test_course_page_and_review_form_show_the_whole_request(web: Web) -> None:
    _new_patient(web)
    doc = {
        **request_doc(),
        "medications": [
            {"name": "Lyrica", "mg_per_day": 150},
            {"name": "dulxetine"},
            {"name": "xyzzy"},
        ],
        "steroids": {"trial": "no_response", "intolerance": ["Solu-Medrol"]},
        "creatinine_clearance_ml_min": 25,
        "creatinine_clearance_date": "2026-11-01",
        "hepatic_disease": True,
        "thromboembolic_risk_factors": ["hyperlipidemia"],
        "hba1c_percent": 8.1,
        "hba1c_date": "2026-10-01",
    }
    cid = web.api(COORDINATOR).post("/api/v1/courses", json=doc).json()["id"]
    page = " ".join(web.browser(REVIEWER).get(f"/courses/{cid}").text.split())
    for expected in (
        "The request",
        "Lyrica 150 mg/day",
        "Lyrica (pregabalin)",
        "dulxetine <strong>not recognised</strong>",
        "(read as duloxetine: check the spelling)",
        "xyzzy <strong>not recognised</strong>",
        "Solu-Medrol",
        "25 mL/min (of 2026-11-01",
        "8.1 % (of 2026-10-01",
        "hyperlipidemia",
        "registered weight",
        "entered by",
    ):
        assert expected in page, expected
    assert 'id="action-review"' in page


def test_patient_page_updates_the_record_through_the_catalogue_form(web: Web) -> None:
    _new_patient(web)
    browser = web.browser(COORDINATOR)
    page = browser.get("/patients/M1").text
    assert 'id="action-update"' in page
    response = browser.post(
        "/patients/M1/update", {"weight_kg": "-3", "reason": "x"}, page="/patients/M1"
    )
    assert response.status_code == 422
    assert 'id="update-weight_kg-error"' in response.text
    response = browser.post(
        "/patients/M1/update", {"weight_kg": "80", "reason": "re-weighed"}, page="/patients/M1"
    )
    assert response.status_code == 303
    shown = web.api(COORDINATOR).get("/api/v1/patients/M1").json()
    assert shown["weight_kg"] == 80
    assert 'id="action-update"' not in web.browser(REVIEWER).get("/patients/M1").text


def test_the_safety_page_shows_events_and_a_lot(web: Web) -> None:
    _new_patient(web)
    api = web.api(COORDINATOR)
    cid = api.post("/api/v1/courses", json=request_doc()).json()["id"]
    reviewed = web.api(REVIEWER).post(
        f"/api/v1/courses/{cid}/review",
        json={"decision": "approve", "note": "ok", "override_reason": "r", "date": "2026-09-25"},
    )
    assert reviewed.status_code == 200, reviewed.text
    infused = api.post(
        f"/api/v1/courses/{cid}/infusions",
        json={"date": "2026-10-01", "grams": 32.8, "lot": "LOT-9"},
    )
    assert infused.status_code == 200, infused.text
    response = web.browser(COORDINATOR).post(
        f"/courses/{cid}/adverse-event",
        {"date": "2026-10-01", "kind": "headache", "grade": "2"},
        page=f"/courses/{cid}",
    )
    assert response.status_code == 303, response.text
    page = web.browser(COORDINATOR).get("/reports/safety?lot=lot-9")
    assert page.status_code == 200, page.text
    assert "<h1>Safety report</h1>" in page.text, page.text[-3000:]
    assert "headache" in page.text, page.text[page.text.find("<h1>") :]
    assert "Lot lot-9: 1 infusion days" in page.text and f"/courses/{cid}" in page.text


def test_a_serious_adverse_event_is_sent_at_once_from_the_api_and_the_page(
    web: Web, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = tmp_path / "channel.jsonl"
    monkeypatch.setenv("IVIG_NOTIFY", f"file://{channel}")
    _new_patient(web)
    api = web.api(COORDINATOR)
    cid = api.post("/api/v1/courses", json=request_doc()).json()["id"]
    web.api(REVIEWER).post(
        f"/api/v1/courses/{cid}/review",
        json={"decision": "approve", "note": "ok", "override_reason": "r", "date": "2026-09-25"},
    )
    api.post(f"/api/v1/courses/{cid}/infusions", json={"date": "2026-10-01", "grams": 32.8})

    def sent() -> list[dict[str, object]]:
        lines = channel.read_text().splitlines() if channel.exists() else []
        return [r for r in map(json.loads, lines) if r["reminder"] == "adverse_event"]

    event = {"date": "2026-10-01", "kind": "headache", "grade": 2}
    assert api.post(f"/api/v1/courses/{cid}/adverse-events", json=event).status_code == 200
    assert sent() == []  # below the policy's grade: not messaged
    event = {"date": "2026-10-01", "kind": "thrombosis", "grade": 3}
    assert api.post(f"/api/v1/courses/{cid}/adverse-events", json=event).status_code == 200
    assert [(r["kind"], r["grade"]) for r in sent()] == [("thrombosis", 3)]  # no scheduler ran
    response = web.browser(COORDINATOR).post(
        f"/courses/{cid}/adverse-event",
        {"date": "2026-10-01", "kind": "aseptic_meningitis", "grade": "4"},
        page=f"/courses/{cid}",
    )
    assert response.status_code == 303, response.text
    assert [r["kind"] for r in sent()] == ["thrombosis", "aseptic_meningitis"]


def test_the_worklist_shows_approvals_lapsing_within_two_weeks(web: Web) -> None:
    _new_patient(web)
    doc = request_doc(requested_on="2026-08-25")
    cid = web.api(COORDINATOR).post("/api/v1/courses", json=doc).json()["id"]
    reviewed = web.api(REVIEWER).post(
        f"/api/v1/courses/{cid}/review",
        json={"decision": "approve", "note": "ok", "override_reason": "r", "date": "2026-08-25"},
    )
    assert reviewed.status_code == 200, reviewed.text
    worklist = web.browser(COORDINATOR).get("/").text
    assert "Approvals lapsing soon" in worklist and "(1)" in worklist
    assert "2026-11-23" in worklist  # valid through: 90 days after the approval
    assert f"{PATIENT['name']} (M1)" in worklist.split('id="h-lapsing"')[1].split("</section>")[0]
