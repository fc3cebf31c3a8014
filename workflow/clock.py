"""The one source of time. Services take ``now``/``today`` from a Clock.

Instants are timezone-aware UTC; "today" is the clinic's calendar date in
``IVIG_TIMEZONE``, so a coordinator in Sydney at 08:00 is not told it is yesterday.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Anything that can tell the current instant and the clinic's date."""

    @property
    def zone(self) -> ZoneInfo: ...

    def now(self) -> datetime: ...

    def today(self) -> date: ...


@dataclass(frozen=True)
class SystemClock:
    """The real clock, read in the clinic's zone."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(self.zone).date()


@dataclass
class FixedClock:
    """A clock that stands still until moved: for tests, simulation and the demo."""

    instant: datetime
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware instant")

    def now(self) -> datetime:
        return self.instant.astimezone(UTC)

    def today(self) -> date:
        return self.instant.astimezone(self.zone).date()
