"""Who is asking: API tokens, the signed session cookie, CSRF, and the secret key.

The API reads only ``Authorization: Bearer <token>``, never the cookie, so a page
on another site cannot make a signed-in browser call it. Pages read the session
cookie (signed with itsdangerous by Starlette's SessionMiddleware, HttpOnly,
SameSite=Lax) and every form carries a CSRF token that must match the session's.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from workflow.errors import IvigError
from workflow.models import User
from workflow.service import users
from workflow.web.context import reading, work

SECRET_ENV = "IVIG_SECRET_KEY"
CSRF_FIELD = "csrf_token"


class NotSignedIn(IvigError):
    """No valid credentials (HTTP 401)."""

    http_status = 401


class SignInRequired(IvigError):
    """A page needs a signed-in user: the browser is sent to the sign-in page."""

    http_status = 303

    def __init__(self, next_url: str) -> None:
        super().__init__("sign in to continue.")
        self.next_url = next_url


class CsrfRefused(IvigError):
    """A form without the session's CSRF token (HTTP 403)."""

    http_status = 403


@dataclass(frozen=True)
class Principal:
    """The signed-in user, as the request sees them."""

    username: str
    full_name: str
    role: str
    #: Signed in with an API token minted by someone else: may act, may not review.
    delegated: bool = False

    def may(self, action: str) -> bool:
        return users.may(self.role, action)

    def authorize(self, action: str) -> None:
        users.authorize(self.role, action)


def _principal(user: User, *, delegated: bool = False) -> Principal:
    return Principal(
        username=user.username, full_name=user.full_name, role=user.role, delegated=delegated
    )


def secret_key(database_url: str) -> str:
    """``IVIG_SECRET_KEY``, else a key generated once and kept **in the database**
    (table ``app_secrets``): each database has its own, so a cookie of one deployment
    (staging) never opens another (production) even under one OS user. The first
    process to need it makes it; concurrent starters agree (insert-if-absent, re-read).
    """
    from workflow.config import get_settings

    settings = get_settings()
    given = (settings.secret_key or "").strip()
    if given:
        return given
    from workflow.db import EngineOptions, engine_for
    from workflow.service.users import database_secret

    engine = engine_for(database_url, EngineOptions.from_settings(settings))
    return database_secret(engine, now=settings.clock().now())


_bearer = HTTPBearer(auto_error=False, description="An API token from `ivig user token`.")


def api_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The user holding the bearer token; 401 without one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotSignedIn("authorization: send 'Authorization: Bearer <token>'.")
    with reading(request) as session:
        user = users.user_by_token(session=session, token=credentials.credentials)
        if user is None:
            raise NotSignedIn("authorization: the API token is not valid.")
        principal = _principal(user, delegated=users.delegated(user))
    request.state.principal = principal
    return principal


def session_principal(request: Request, session: Session | None = None) -> Principal | None:
    """The user of the session cookie, re-read so a deactivated account is signed out.

    ``session``: read in that transaction (a page reading the user and its data in one
    transaction); else in a read transaction of its own."""
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    if session is None:
        with reading(request) as own:
            return _user_principal(request, own.get(User, uid))
    return _user_principal(request, session.get(User, uid))


def _user_principal(request: Request, user: User | None) -> Principal | None:
    # A cookie from before a sign-out, a password change or a deactivation carries an
    # older generation: it is dead, however well signed.
    if user is None or not user.active or request.session.get("gen") != user.session_generation:
        request.session.clear()
        return None
    return _principal(user)


def page_principal(request: Request) -> Principal:
    """The signed-in user of a page; anonymous browsers are sent to sign in."""
    return page_principal_in(request, None)


def page_principal_in(request: Request, session: Session | None) -> Principal:
    """``page_principal``, read in ``session`` (the page's own read transaction)."""
    principal = session_principal(request, session)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    request.state.principal = principal
    return principal


def sign_in(request: Request, user: User) -> None:
    """A fresh session (new CSRF token) for the user: no fixation of an old one."""
    request.session.clear()
    request.session["uid"] = user.id
    request.session["gen"] = user.session_generation
    request.session[CSRF_FIELD] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    """Ends this browser's session and every other session of the same user."""
    uid = request.session.get("uid")
    if isinstance(uid, int):
        with work(request) as session:
            user = session.get(User, uid)
            if user is not None and request.session.get("gen") == user.session_generation:
                users.end_sessions(
                    session=session,
                    user=user,
                    by=user.username,
                    at=request.app.state.config.clock().now(),
                    why="signed_out",
                )
    request.session.clear()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (the sign-in form needs one too)."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


async def posted_form(request: Request) -> dict[str, str]:
    """The form's fields, after checking its CSRF token against the session's."""
    form = await request.form()
    expected = request.session.get(CSRF_FIELD)
    given = form.get(CSRF_FIELD)
    if (
        not isinstance(expected, str)
        or not isinstance(given, str)
        or not hmac.compare_digest(expected, given)
    ):
        raise CsrfRefused(
            "csrf_token: the form did not come from this site's current page; "
            "reload the page and try again."
        )
    return _fields(form.multi_items())


def _fields(items: list[tuple[str, Any]]) -> dict[str, str]:
    """Text fields; a repeated name (checkboxes) is joined with commas."""
    out: dict[str, str] = {}
    for key, value in items:
        if key == CSRF_FIELD or not isinstance(value, str):
            continue
        out[key] = f"{out[key]},{value}" if key in out else value
    return out
