"""A request attributed to the wrong prescriber is corrected, never rewritten: the
recorded ``requested_by`` stays, one history row names both, and neither the recorded
nor the corrected prescriber may review the course (docs/corrections.md)."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from tests.cli.helpers import assert_refused
from tests.conftest import Ivig
from tests.factories import register, request, request_doc
from tests.web.conftest import ADMIN, COORDINATOR, PATIENT, REVIEWER, Web
from tests.web.conftest import request_doc as web_request_doc
from workflow.db import engine_for, transaction
from workflow.models import Course, Event, Reminder

API = "/api/v1"


def _correct(cid: int, to: str, *, by: str = "coordinator.kim", reason: str = "typo") -> list[str]:
    return [
        "course",
        "correct-requester",
        str(cid),
        "--to",
        to,
        "--reason",
        reason,
        "--actor",
        by,
    ]


def _review(cid: int, reviewer: str, decision: str = "approve") -> list[str]:
    return [
        "course",
        "review",
        str(cid),
        "--decision",
        decision,
        "--reviewer",
        reviewer,
        "--note",
        "seen",
    ]


def _stored(url: str, cid: int) -> tuple[str, int]:
    """The course's ``requested_by`` column and its number of history rows."""
    with transaction(engine_for(url)) as session:
        column = session.get_one(Course, cid).requested_by
        rows = session.scalar(select(func.count()).where(Event.course_id == cid))
    return column, int(rows or 0)


def test_a_correction_is_one_history_row_naming_both(ivig: Ivig, db_url: str) -> None:
    register(ivig, "M1")
    before = request(ivig, "M1")
    cid = before["id"]
    _, rows_before = _stored(db_url, cid)

    course = ivig.ok(*_correct(cid, "dr.real", reason="entered under the wrong name"))

    assert course["requested_by"] == "dr.requester"  # as recorded, never rewritten
    assert course["request"]["requested_by"] == "dr.requester"
    assert course["corrected_requested_by"] == "dr.real"
    [fix] = course["requester_corrections"]
    assert (fix["recorded"], fix["from"], fix["to"]) == ("dr.requester", "dr.requester", "dr.real")
    assert (fix["by"], fix["reason"]) == ("coordinator.kim", "entered under the wrong name")
    assert fix["at"].startswith("2026-11-20T15:00")
    last = course["history"][-1]
    assert (last["trigger"], last["actor"]) == ("correct_requester", "coordinator.kim")
    assert "dr.requester" in last["reason"] and "dr.real" in last["reason"]
    assert course["state"] == "requested" and course["version"] > before["version"]
    assert _stored(db_url, cid) == ("dr.requester", rows_before + 1)
    assert course["request_details"]["corrected_requested_by"] == "dr.real"

    text = ivig("course", "show", str(cid))
    assert text.code == 0
    assert "dr.real (corrected; recorded as dr.requester)" in text.out


