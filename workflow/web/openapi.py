"""The OpenAPI document, completed so that it says everything the API may answer.

Every route under ``/api/`` needs a bearer token and checks roles and input, so each
may answer 401, 403 and 422 (and 404 when its path names a record), whichever router
declared it. The document is built once per app, on first request.

It also gives OpenAPI *links* (what a client, or a stateful checker such as
schemathesis, can do next with an answer): a change that answers a course links to
every operation on ``/courses/{course_id}`` with ``course_id`` = the answer's ``id``;
one that answers a patient, to every operation on ``/patients/{mrn}`` with its
``mrn``; a new user, to the token operation with its ``username``.
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
#: An answer's schema -> (the path parameter it fills, the answer's field).
_LINKED = {
    "CourseRead": ("course_id", "id"),
    "PatientRead": ("mrn", "mrn"),
    "UserRead": ("username", "username"),
}


def _answer_schema(operation: dict[str, Any]) -> str | None:
    for status in ("200", "201"):
        content = operation.get("responses", {}).get(status, {}).get("content", {})
        ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        if ref:
            return str(ref).rsplit("/", 1)[-1]
    return None


def add_links(document: dict[str, Any]) -> None:
    """Links from every change answering a course, patient or user to what takes its id."""
    paths = document.get("paths", {})
    targets: dict[str, list[tuple[str, str]]] = {}
    for path, item in paths.items():
        for method in _METHODS:
            operation = item.get(method)
            for parameter, _field in _LINKED.values():
                if operation and "{" + parameter + "}" in path and "operationId" in operation:
                    targets.setdefault(parameter, []).append(
                        (operation["operationId"], f"{method.upper()} {path}")
                    )
    for item in paths.values():
        for method in ("post",):
            operation = item.get(method)
            schema = _answer_schema(operation) if operation else None
            if operation is None or schema not in _LINKED:
                continue
            parameter, field = _LINKED[schema]
            status = "201" if "201" in operation["responses"] else "200"
            links = operation["responses"][status].setdefault("links", {})
            for operation_id, label in targets.get(parameter, []):
                links[operation_id] = {
                    "operationId": operation_id,
                    "parameters": {parameter: f"$response.body#/{field}"},
                    "description": f"{label} with the answer's {field}.",
                }


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
    add_links(document)
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
