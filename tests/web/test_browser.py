"""The pages in a real browser (Debian's chromium via Playwright) against a live server.

Two people share the work: a coordinator requests a course, a reviewer approves it,
the coordinator records the infusions and an assessment, and the follow-up that the
assessment completes leaves the worklist. Screenshots go to /tmp for a human look.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import COORDINATOR, PASSWORD, REVIEWER, Web

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("IVIG_SCREENSHOTS", "/tmp/ivig-screens"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="no browser: /usr/bin/chromium is not installed"
    ),
]


@pytest.fixture
def live(web: Web) -> Iterator[str]:
    """The app served by uvicorn in a thread, on a free port of 127.0.0.1."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(web.app, log_level="warning", lifespan="off", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(400):  # bounded: at most ~20 s
        if server.started or not thread.is_alive():
            break
        thread.join(0.05)  # waits on the thread, waking early if it dies
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/")
    assert "/signin" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Worklist").wait_for()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()


def followup_rows(page: Any, base: str) -> list[str]:
    page.goto(f"{base}/")
    table = page.locator("section", has=page.get_by_role("heading", name="Follow-ups due"))
    return [text.strip() for text in table.locator("tbody tr").all_inner_texts()]


def test_request_review_infuse_assess_and_the_follow_up_leaves_the_worklist(
    live: str, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    # Anything the Content-Security-Policy blocks, or a script error, shows up here.
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    # The coordinator registers the patient and requests a course.
    sign_in(page, live, COORDINATOR)
    page.get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("Medical record number").fill("M1")
    page.get_by_label("Full name").fill("Test Patient")
    page.get_by_label("Date of birth").fill("1958-04-12")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Weight (kg)").fill("82")
    page.get_by_label("Diabetes").select_option("type2")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Patient M1")).to_be_visible()

    page.get_by_role("link", name="Request a course for M1").click()
    expect(page.get_by_label("Patient MRN")).to_have_value("M1")
    page.get_by_label("Indication (required)", exact=True).select_option("dlrpn")
    page.get_by_label("Severity (CTCAE grade)").select_option("3")
    page.get_by_label("Product").fill("Octagam 10%")
    page.get_by_label("Consecutive infusion days").fill("2")
    page.get_by_label("Pain (VAS, 0-10)").fill("8")
    page.get_by_label("Corticosteroid trial").select_option("no_response")
    page.get_by_label("Date of the request").fill("2026-09-28")  # entered after the fact
    page.get_by_label("Medicine 1").fill("pregabalin")
    page.locator("[name=medication_1_mg_per_day]").fill("300")
    page.get_by_role("button", name="Submit the request").click()
    expect(page.get_by_role("heading", name="Course 1")).to_contain_text("State: requested")
    expect(page.locator("#action-review")).to_have_count(0)  # a coordinator does not review
    sign_out(page)

    # The reviewer finds it among the pending reviews and approves it.
    sign_in(page, live, REVIEWER)
    pending = page.locator("section", has=page.get_by_role("heading", name="Pending reviews"))
    pending.get_by_role("link", name="Course 1").click()
    review = page.locator("#action-review")
    review.get_by_label("Decision (required)").select_option("approve")
    review.get_by_label("Note").fill("Meets the programme's criteria.")
    review.get_by_label("Override reason").fill("Two-day course agreed with neurology.")
    review.get_by_label("Date of the decision").fill("2026-09-30")  # before the infusions
    page.screenshot(path=str(SHOTS / "course-review.png"), full_page=True)
    review.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("heading", name="Course 1")).to_contain_text("State: reviewed")
    sign_out(page)

    # The coordinator records both infusion days and the course enters monitoring.
    sign_in(page, live, COORDINATOR)
    page.goto(f"{live}/courses/1")
    for day in ("2026-10-01", "2026-10-02"):
        infuse = page.locator("#action-infuse")
        infuse.get_by_label("Date of the infusion").fill(day)
        infuse.get_by_role("button", name="Record infusion").click()
        expect(page.get_by_role("status")).to_contain_text("Infusion day recorded")
    expect(page.get_by_role("heading", name="Course 1")).to_contain_text("State: monitoring")

    before = followup_rows(page, live)
    assert any("Reassessment at 2 weeks" in row for row in before), before
    assert any("Reassessment at 1 month" in row for row in before), before
    page.screenshot(path=str(SHOTS / "worklist.png"), full_page=True)

    # Every list pages on its own; Next keeps the filters (here one row a page).
    monkeypatch.setattr("workflow.web.paging.ROWS_PER_PAGE", 1)
    page.goto(f"{live}/?due_by=2026-11-20")
    due = page.locator("section", has=page.get_by_role("heading", name="Follow-ups due"))
    expect(due.locator(".pager .count")).to_have_text("showing 1-1 of 2")
    due.get_by_role("link", name="Next follow-ups due").click()
    expect(due.locator(".pager .count")).to_have_text("showing 2-2 of 2")
    expect(page.get_by_label("Follow-ups due by")).to_have_value("2026-11-20")
    monkeypatch.setattr("workflow.web.paging.ROWS_PER_PAGE", 50)
    page.goto(f"{live}/")

    # The filter applies as soon as a kind is chosen (htmx swaps the lists in place).
    # A style an extension (or the screenshot above) leaves on a field must not make
    # htmx write an inline style while the swap settles: the CSP would block it.
    page.locator("#f-mrn").evaluate("e => e.style.setProperty('caret-color', 'auto')")
    page.get_by_label("Follow-up kind").select_option("reassess_1m")
    due = page.locator("section", has=page.get_by_role("heading", name="Follow-ups due"))
    expect(due.locator("tbody tr")).to_have_count(1)
    expect(page).to_have_url(f"{live}/?mrn=&kind=reassess_1m&due_by=")

    # An assessment with a pain score completes the two-week reassessment.
    page.goto(f"{live}/courses/1")
    assess = page.locator("#action-assess")
    assess.get_by_label("Date of the assessment").fill("2026-10-16")
    assess.get_by_label("Pain (VAS, 0-10)").fill("3")
    assess.get_by_role("button", name="Record assessment").click()
    expect(page.get_by_role("status")).to_contain_text("Assessment recorded")

    after = followup_rows(page, live)
    assert not any("Reassessment at 2 weeks" in row for row in after), after
    assert any("Reassessment at 1 month" in row for row in after), after

    # A refused form keeps what was typed and names the field.
    page.goto(f"{live}/courses/1")
    assess = page.locator("#action-assess")
    assess.get_by_label("Date of the assessment").fill("2026-11-01")
    assess.get_by_label("Pain (VAS, 0-10)").fill("11")
    assess.get_by_role("button", name="Record assessment").click()
    expect(page.locator("#assess-vas-error")).to_contain_text("outside the 0-10 pain scale")
    expect(page.locator("#action-assess").get_by_label("Pain (VAS, 0-10)")).to_have_value("11")
    page.screenshot(path=str(SHOTS / "course-laptop.png"), full_page=True)

    tablet = browser.new_context(viewport={"width": 768, "height": 1024})
    tab = tablet.new_page()
    sign_in(tab, live, COORDINATOR)
    tab.goto(f"{live}/courses/1")
    tab.screenshot(path=str(SHOTS / "course-tablet.png"), full_page=True)
    tablet.close()
    context.close()
    # The refused form's page is itself a 422 response, which the browser reports. Any
    # other console error fails the test: a CSP violation (such as htmx copying a style
    # attribute while the worklist filter's swap settles) included.
    assert [p for p in problems if "422" not in p] == []
