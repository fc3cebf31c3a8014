"""The one clock: "today" is the clinic's date in IVIG_TIMEZONE, across midnight and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from workflow.clock import FixedClock, SystemClock
from workflow.config import Settings


@pytest.mark.parametrize(
    ("instant", "zone", "today"),
    [
        # 23:30 UTC is already tomorrow in Auckland and still today in Los Angeles.
        ("2026-03-28T23:30:00+00:00", "Pacific/Auckland", date(2026, 3, 29)),
        ("2026-03-28T23:30:00+00:00", "America/Los_Angeles", date(2026, 3, 28)),
        # The night British clocks go forward (29 March 2026, 01:00 UTC).
        ("2026-03-29T00:30:00+00:00", "Europe/London", date(2026, 3, 29)),
        # The night they go back (25 October 2026): 23:30 UTC is 23:30 GMT, same day.
        ("2026-10-25T23:30:00+00:00", "Europe/London", date(2026, 10, 25)),
        # Just before midnight BST in summer: 22:59 UTC is 23:59 local.
        ("2026-07-14T22:59:00+00:00", "Europe/London", date(2026, 7, 14)),
        ("2026-07-14T23:00:00+00:00", "Europe/London", date(2026, 7, 15)),
    ],
)
def test_system_clock_reads_today_in_the_clinic_zone(instant: str, zone: str, today: date) -> None:
    with time_machine.travel(datetime.fromisoformat(instant), tick=False):
        clock = SystemClock(ZoneInfo(zone))
        assert clock.today() == today
        assert clock.now() == datetime.fromisoformat(instant)
        assert clock.now().tzinfo is not None


def test_frozen_now_from_settings_is_read_in_the_clinic_zone() -> None:
    settings = Settings(
        timezone="Pacific/Auckland", frozen_now=datetime(2026, 6, 30, 13, tzinfo=UTC)
    )
    assert settings.clock().today() == date(2026, 7, 1)


def test_a_fixed_clock_needs_an_aware_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2026, 1, 1))  # noqa: DTZ001 - naive on purpose


def test_an_unknown_time_zone_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.config import get_settings
    from workflow.errors import InvalidInput

    monkeypatch.setenv("IVIG_TIMEZONE", "Mars/Olympus")
    with pytest.raises(InvalidInput, match="IVIG_TIMEZONE"):
        get_settings()
