"""Paging on the API: every list takes ``limit`` and ``cursor`` and says, in headers,
the total and the cursors of the next and previous pages.

The body stays the list itself (clients of a list keep working); ``X-Total-Count``,
``X-Next-Cursor``, ``X-Previous-Cursor`` and a ``Link`` header (RFC 8288, ``rel="next"``
/ ``rel="prev"``) carry the rest.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request, Response

from workflow.paging import CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT, Page

Limit = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"Rows per page (1-{MAX_LIMIT})."),
]
Cursor = Annotated[
    str | None,
    Query(
        pattern=CURSOR_PATTERN,
        description="Where the page starts: a cursor from X-Next-Cursor or X-Previous-Cursor.",
    ),
]
DEFAULT = DEFAULT_LIMIT

_HEADER = {"schema": {"type": "string"}}
PAGE_HEADERS: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "X-Total-Count": {
                "description": "Rows in the whole list.",
                "schema": {"type": "integer"},
            },
            "X-Next-Cursor": {
                "description": "The next page's cursor (absent: last page).",
                **_HEADER,
            },
            "X-Previous-Cursor": {"description": "The previous page's cursor.", **_HEADER},
            "Link": {"description": 'rel="next" and rel="prev" URLs.', **_HEADER},
        }
    }
}


def say(request: Request, response: Response, page: Page[Any]) -> None:
    """Puts the page's total and cursors in the response headers."""
    response.headers["X-Total-Count"] = str(page.total)
    links = []
    for rel, cursor, header in (
        ("next", page.next_cursor, "X-Next-Cursor"),
        ("prev", page.previous_cursor, "X-Previous-Cursor"),
    ):
        if cursor is None:
            continue
        response.headers[header] = cursor
        url = request.url.include_query_params(cursor=cursor, limit=page.limit)
        links.append(f'<{url}>; rel="{rel}"')
    if links:
        response.headers["Link"] = ", ".join(links)
