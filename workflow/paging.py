"""Pages of a list: ``limit`` rows from an opaque cursor, and the total.

A cursor names the position of a page's first row in the list's order; it is
opaque to clients (they pass back what they were given) so its form may change.
Lists are ordered by a unique key, so a page boundary is stable between requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from workflow.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
#: No list is longer; a cursor past it is refused, not passed to the database as an
#: OFFSET it cannot hold (SQLite and PostgreSQL fail on one beyond 64 bits).
MAX_OFFSET = 10**9


def check_limit(limit: int | None, *, default: int = DEFAULT_LIMIT) -> int:
    value = default if limit is None else limit
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(f"limit: {value} is outside 1-{MAX_LIMIT}.")
    return value


#: Every cursor has this form (the API's schema declares it), and every string of
#: this form is a cursor: a client cannot send one the schema allows and be refused.
CURSOR_PATTERN = r"^o[0-9]{1,9}$"  # at most 999999999, below MAX_OFFSET
_CURSOR = re.compile(CURSOR_PATTERN)


def encode(offset: int) -> str:
    return f"o{offset}"


def decode(cursor: str | None) -> int:
    """The offset a cursor names (0 for none); a cursor not made here is refused."""
    if cursor is None or cursor == "":
        return 0
    if not _CURSOR.fullmatch(cursor):
        raise InvalidInput("cursor: is not a cursor this list gave.")
    return int(cursor[1:])


@dataclass(frozen=True)
class Page(Generic[T]):
    """``rows`` from ``offset``; ``total`` rows in the whole list."""

    rows: list[T]
    total: int
    offset: int
    limit: int

    @property
    def next_cursor(self) -> str | None:
        end = self.offset + len(self.rows)
        return encode(end) if end < self.total else None

    @property
    def previous_cursor(self) -> str | None:
        if self.offset <= 0:
            return None
        return encode(max(self.offset - self.limit, 0))

    @property
    def first(self) -> int:
        """1-based number of the first row shown (0 when none)."""
        return self.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.rows)

    def showing(self, noun: str = "") -> str:
        """ "showing 51-100 of 240" as a page says it."""
        if not self.rows:
            return f"showing 0 of {self.total}{noun}"
        return f"showing {self.first}-{self.last} of {self.total}{noun}"
