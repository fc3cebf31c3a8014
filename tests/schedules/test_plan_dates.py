"""Due-date arithmetic, back-off and channel parsing: pure rules, checked over many inputs."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schedules.channels import LOG, parse_notify, redact, resolve
from schedules.delivery import FIRST_RETRY, MAX_RETRY, backoff
from workflow.errors import InvalidInput
from workflow.followups import BY_KIND, PLAN, first_due_date, next_due_date

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@given(dates)
def test_no_followup_falls_due_before_the_last_infusion(last: date) -> None:
    for kind in PLAN:
        assert first_due_date(kind, last) > last


@given(dates)
def test_months_are_calendar_months_clamped_to_the_month_end(last: date) -> None:
    due = first_due_date(BY_KIND["reassess_1m"], last)
    year, month = (last.year + 1, 1) if last.month == 12 else (last.year, last.month + 1)
    assert (due.year, due.month) == (year, month)
    assert due.day == min(last.day, calendar.monthrange(year, month)[1])


@given(dates)
def test_recurring_kinds_repeat_after_the_measurement(measured: date) -> None:
    for kind in PLAN:
        following = next_due_date(kind, measured)
        assert following is None or following > measured


@pytest.mark.parametrize(
    ("last", "kind", "due"),
    [
        (date(2027, 1, 31), "reassess_1m", date(2027, 2, 28)),
        (date(2028, 1, 31), "reassess_1m", date(2028, 2, 29)),
        (date(2026, 11, 30), "hba1c", date(2027, 2, 28)),
        (date(2028, 2, 29), "monofilament", date(2029, 2, 28)),
        (date(2026, 12, 25), "reassess_2w", date(2027, 1, 8)),
    ],
)
def test_due_dates_at_month_and_year_ends(last: date, kind: str, due: date) -> None:
    assert first_due_date(BY_KIND[kind], last) == due


@given(st.integers(min_value=1, max_value=10_000))
def test_backoff_grows_and_is_capped(attempts: int) -> None:
    assert FIRST_RETRY <= backoff(attempts) <= MAX_RETRY
    assert backoff(attempts) <= backoff(attempts + 1)


def test_backoff_doubles_from_one_minute_to_one_hour() -> None:
    minutes = [backoff(n) // timedelta(minutes=1) for n in range(1, 9)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60]


def test_channels_default_to_the_log_and_reject_unknown_urls() -> None:
    assert parse_notify([]) == [LOG]
    assert parse_notify(["file:///tmp/r.jsonl", "https://hooks.example/x"]) == [
        "file:///tmp/r.jsonl",
        "https://hooks.example/x",
    ]
    for bad in ("ftp://x/y", "smtp://mail.example:25", "file://server/share/r.jsonl", "http://"):
        with pytest.raises(InvalidInput, match="IVIG_NOTIFY"):
            parse_notify([bad])


def test_passwords_are_never_stored_but_found_again_for_delivery() -> None:
    url = "smtp://ivig:s3cret@mail.example:587?to=a@example.org"
    name = redact(url)
    assert "s3cret" not in name and name.startswith("smtp://ivig:***@mail.example:587")
    assert resolve(name, ["file:///tmp/x", url]) == url
    assert resolve("file:///tmp/gone", [url]) == "file:///tmp/gone"
