"""The app factory: the JSON API under ``/api/v1`` and the coordinator's pages.

Nothing is fetched from outside the server: htmx and the stylesheet are served
from ``workflow/web/static``, and the Content-Security-Policy says so to browsers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from workflow.clock import Clock
from workflow.config import get_settings
from workflow.db import EngineOptions, engine_for, ensure_schema
from workflow.web import (
    admin_pages,
    api,
    course_list,
    course_pages,
    downloads,
    errors,
    fhir_api,
    openapi,
    pages,
    selfreport,
)
from workflow.web.auth import secret_key as find_secret_key
from workflow.web.context import WebConfig
from workflow.web.deferred import silence_alias_warning
from workflow.web.headers import CSP as CSP
from workflow.web.headers import SECURITY_HEADERS as SECURITY_HEADERS
from workflow.web.headers import BodyLimit
from workflow.web.render import make_templates

STATIC = Path(__file__).with_name("static")
SESSION_COOKIE = "ivig_session"
SESSION_HOURS = 8


def create_app(
    *,
    database_url: str | None = None,
    clock: Callable[[], Clock] | None = None,
    secret_key: str | None = None,
    secure_cookies: bool | None = None,
) -> FastAPI:
    """The web app on ``database_url`` (default ``IVIG_DATABASE_URL``).

    ``clock`` defaults to the settings' clock (``IVIG_FROZEN_NOW`` pins it);
    ``secret_key`` to ``IVIG_SECRET_KEY`` or a persisted generated key;
    ``secure_cookies`` to ``IVIG_SECURE_COOKIES`` (set it when served over HTTPS).
    """
    settings = get_settings()
    url = database_url or settings.database_url
    engine = engine_for(url, EngineOptions.from_settings(settings))
    ensure_schema(engine)
    key = secret_key or find_secret_key(url)
    secure = secure_cookies if secure_cookies is not None else settings.secure_cookies
    config = WebConfig(
        engine=engine,
        clock=clock or (lambda: get_settings().clock()),
        zone=settings.zone,
        secret_key=key,
        secure_cookies=secure,
    )
    app = FastAPI(
        title="ivig",
        summary="IVIG treatment courses from request to re-treatment.",
        version="1",
        openapi_url="/api/v1/openapi.json",
        # The interactive docs load their scripts from a CDN: not on a clinical network.
        docs_url=None,
        redoc_url=None,
    )
    app.state.config = config
    app.state.templates = make_templates(settings.zone)
    app.include_router(api.router)
    app.include_router(fhir_api.router)
    app.include_router(pages.router)
    app.include_router(course_pages.router)
    app.include_router(course_list.router)
    app.include_router(admin_pages.router)
    app.include_router(downloads.router)
    app.include_router(selfreport.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    silence_alias_warning()
    errors.install(app)
    openapi.install(app)
    app.middleware("http")(_security_headers)
    app.add_middleware(
        SessionMiddleware,
        secret_key=key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=secure,
    )
    app.add_middleware(BodyLimit)  # a huge body is refused before parsing
    # Outermost: an unexpected error is answered and logged here, never re-raised to the
    # server, whose log would keep its message (patient data).
    app.add_middleware(errors.LastEdge, debug=settings.debug)
    return app


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.url.path.startswith("/static/"):
        # Patient data must not linger in shared browser or proxy caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response
