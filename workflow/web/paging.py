"""Paging on the API and on the pages.

API: every list takes ``limit`` and ``cursor`` and says, in headers, the total and the
cursors of the next and previous pages. The body stays the list itself (clients of a
list keep working); ``X-Total-Count``, ``X-Next-Cursor``, ``X-Previous-Cursor`` and a
``Link`` header (RFC 8288, ``rel="next"`` / ``rel="prev"``) carry the rest.

Pages: every list shows ``ROWS_PER_PAGE`` rows and says "showing 51-100 of 240" with
links to the previous and next pages (``Pager``). A page with several lists (the
worklist, a patient's record) gives each its own cursor parameter, and a link keeps
the page's filters and the other lists' positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response

from workflow.errors import InvalidInput
from workflow.paging import CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT, Page, decode, encode

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


# --- pages ------------------------------------------------------------------------------

#: Rows one list on a page shows at a time (read at each request, so tests may lower it).
ROWS_PER_PAGE = 50


def rows_per_page() -> int:
    return ROWS_PER_PAGE


def offset_of(request: Request, param: str = "cursor") -> int:
    """Where the list paged by ``param`` starts (0 without one; a cursor not made here
    is refused, 422, naming the parameter)."""
    try:
        return decode(request.query_params.get(param))
    except InvalidInput:
        raise InvalidInput(f"{param}: is not a cursor this list gave.") from None


@dataclass(frozen=True)
class Pager:
    """One list's "showing N of M" and its previous and next links.

    A link is the page's path with its query (filters, the other lists' cursors) and
    this list's cursor; the first page's link carries no cursor at all.
    """

    page: Page[Any]
    param: str
    path: str
    query: tuple[tuple[str, str], ...]
    #: What the list holds, for the navigation's name and the links' hidden text.
    noun: str

    @classmethod
    def of(
        cls,
        request: Request,
        page: Page[Any],
        *,
        param: str = "cursor",
        noun: str = "",
        path: str | None = None,
    ) -> Pager:
        """``path``: the page's own address when the page answers another (a refused
        form re-rendered at its POST address): its query is not kept."""
        if path is None:
            query = tuple(request.query_params.multi_items())
            return cls(page, param, request.url.path, query, noun)
        return cls(page, param, path, (), noun)

    def _href(self, offset: int) -> str:
        pairs = [(k, v) for k, v in self.query if k != self.param]
        if offset > 0:
            pairs.append((self.param, encode(offset)))
        return f"{self.path}?{urlencode(pairs)}" if pairs else self.path

    @property
    def previous_href(self) -> str | None:
        if self.page.offset <= 0:
            return None
        return self._href(max(self.page.offset - self.page.limit, 0))

    @property
    def next_href(self) -> str | None:
        end = self.page.offset + len(self.page.rows)
        return self._href(end) if end < self.page.total else None

    @property
    def label(self) -> str:
        return f"Pages of {self.noun}" if self.noun else "Pages"

    def showing(self) -> str:
        return self.page.showing()
