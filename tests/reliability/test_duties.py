"""Attacks on separation of duties: a requester rewritten, an approval in another's
name, an approval of a request that changed after the reviewer opened it."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from tests.cli.helpers import assert_refused
from tests.conftest import Ivig
from tests.factories import register, request, request_doc
from tests.web.conftest import ADMIN, COORDINATOR, REVIEWER, Web
from tests.web.conftest import request_doc as web_request_doc
from workflow.db import engine_for, transaction
from workflow.models import UserAudit

API = "/api/v1"


def _review(cid: int, *extra: str, reviewer: str = "dr.reviewer") -> list[str]:
    return [
        "course",
        "review",
        str(cid),
        "--decision",
        "approve",
        "--reviewer",
        reviewer,
        "--note",
        "fine",
        *extra,
    ]


def test_amend_cannot_rewrite_the_requester(ivig: Ivig) -> None:
    register(ivig, "M1")
    cid = request(ivig, "M1")["id"]
    doc = json.dumps(request_doc("M1", requested_by="dr.nobody"))
    result = assert_refused(
        ivig,
        ["course", "amend", str(cid), "--file", "-"],
        code=1,
        names=["requested_by"],
        stdin=doc,
    )
    assert "dr.requester" in result.err
    assert ivig.ok("course", "show", str(cid))["requested_by"] == "dr.requester"


def test_whoever_entered_the_request_may_not_review_it(ivig: Ivig) -> None:
    register(ivig, "M1")
    course = request(ivig, "M1")  # entered under IVIG_ACTOR coordinator.cole
    assert course["entered_by"] == "coordinator.cole"
    result = assert_refused(
        ivig, _review(course["id"], reviewer="Coordinator.Cole"), code=1, names=["reviewer"]
    )
    assert "entered" in result.err
    assert_refused(ivig, _review(course["id"], reviewer="dr.requester"), code=1, names=["reviewer"])


def test_a_review_of_an_older_version_is_refused(ivig: Ivig) -> None:
    register(ivig, "M1")
    seen = request(ivig, "M1")
    ivig.ok(
        "course",
        "amend",
        str(seen["id"]),
        "--file",
        "-",
        stdin=json.dumps(request_doc("M1", dose_g_per_kg_per_day=1.0)),
    )
    stale = _review(seen["id"], "--version", str(seen["version"]), "--override-reason", "x")
    result = assert_refused(ivig, stale, code=1, names=["version"])
    assert "the request changed since you opened it" in result.err
    now = ivig.ok("course", "show", str(seen["id"]))
    fresh = _review(seen["id"], "--version", str(now["version"]), "--override-reason", "x")
    assert ivig.ok(*fresh)["state"] == "reviewed"


def _requested(web: Web) -> dict[str, object]:
    from tests.web.conftest import PATIENT

    assert web.api(COORDINATOR).post(f"{API}/patients", json=PATIENT).status_code == 201
    response = web.api(COORDINATOR).post(f"{API}/courses", json=web_request_doc("M1"))
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_api_review_with_a_stale_version_is_409(web: Web) -> None:
    course = _requested(web)
    cid, seen = course["id"], course["version"]
    amended = web.api(COORDINATOR).post(
        f"{API}/courses/{cid}/amend",
        json={"request": web_request_doc("M1", days=4)},
    )
    assert amended.status_code == 200, amended.text
    response = web.api(REVIEWER).post(
        f"{API}/courses/{cid}/review",
        json={"decision": "deny", "note": "no", "version": seen},
    )
    assert response.status_code == 409
    assert "the request changed since you opened it" in response.json()["detail"]


def test_the_enterer_cannot_review_through_the_api(web: Web) -> None:
    web.add_user("coord.two", "admin")
    course = _requested(web)
    response = web.api(COORDINATOR).post(
        f"{API}/courses/{course['id']}/review", json={"decision": "deny", "note": "no"}
    )
    assert response.status_code == 403


def test_a_token_minted_for_another_user_is_audited_and_cannot_review(web: Web) -> None:
    course = _requested(web)
    minted = web.api(ADMIN).post(f"{API}/users/{REVIEWER}/token")
    assert minted.status_code == 200, minted.text
    web.tokens[REVIEWER] = minted.json()["token"]
    response = web.api(REVIEWER).post(
        f"{API}/courses/{course['id']}/review", json={"decision": "deny", "note": "no"}
    )
    assert response.status_code == 403
    assert "minted by someone else" in response.json()["detail"]
    with transaction(engine_for(web.url)) as session:
        rows = session.execute(
            select(UserAudit.actor, UserAudit.username, UserAudit.action).where(
                UserAudit.username == REVIEWER
            )
        ).all()
    assert (ADMIN, REVIEWER, "token_minted_for_another") in rows


def test_a_page_review_must_name_the_version_the_api_may_omit_it(web: Web) -> None:
    from tests.web.conftest import CSRF

    course = _requested(web)
    page = f"/courses/{course['id']}"
    reviewer = web.browser(REVIEWER)
    token = CSRF.search(reviewer.get(page).text)
    assert token is not None
    # A post without the page's hidden version field did not come from the page as shown.
    bare = reviewer.client.post(
        f"{page}/review", data={"decision": "deny", "note": "no", "csrf_token": token.group(1)}
    )
    assert bare.status_code == 422
    assert "which version of the course you saw" in bare.text
    shown = web.api(REVIEWER).get(f"{API}{page}").json()
    assert (shown["state"], shown["reviews"]) == ("requested", [])
    # The API keeps `version` optional (docs/web.md): such a review is checked against
    # no version at all, only against the rules.
    response = web.api(REVIEWER).post(
        f"{API}{page}/review", json={"decision": "deny", "note": "no"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "denied"


def test_every_way_of_minting_for_another_is_audited_and_cannot_review(
    web: Web, ivig: Ivig
) -> None:
    """The CLI run as another actor, the Users page and the API: each minting for
    someone else is in the account audit, and its token is refused a review; the
    reviewer's own token reviews."""
    from tests.web.conftest import CSRF

    course = _requested(web)
    review = f"{API}/courses/{course['id']}/review"
    body = {"decision": "info", "note": "which steroid?"}

    def refused_with(token: str) -> None:
        web.tokens[REVIEWER] = token
        response = web.api(REVIEWER).post(review, json=body)
        assert response.status_code == 403, response.text
        assert "minted by someone else" in response.json()["detail"]

    by_cli = ivig("user", "token", REVIEWER, "--actor", COORDINATOR)
    assert by_cli.code == 0, by_cli.err
    refused_with(by_cli.out.strip())

    admin = web.browser(ADMIN)
    page = admin.post(f"/users/{REVIEWER}/token", {}, page="/users")
    assert page.status_code == 200, page.text
    assert 'id="token-delegated"' in page.text and "except review" in page.text
    token = re.search(r'id="new-token" type="text" readonly value="([^"]+)"', page.text)
    assert token is not None and CSRF.search(page.text)
    refused_with(token.group(1))

    by_api = web.api(ADMIN).post(f"{API}/users/{REVIEWER}/token")
    assert by_api.status_code == 200, by_api.text
    refused_with(by_api.json()["token"])

    audit = ivig.ok("user", "audit", "--username", REVIEWER)
    minted_for = [r["actor"] for r in audit if r["action"] == "token_minted_for_another"]
    assert sorted(minted_for) == [ADMIN, ADMIN, COORDINATOR]

    own = ivig("user", "token", REVIEWER, "--actor", REVIEWER)
    assert own.code == 0, own.err
    web.tokens[REVIEWER] = own.out.strip()
    answered = web.api(REVIEWER).post(review, json=body)
    assert answered.status_code == 200, answered.text
    assert "token_minted" in (r["action"] for r in ivig.ok("user", "audit", "--username", REVIEWER))
