"""Fixtures for the web app: an app on the test database (SQLite and PostgreSQL),
users made through the service, API clients holding their tokens, and signed-in
browsers (TestClient sessions) that post forms with the page's CSRF token."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from tests.conftest import DEFAULT_NOW
from workflow.clock import FixedClock
from workflow.db import engine_for, transaction
from workflow.service import users
from workflow.web import create_app

with warnings.catch_warnings():
    # Starlette nudges towards the `httpx2` package, which is not a dependency here.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
COORDINATOR = "coordinator.cole"
REVIEWER = "dr.reviewer"
ADMIN = "admin.ada"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'<input type="hidden" name="version" value="(\d+)">')


def request_doc(mrn: str = "M1", **overrides: Any) -> dict[str, Any]:
    """The factories' supported request, requested by the coordinator who signs in."""
    from tests.factories import request_doc as base

    return base(mrn, **{"requested_by": COORDINATOR, **overrides})


PATIENT = {
    "mrn": "M1",
    "name": "Test Patient",
    "birth_date": "1958-04-12",
    "sex": "female",
    "weight_kg": 82,
    "height_cm": 170,
    "diabetes": "type2",
}


@dataclass
class Web:
    """The app under test, its clock, and helpers to act as its users."""

    url: str
    clock: FixedClock
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)

    def add_user(self, username: str, role: str) -> str:
        with transaction(engine_for(self.url)) as session:
            users.add_user(
                session=session,
                username=username,
                full_name=username.replace(".", " ").title(),
                role=role,
                password=PASSWORD,
                clock=self.clock,
            )
            token = users.issue_token(session=session, username=username, at=self.clock.now())
        self.tokens[username] = token
        return token

    def now(self, instant: str) -> None:
        self.clock.instant = datetime.fromisoformat(instant)

    def api(self, username: str | None = None) -> TestClient:
        """A client sending ``username``'s bearer token (anonymous when None)."""
        client = TestClient(self.app, raise_server_exceptions=True)
        if username is not None:
            client.headers["Authorization"] = f"Bearer {self.tokens[username]}"
        return client

    def browser(self, username: str | None = None) -> Browser:
        client = TestClient(self.app, follow_redirects=False)
        browser = Browser(client)
        if username is not None:
            response = browser.post(
                "/signin", {"username": username, "password": PASSWORD, "next": "/"}, page="/signin"
            )
            assert response.status_code == 303, response.text
        return browser


@dataclass
class Browser:
    """A TestClient that, like a browser, posts forms with the CSRF token of the page."""

    client: TestClient

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def token(self, page: str) -> str:
        match = CSRF.search(self.client.get(page).text)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def post(self, path: str, data: dict[str, str], *, page: str) -> Any:
        """Posts ``data`` with the page's CSRF token and, as the page's review form does,
        the course version it shows (unless ``data`` names one)."""
        text = self.client.get(page).text
        match = CSRF.search(text)
        assert match, f"no CSRF token on {page}"
        hidden = VERSION.search(text)
        seen = {"version": hidden.group(1)} if hidden and path.endswith("/review") else {}
        return self.client.post(path, data={**seen, **data, "csrf_token": match.group(1)})


@pytest.fixture
def web(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Web]:
    monkeypatch.setenv("IVIG_DATABASE_URL", db_url)
    monkeypatch.setenv("IVIG_TIMEZONE", "UTC")
    monkeypatch.delenv("IVIG_FROZEN_NOW", raising=False)
    monkeypatch.delenv("IVIG_NOTIFY", raising=False)
    monkeypatch.delenv("IVIG_POLICY", raising=False)
    clock = FixedClock(datetime.fromisoformat(DEFAULT_NOW).astimezone(UTC))
    app = create_app(database_url=db_url, clock=lambda: clock, secret_key="test-secret-" + "k" * 40)
    env = Web(url=db_url, clock=clock, app=app)
    env.add_user(COORDINATOR, "coordinator")
    env.add_user(REVIEWER, "reviewer")
    env.add_user(ADMIN, "admin")
    yield env
