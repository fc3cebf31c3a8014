"""End to end: an enrolled patient's follow-up is raised, the invitation e-mail reaches
a real SMTP server (aiosmtpd), its link is opened in Chromium on a phone-sized screen,
the form is answered, and the answer is in ``course show --json`` as the patient's."""

from __future__ import annotations

import email
import re
from typing import Any

import pytest

from tests.conftest import Ivig
from tests.factories import course_in
from tests.schedules.servers import smtp_server
from tests.web.conftest import Web
from tests.web.test_browser import CHROMIUM, SHOTS, browser, live  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no browser: /usr/bin/chromium is not installed"
    ),
]


def enrol(ivig: Ivig) -> None:
    from tests.web.selfreport_helpers import enrol_by_email

    enrol_by_email(ivig, "M1", "pat@example.org")


def test_patient_answers_from_the_e_mail_link_in_a_phone_browser(
    live: str,  # noqa: F811
    browser: Any,  # noqa: F811
    ivig: Ivig,
) -> None:
    from playwright.sync_api import expect

    cid = course_in(ivig, "monitoring")
    enrol(ivig)
    with smtp_server() as (box, port):
        ivig.monkeypatch.setenv("IVIG_PATIENT_SMTP", f"smtp://127.0.0.1:{port}")
        ivig.monkeypatch.setenv("IVIG_PATIENT_FROM", "clinic@example.org")
        ivig.monkeypatch.setenv("IVIG_PUBLIC_BASE_URL", live)
        ivig.ok("followups", "raise")  # raises and delivers
    bodies = [
        email.message_from_bytes(m).get_payload(decode=True).decode()  # type: ignore[union-attr]
        for m in box.messages
    ]
    assert len(bodies) == 2 and box.recipients[0] == ["pat@example.org"]
    links = [re.search(re.escape(live) + r"/r/[A-Za-z0-9_-]+", b) for b in bodies]
    assert all(links)
    plan = {f["id"]: f["kind"] for f in ivig.ok("course", "show", str(cid))["followups"]}
    two_weeks = next(fid for fid, kind in plan.items() if kind == "reassess_2w")
    # The e-mails go out in raising order: the two-week follow-up is due first.
    link = links[0].group(0)  # type: ignore[union-attr]

    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(link)
    expect(page.get_by_role("heading", name="How are you?")).to_be_visible()
    assert "M1" not in page.content()
    # Every answer is a labelled radio with a large target.
    target = page.get_by_label("3", exact=True)
    box_size = page.locator("label.choice", has=target).bounding_box()
    assert box_size is not None and box_size["height"] >= 44
    page.screenshot(path=str(SHOTS / "selfreport-form.png"), full_page=True)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#vas-problem")).to_have_text("Please choose a number from 0 to 10.")
    page.get_by_label("3", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Please check your answers")).to_be_visible()
    page.get_by_role("button", name="Yes, send my answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    page.screenshot(path=str(SHOTS / "selfreport-thanks.png"), full_page=True)

    page.goto(link)  # the link works once
    expect(page.get_by_role("heading", name="This link cannot be used")).to_be_visible()
    # The 422 and 404 answers of the form's own pages are logged too; nothing else may be.
    assert [p for p in problems if "Failed to load resource" not in p] == []

    course = ivig.ok("course", "show", str(cid))
    (assessment,) = course["assessments"]
    assert assessment["source"] == "patient" and assessment["vas"] == 3
    status = {f["id"]: f["status"] for f in course["followups"]}
    assert status[two_weeks] == "done"


def test_the_one_month_form_works_without_javascript_on_a_small_phone(
    live: str,  # noqa: F811
    browser: Any,  # noqa: F811
    ivig: Ivig,
    web: Web,
) -> None:
    """No script at all, a 320 px screen: every control labelled, every target at least
    44 px, nothing wider than the screen; answer, change, send; the link is then used."""
    from playwright.sync_api import expect

    from tests.web.test_selfreport import CLOSED, invited

    cid, token = invited(web, ivig, "reassess_1m")
    context = browser.new_context(
        viewport={"width": 320, "height": 568}, is_mobile=True, java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    page.goto(f"{live}/r/{token}")
    expect(page.get_by_role("heading", name="How are you?")).to_be_visible()
    unlabelled = page.evaluate(
        "() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
        ".filter(e => !(e.labels && e.labels.length)).map(e => e.name)"
    )
    assert unlabelled == []
    small = page.evaluate(
        "() => [...document.querySelectorAll('label.choice, button, input[type=text]')]"
        ".map(e => e.getBoundingClientRect()).filter(r => r.height < 44 || r.width < 44).length"
    )
    assert small == 0
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_label("7", exact=True).check()
    page.get_by_label("To a nearby shop (about 500 metres)").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Please check your answers")).to_be_visible()
    expect(page.locator(".answers")).to_contain_text("about 500 metres")
    page.get_by_role("button", name="No, change my answers").click()
    expect(page.get_by_label("7", exact=True)).to_be_checked()  # the answers are kept
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Yes, send my answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    page.goto(f"{live}/r/{token}")
    expect(page.get_by_role("heading", name=CLOSED)).to_be_visible()
    assert scripts == []

    course = ivig.ok("course", "show", str(cid))
    (assessment,) = course["assessments"]
    assert assessment["source"] == "patient"
    assert (assessment["vas"], assessment["walking_distance_m"]) == (7, 500)
    (one_month,) = [f for f in course["followups"] if f["kind"] == "reassess_1m"]
    # The MRC sum needs an examination: still open, marked as answered by the patient.
    assert (one_month["status"], one_month["self_report"]) == ("raised", "answered")
