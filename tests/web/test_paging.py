"""Every API list takes limit and cursor and says the total; the pages say
"showing N of M" with next and previous; the worklist names patients and says how
long each request has waited."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import insert, select

from tests.web.conftest import ADMIN, COORDINATOR, PATIENT, REVIEWER, Web, request_doc
from workflow.db import engine_for, transaction
from workflow.models import AccessLog, FollowUp, Patient


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


# --- every list on the pages ------------------------------------------------------------


def _pager(html: str, noun: str) -> tuple[str, dict[str, str]]:
    """A list's "showing N of M" and its previous/next links (rel -> href) on a page."""
    nav = re.search(rf'<nav class="pager" aria-label="Pages of {noun}">(.*?)</nav>', html, re.S)
    assert nav, f"no pager for {noun}"
    count = re.search(r'<p class="count">(.*?)</p>', nav.group(1))
    assert count
    links = re.findall(r'<a href="([^"]+)" rel="(\w+)"', nav.group(1))
    return count.group(1), {rel: unescape(href) for href, rel in links}


def _followups(web: Web, mrn: str, kind: str, count: int) -> None:
    """``count`` open follow-ups of ``kind`` on the patient's course, due a day apart
    from 2026-01-01 (all overdue on the test's day, 2026-11-20)."""
    api = web.api(COORDINATOR)
    course = api.post("/api/v1/courses", json=request_doc(mrn)).json()["id"]
    with engine_for(web.url).begin() as conn:
        patient_id = conn.scalar(select(Patient.id).where(Patient.mrn == mrn))
        rows = [
            {
                "patient_id": patient_id,
                "course_id": course,
                "kind": kind,
                "due_date": date(2026, 1, 1) + timedelta(days=n),
                "status": "scheduled",
                "created_at": datetime(2026, 1, 1, tzinfo=UTC),
            }
            for n in range(count)
        ]
        conn.execute(insert(FollowUp), rows)


