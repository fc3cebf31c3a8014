"""The OpenAPI document, completed so that it says everything the API may answer.

Every route under ``/api/`` needs a bearer token and checks roles and input, so each
may answer 401, 403 and 422 (and 404 when its path names a record), whichever router
declared it. The document is built once per app, on first request.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_ERROR = {"$ref": "#/components/schemas/ErrorRead"}
_ALWAYS = {
    "401": "No valid bearer token.",
    "403": "The signed-in role may not do this.",
    "422": "Malformed or out-of-range input; the message names the field.",
}
_WITH_PATH_PARAMETER = {"404": "Unknown MRN, course id or user."}
_METHODS = ("get", "post", "put", "patch", "delete")


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Adds the error answers every API operation may give, where not yet declared."""
    for path, item in document.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        extra = {**_ALWAYS, **(_WITH_PATH_PARAMETER if "{" in path else {})}
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            # FastAPI declares its own 422 shape; the app answers every error as ErrorRead.
            if "HTTPValidationError" in str(responses.get("422", {})):
                del responses["422"]
            for status, description in extra.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": _ERROR}},
                    },
                )
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused not in str(document.get("paths")):
            schemas.pop(unused, None)
    return document


def install(app: FastAPI) -> None:
    """Makes ``app.openapi()`` return the completed document (cached on the app)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]