def test_neither_the_recorded_nor_the_corrected_requester_may_review(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1")["id"]
    ivig.ok(*_correct(cid, "dr.real"))

    for who in ("dr.real", "DR.REAL", "dr.requester"):
        result = assert_refused(ivig, _review(cid, who), code=1, names=["reviewer"])
        assert str(cid) in result.err
    assert ivig.ok(*_review(cid, "dr.reviewer"))["state"] == "reviewed"


def test_a_review_opened_before_the_correction_is_refused(ivig: Ivig) -> None:
    register(ivig, "M1")
    seen = request(ivig, "M1")
    ivig.ok(*_correct(seen["id"], "dr.real"))
    stale = [*_review(seen["id"], "dr.reviewer"), "--version", str(seen["version"])]
    result = assert_refused(ivig, stale, code=1, names=["version"])
    assert "the request changed since you opened it" in result.err


def test_who_may_not_correct_and_to_whom(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1")["id"]
    # The corrected person does not attribute a request to themselves.
    assert (
        "themselves"
        in assert_refused(ivig, _correct(cid, "dr.real", by="dr.real"), code=1, names=["to"]).err
    )
    # The recorded requester does not move their own request to someone else.
    assert_refused(ivig, _correct(cid, "dr.real", by="dr.requester"), code=1, names=["actor"])
    # Nothing to correct: it is already theirs.
    assert_refused(ivig, _correct(cid, "Dr.Requester"), code=1, names=["to"])
    assert_refused(ivig, _correct(cid, "dr.real", reason=" "), code=2, names=["reason"])
    assert_refused(ivig, _correct(cid, "dr.\x1b[31mreal"), code=2, names=["to"])
    # Whoever already reviewed it (asked a question) cannot become its requester.
    ivig.ok(*_review(cid, "dr.reviewer", decision="info"))
    assert_refused(ivig, _correct(cid, "dr.reviewer"), code=1, names=["to"])
    # A corrected requester may not correct it again either.
    ivig.ok(*_correct(cid, "dr.real"))
    assert_refused(ivig, _correct(cid, "dr.other", by="dr.real"), code=1, names=["actor"])


def test_never_on_a_decided_course(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1")["id"]
    ivig.ok(*_review(cid, "dr.reviewer"))
    result = assert_refused(ivig, _correct(cid, "dr.real"), code=1, names=["requested"])
    assert "reviewed" in result.err


def test_amend_after_a_correction_keeps_the_recorded_requester(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1")["id"]
    ivig.ok(*_correct(cid, "dr.real"))
    for named in ("dr.real", "dr.requester"):
        doc = json.dumps(request_doc("M1", requested_by=named, days=4))
        amended = ivig.ok("course", "amend", str(cid), "--file", "-", stdin=doc)
        assert amended["requested_by"] == "dr.requester"
        assert amended["request"]["requested_by"] == "dr.requester"
        assert amended["corrected_requested_by"] == "dr.real"
    doc = json.dumps(request_doc("M1", requested_by="dr.nobody"))
    amend = ["course", "amend", str(cid), "--file", "-"]
    assert_refused(ivig, amend, code=1, names=["requested_by"], stdin=doc)


def test_the_corrected_requester_is_told_of_the_decision(ivig: Ivig, db_url: str) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1")["id"]
    ivig.ok(*_correct(cid, "dr.real"))
    ivig.ok(*_review(cid, "dr.reviewer", decision="info"))
    with transaction(engine_for(db_url)) as session:
        payloads = session.scalars(select(Reminder.payload).where(Reminder.course_id == cid)).all()
    assert [p["to"] for p in payloads if p.get("decision") == "info"] == ["dr.real"]


# --- the API and the pages ------------------------------------------------------------


def _requested(web: Web) -> int:
    assert web.api(COORDINATOR).post(f"{API}/patients", json=PATIENT).status_code == 201
    response = web.api(COORDINATOR).post(f"{API}/courses", json=web_request_doc("M1"))
    assert response.status_code == 201, response.text
    cid: int = response.json()["id"]
    return cid


def test_api_correction_and_its_separation_of_duties(web: Web) -> None:
    cid = _requested(web)  # requested by the coordinator
    url = f"{API}/courses/{cid}/correct-requester"
    body = {"to": REVIEWER, "reason": "the reviewer prescribed it"}
    # The recorded requester may not move their request; a reviewer's role may not correct.
    assert web.api(COORDINATOR).post(url, json=body).status_code == 403
    assert web.api(REVIEWER).post(url, json=body).status_code == 403
    done = web.api(ADMIN).post(url, json=body)
    assert done.status_code == 200, done.text
    course = done.json()
    assert (course["requested_by"], course["corrected_requested_by"]) == (COORDINATOR, REVIEWER)
    shown = web.api(REVIEWER).get(f"{API}/courses/{cid}").json()
    assert shown["requester_corrections"][0]["by"] == ADMIN
    review = web.api(REVIEWER).post(
        f"{API}/courses/{cid}/review", json={"decision": "approve", "note": "fine"}
    )
    assert review.status_code == 403
    assert "requester correction" in review.json()["detail"]
    assert web.api(ADMIN).post(url, json={**body, "unknown": 1}).status_code == 422


def test_page_correction_shows_both_requesters(web: Web) -> None:
    cid = _requested(web)
    admin = web.browser(ADMIN)
    page = f"/courses/{cid}"
    assert 'id="action-correct-requester"' in admin.get(page).text
    response = admin.post(
        f"{page}/correct-requester", {"to": "dr.real", "reason": "wrong name"}, page=page
    )
    assert response.status_code == 303, response.text
    text = admin.get(page).text
    assert "dr.real (corrected; recorded as coordinator.cole)" in text
    assert "wrong name" in text
    # The recorded requester is not offered the form (their role may, the rule may not:
    # the service refuses it with a sentence on the page).
    coordinator = web.browser(COORDINATOR)
    refused = coordinator.post(
        f"{page}/correct-requester", {"to": "dr.other", "reason": "x"}, page=page
    )
    assert refused.status_code == 403
    assert "someone else must correct it" in refused.text
