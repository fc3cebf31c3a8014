"""Errors are translated once, here: ``IvigError.http_status`` gives the status.

The API answers ``{"detail": "<one sentence naming the field>", "error": "<kind>"}``;
pages answer with a page saying the same sentence.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from workflow.errors import IvigError, log_unexpected
from workflow.validation import describe_error
from workflow.web.auth import SignInRequired
from workflow.web.forms import web_words
from workflow.web.headers import SECURITY_HEADERS
from workflow.web.render import page

API_PREFIX = "/api/"
log = logging.getLogger("ivig.web")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _error_page(
    request: Request, status: int, message: str, error: Exception | None = None
) -> Response:
    from workflow.web import selfreport

    if selfreport.is_patient_path(request.url.path):
        # A patient never lands on the staff's pages (names, navigation, "IVIG").
        return selfreport.error_page(request, status, error)
    return page(
        request,
        "error.html",
        {"status": status, "message": web_words(message)},
        status_code=status,
    )


async def ivig_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IvigError)
    status = exc.http_status
    if _is_api(request):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(
            {"detail": exc.message, "error": type(exc).__name__}, status, headers=headers
        )
    return _error_page(request, status, exc.message, exc)


async def sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(f"/signin?next={quote(exc.next_url, safe='/')}", status_code=303)


async def request_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    message = describe_error(errors[0]) if errors else "document: is not valid."
    if _is_api(request):
        return JSONResponse({"detail": message, "error": "InvalidInput"}, 422)
    return _error_page(request, 422, message)


#: FastAPI's answer to a body it cannot read at all (not UTF-8, not JSON).
_UNPARSEABLE = "There was an error parsing the body"


_METHODS = ("get", "post", "put", "patch", "delete")


def allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI document gives the request's path."""
    path = request.url.path
    paths = request.app.openapi().get("paths", {})
    # A path written out matches before a templated one (OpenAPI 3.1, "Path Templating
    # Matching"): /courses/expire-lapsed is not /courses/{course_id}.
    templates = [path] if path in paths else list(paths)
    methods: set[str] = set()
    for template in templates:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            methods.update(m.upper() for m in paths[template] if m in _METHODS)
    return sorted(methods)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSEABLE:
        # Malformed JSON is malformed input like any other: 422, naming the body.
        message = "body: is not valid JSON (UTF-8 text)."
        if _is_api(request):
            return JSONResponse({"detail": message, "error": "InvalidInput"}, 422)
        return _error_page(request, 422, message)
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and _is_api(request):
        # Starlette names only the first route matching the path; a path has several.
        headers["Allow"] = ", ".join(allowed_methods(request))
    message = {404: "there is no such page.", 405: "this method is not allowed here."}.get(
        exc.status_code, str(exc.detail)
    )
    if _is_api(request):
        return JSONResponse(
            {"detail": f"path: {message}", "error": "HTTPError"},
            exc.status_code,
            headers=headers or None,
        )
    response = _error_page(request, exc.status_code, message)
    response.headers.update(headers)
    return response


async def unexpected(request: Request, exc: Exception) -> Response:
    """The last edge: no traceback for a user, the kind of failure in the server's log."""
    log_unexpected(log, exc, f"on {request.method} {safe_path(request.scope)}")
    message = f"internal error ({type(exc).__name__}); nothing was saved."
    response: Response
    if _is_api(request):
        response = JSONResponse({"detail": message, "error": "InternalError"}, 500)
    else:
        # Outside the session middleware here: a plain page, no template context.
        response = HTMLResponse(
            f"<!doctype html><title>Error</title><h1>Something went wrong</h1><p>{message}</p>",
            500,
        )
    # Starlette answers a 500 from outside every middleware: the headers go on here.
    response.headers.update({**SECURITY_HEADERS, "Cache-Control": "no-store"})
    return response


class LastEdge:
    """ASGI middleware, outermost: an unexpected error becomes the 500 of
    :func:`unexpected` here, and goes no further.

    Starlette's own last edge answers the 500 and then re-raises the exception "so
    servers can log it": uvicorn would write its message (which may repeat a patient's
    name, a row's values, a database error's DETAIL) into the server log. Here only
    :func:`workflow.errors.log_unexpected` logs it, without the message. With
    ``IVIG_DEBUG`` set the exception is raised on, for a developer's server log.
    """

    def __init__(self, app: Any, debug: bool = False) -> None:
        self.app, self.debug = app, debug

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if self.debug:
                raise
            if started:  # too late for a 500 (a download half sent): the log says it
                log_unexpected(log, exc, f"on {scope.get('method')} {safe_path(scope)}")
                return
            response = await unexpected(Request(scope), exc)
            await response(scope, receive, send)


def safe_path(scope: Any) -> str:
    """The request's path for a log line, without a self-report link's token."""
    return _TOKEN_PATH.sub(r"\1…", str(scope.get("path", "")))


_TOKEN_PATH = re.compile(r"^(/r/)[^/]+")


def install(app: FastAPI) -> None:
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(IvigError, ivig_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