@pytest.fixture
def twenty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lists on the pages show 20 rows at a time."""
    monkeypatch.setattr("workflow.web.paging.ROWS_PER_PAGE", 20)


def test_the_worklist_pages_its_follow_ups_keeping_the_filters(web: Web, twenty: None) -> None:
    _patients(web, 2)
    _followups(web, "P00", "reassess_2w", 45)
    _followups(web, "P01", "reassess_1m", 3)  # filtered out by kind
    browser = web.browser(COORDINATOR)
    filters = {"kind": "reassess_2w", "due_by": "2026-11-20", "mrn": ""}

    first = browser.get("/", params=filters)
    count, links = _pager(first.text, "follow-ups due")
    assert count == "showing 1-20 of 45"
    assert "prev" not in links
    assert "2026-01-01" in first.text and "2026-01-21" not in first.text

    second = browser.get(links["next"])
    count, links = _pager(second.text, "follow-ups due")
    assert count == "showing 21-40 of 45"
    assert "2026-01-21" in second.text and "2026-01-01" not in second.text
    assert "kind=reassess_2w" in links["next"] and "due_by=2026-11-20" in links["next"]
    assert '<option value="reassess_2w" selected>' in second.text  # the filter stays set

    last = browser.get(links["next"])
    count, links = _pager(last.text, "follow-ups due")
    assert count == "showing 41-45 of 45"
    assert "next" not in links
    count, links = _pager(browser.get(links["prev"]).text, "follow-ups due")
    assert count == "showing 21-40 of 45"
    assert links["prev"] == "/?kind=reassess_2w&due_by=2026-11-20&mrn="  # the first page

    # Each page, with its filters and place, is in the access log.
    with transaction(engine_for(web.url)) as session:
        logged = session.scalars(select(AccessLog.what).order_by(AccessLog.id)).all()
    paged = [w for w in logged if w.startswith("page GET /?") and "followups_cursor=" in w]
    assert len(paged) == 3 and all("kind=reassess_2w" in w for w in paged)


def test_each_worklist_list_pages_on_its_own(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("workflow.web.paging.ROWS_PER_PAGE", 2)
    _patients(web, 3)
    api = web.api(COORDINATOR)
    for n in range(3):
        api.post("/api/v1/courses", json=request_doc(f"P{n:02d}", requested_on="2026-11-10"))
    browser = web.browser(REVIEWER)

    count, links = _pager(browser.get("/").text, "pending reviews")
    assert count == "showing 1-2 of 3"
    second = browser.get(links["next"]).text
    count, links = _pager(second, "pending reviews")
    assert count == "showing 3-3 of 3" and links["prev"] == "/"
    assert "8 working days (past the deadline)" in second  # the waiting time on every page


def test_a_patients_lists_page_on_their_record(web: Web, twenty: None) -> None:
    _patients(web, 1)
    _followups(web, "P00", "reassess_2w", 25)
    browser = web.browser(COORDINATOR)

    text = browser.get("/patients/P00").text
    count, links = _pager(text, "follow-ups")
    assert count == "showing 1-20 of 25"
    assert links["next"].startswith("/patients/P00?followups_cursor=")
    assert _pager(text, "courses")[0] == "showing 1-1 of 1"
    assert _pager(browser.get(links["next"]).text, "follow-ups")[0] == "showing 21-25 of 25"


def test_a_cursor_the_page_never_gave_is_refused_naming_it(web: Web) -> None:
    response = web.browser(COORDINATOR).get("/", params={"reviews_cursor": "zzz"})
    assert response.status_code == 422
    assert "reviews_cursor" in response.text


def test_the_users_page_pages_the_accounts(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("workflow.web.paging.ROWS_PER_PAGE", 2)
    browser = web.browser(ADMIN)

    count, links = _pager(browser.get("/users").text, "accounts")
    assert count == "showing 1-2 of 3"
    second = browser.get(links["next"]).text
    assert _pager(second, "accounts")[0] == "showing 3-3 of 3"
    assert REVIEWER in second  # dr.reviewer sorts last
    # A token shown once answers the POST: the list's links still go to the users page.
    shown = browser.post(f"/users/{REVIEWER}/token", {}, page="/users").text
    assert _pager(shown, "accounts")[1]["next"].startswith("/users?cursor=")


def test_a_lots_recipients_page_and_download_whole(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("workflow.web.paging.ROWS_PER_PAGE", 2)
    _patients(web, 1)
    api = web.api(COORDINATOR)
    course = api.post("/api/v1/courses", json=request_doc("P00", requested_on="2026-09-20"))
    cid = course.json()["id"]
    decision = {"decision": "approve", "note": "ok", "override_reason": "r", "date": "2026-09-25"}
    assert web.api(REVIEWER).post(f"/api/v1/courses/{cid}/review", json=decision).status_code == 200
    for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
        body = {"date": day, "grams": 32.8, "lot": "LOT-9"}
        assert api.post(f"/api/v1/courses/{cid}/infusions", json=body).status_code == 200
    browser = web.browser(COORDINATOR)

    first = browser.get("/reports/safety", params={"lot": "lot-9", "as_of": "2026-11-20"})
    count, links = _pager(first.text, "recipients")
    assert count == "showing 1-2 of 3"
    assert "Lot lot-9: 3 infusion days" in first.text
    second = browser.get(links["next"])
    assert _pager(second.text, "recipients")[0] == "showing 3-3 of 3"
    assert "2026-10-03" in second.text and "as_of=2026-11-20" in links["next"]

    download = browser.get("/reports/lot.csv", params={"lot": "lot-9"})
    assert download.status_code == 200
    assert len(download.text.strip().splitlines()) == 1 + 3  # the header and every day
    with transaction(engine_for(web.url)) as session:
        logged = session.scalars(select(AccessLog.what).where(AccessLog.course_id == cid)).all()
    assert "download lot.csv" in logged
    assert any(w.startswith("page GET /reports/safety?lot=lot-9") for w in logged)


def test_the_completeness_page_pages_the_missing_reassessments(web: Web, twenty: None) -> None:
    _patients(web, 1)
    _followups(web, "P00", "reassess_2w", 25)
    browser = web.browser(COORDINATOR)

    first = browser.get("/reports/completeness", params={"as_of": "2026-11-20"})
    count, links = _pager(first.text, "missing reassessments")
    assert count == "showing 1-20 of 25"
    assert "as_of=2026-11-20" in links["next"]
    assert _pager(browser.get(links["next"]).text, "missing reassessments")[0] == (
        "showing 21-25 of 25"
    )
    download = browser.get("/reports/completeness.csv", params={"as_of": "2026-11-20"})
    assert len(download.text.strip().splitlines()) == 1 + 25


def test_every_api_list_pages_and_says_its_total(web: Web) -> None:
    """Patients' measurements and record history, and the users, page like the others."""
    _patients(web, 1)
    api = web.api(COORDINATOR)
    for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
        measured = api.post("/api/v1/patients/P00/measurements", json={"date": day, "hba1c": 7})
        assert measured.status_code == 201, measured.text
    for weight in (80, 79):
        body = {"weight_kg": weight, "reason": "re-weighed"}
        assert api.post("/api/v1/patients/P00/update", json=body).status_code == 200

    for path, total in (
        ("/api/v1/patients/P00/measurements", 3),
        ("/api/v1/patients/P00/history", 6),  # registered, measured thrice, corrected twice
        ("/api/v1/users", 3),
    ):
        client = web.api(ADMIN) if path.endswith("users") else api
        first = client.get(path, params={"limit": 2})
        assert first.status_code == 200, first.text
        assert len(first.json()) == 2 and first.headers["X-Total-Count"] == str(total), path
        seen, page = list(first.json()), first
        while "X-Next-Cursor" in page.headers:  # the Link header's next page, to the end
            page = client.get(page.headers["Link"].split(";")[0].strip("<>"))
            seen += page.json()
        assert seen == client.get(path, params={"limit": 500}).json(), path  # each row once
        assert len(seen) == total, path
        assert client.get(path, params={"cursor": "zzz"}).status_code == 422

    newest = api.get("/api/v1/patients/P00/measurements", params={"limit": 1}).json()
    assert newest[0]["date"] == "2026-10-03"  # newest first, as before


