"""Attacks on sessions and identity: cookies after sign-out, password guessing, weak
passwords, MRNs differing by case, ids out of range."""

from __future__ import annotations

from tests.cli.helpers import assert_refused
from tests.conftest import Ivig
from tests.factories import register
from tests.web.conftest import PASSWORD, REVIEWER, Web
from workflow.db import engine_for, transaction
from workflow.service import users


def test_a_saved_cookie_is_dead_after_sign_out_everywhere(web: Web) -> None:
    first, second = web.browser(REVIEWER), web.browser(REVIEWER)
    saved = dict(first.client.cookies)
    assert first.get("/").status_code == 200
    assert second.post("/signout", {}, page="/").status_code == 303
    # The other browser's session, and the saved cookie replayed, no longer open pages.
    assert first.get("/").status_code == 303
    replay = web.browser()
    replay.client.cookies.update(saved)
    assert replay.get("/").status_code == 303


def test_a_password_change_or_deactivation_ends_every_session(web: Web) -> None:
    browser = web.browser(REVIEWER)
    with transaction(engine_for(web.url)) as session:
        users.set_password(session=session, username=REVIEWER, password="a brand new passphrase")
    assert browser.get("/").status_code == 303
    browser = web.browser()
    signed = browser.post(
        "/signin",
        {"username": REVIEWER, "password": "a brand new passphrase", "next": "/"},
        page="/signin",
    )
    assert signed.status_code == 303
    with transaction(engine_for(web.url)) as session:
        users.set_active(session=session, username=REVIEWER, active=False)
    assert browser.get("/").status_code == 303


def test_guessing_passwords_locks_the_account_even_for_the_right_one(web: Web) -> None:
    browser = web.browser()
    for _ in range(users.ACCOUNT_FAILURES):
        wrong = browser.post(
            "/signin",
            {"username": REVIEWER, "password": "not the password!", "next": "/"},
            page="/signin",
        )
        assert wrong.status_code == 401
    right = browser.post(
        "/signin", {"username": REVIEWER, "password": PASSWORD, "next": "/"}, page="/signin"
    )
    assert right.status_code == 429
    web.clock.instant += users.FIRST_WAIT * 2
    again = browser.post(
        "/signin", {"username": REVIEWER, "password": PASSWORD, "next": "/"}, page="/signin"
    )
    assert again.status_code == 303


def test_weak_passwords_are_refused(ivig: Ivig) -> None:
    args = ("user", "add", "--username", "cole", "--full-name", "C", "--role", "reviewer")
    for weak in ("aaaaaaaaaaaaaaaaaa", "passwordpassword", "abcdefghijklmnop", "short"):
        result = ivig(*args, "--password-stdin", stdin=weak + "\n")
        assert result.code == 2 and "password:" in result.err, (weak, result.err)
    assert ivig(*args, "--password-stdin", stdin="violet kettle on a raft\n").code == 0


def test_mrns_differing_only_by_case_are_one_patient(ivig: Ivig) -> None:
    register(ivig, "P001")
    assert_refused(
        ivig,
        [
            "patient",
            "add",
            "--mrn",
            "p001",
            "--name",
            "X",
            "--birth-date",
            "1960-01-01",
            "--sex",
            "male",
            "--weight-kg",
            "80",
        ],
        code=1,
        names=["mrn"],
        mrns=(),
    )
    assert ivig.ok("patient", "show", "p001")["mrn"] == "P001"


def test_a_course_id_out_of_range_is_not_found(ivig: Ivig, web: Web) -> None:
    result = ivig("course", "show", str(2**70))
    assert result.code == 1 and "course" in result.err
    response = web.api(REVIEWER).get(f"/api/v1/courses/{2**70}")
    assert response.status_code == 404