def test_a_cursor_past_any_list_is_refused_not_a_server_error(web: Web) -> None:
    from workflow.paging import encode

    far = encode(10**25)  # well formed, but past what a database can skip
    assert web.api(COORDINATOR).get("/api/v1/courses", params={"cursor": far}).status_code == 422
    assert web.browser(COORDINATOR).get("/patients", params={"cursor": far}).status_code == 422


def test_a_refused_form_keeps_the_records_lists_linked_to_the_record(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("workflow.web.paging.ROWS_PER_PAGE", 1)
    _patients(web, 1)
    for day in ("2026-10-01", "2026-10-02"):
        body = {"date": day, "hba1c": 7}
        assert web.api(COORDINATOR).post("/api/v1/patients/P00/measurements", json=body)
    browser = web.browser(COORDINATOR)
    refused = browser.post(
        "/patients/P00/measurements", {"date": "2026-10-03", "hba1c": "99"}, page="/patients/P00"
    )
    assert refused.status_code == 422
    count, links = _pager(refused.text, "measurements")
    assert count == "showing 1-1 of 2"
    assert links["next"].startswith("/patients/P00?measurements_cursor=")


def test_the_courses_page_pages_every_course_keeping_the_filters(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("workflow.web.paging.ROWS_PER_PAGE", 2)
    _patients(web, 5)
    api = web.api(COORDINATOR)
    for n in range(5):
        api.post("/api/v1/courses", json=request_doc(f"P{n:02d}", requested_on="2026-11-10"))
    api.post("/api/v1/courses/5/cancel", json={"reason": "entered twice"})
    browser = web.browser(COORDINATOR)

    everything = browser.get("/courses").text
    assert _pager(everything, "courses")[0] == "showing 1-2 of 5"
    assert "(P04)" in everything and "(P00)" not in everything  # newest first
    first = browser.get("/courses", params={"state": "requested"})
    count, links = _pager(first.text, "courses")
    assert count == "showing 1-2 of 4"
    assert "2026-11-10" in first.text  # the clinical request date
    second = browser.get(links["next"])
    assert _pager(second.text, "courses")[0] == "showing 3-4 of 4"
    assert '<option value="requested" selected>' in second.text

    download = browser.get("/courses.csv", params={"state": "requested"})
    assert len(download.text.strip().splitlines()) == 1 + 4
    refused = browser.get("/courses", params={"mrn": "NOPE"})
    assert refused.status_code == 422 and "NOPE" in refused.text
    with transaction(engine_for(web.url)) as session:
        logged = session.scalars(select(AccessLog.what).order_by(AccessLog.id)).all()
    assert "page GET /courses?state=requested" in logged
    assert "download courses.csv?state=requested" in logged


def test_approvals_lapsing_soon_page_and_filter_by_patient(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("workflow.web.paging.ROWS_PER_PAGE", 2)
    _patients(web, 3)
    decision = {"decision": "approve", "note": "ok", "override_reason": "r", "date": "2026-08-25"}
    for n in range(3):
        doc = request_doc(f"P{n:02d}", requested_on="2026-08-25")
        cid = web.api(COORDINATOR).post("/api/v1/courses", json=doc).json()["id"]
        approved = web.api(REVIEWER).post(f"/api/v1/courses/{cid}/review", json=decision)
        assert approved.status_code == 200, approved.text
    browser = web.browser(COORDINATOR)

    count, links = _pager(browser.get("/").text, "approvals lapsing soon")
    assert count == "showing 1-2 of 3"
    last = browser.get(links["next"]).text
    assert _pager(last, "approvals lapsing soon")[0] == "showing 3-3 of 3"
    assert f"{PATIENT['name']} (P02)" in last
    one = browser.get("/", params={"mrn": "p01"}).text  # any case
    assert _pager(one, "approvals lapsing soon")[0] == "showing 1-1 of 1"
