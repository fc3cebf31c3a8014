"""The date checks of an infusion day as a property: refused exactly when out of order,
after the approval lapsed, or after too long a gap without a reason."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from workflow.errors import TransitionRefused
from workflow.review import load_policy
from workflow.service.treatment import _check_dates

POLICY = load_policy("default")
START = date(2026, 1, 1)


def _course(approved: date, last: date | None) -> Any:
    return SimpleNamespace(approved_on=approved, last_infusion_date=last)


@given(
    approved=st.integers(0, 200),
    last=st.one_of(st.none(), st.integers(0, 300)),
    on=st.integers(0, 300),
    reason=st.booleans(),
)
def test_an_infusion_date_is_refused_exactly_when_a_rule_says(
    approved: int, last: int | None, on: int, reason: bool
) -> None:
    approved_on = START + timedelta(days=approved)
    last_on = None if last is None else START + timedelta(days=last)
    day = START + timedelta(days=on)
    safety = POLICY.safety
    refused = (
        on < approved
        or on > approved + safety.approval_valid_days
        or (last is not None and on <= last)
        or (last is not None and on - last > safety.max_infusion_gap_days and not reason)
    )
    try:
        _check_dates(_course(approved_on, last_on), day, "reason" if reason else None, POLICY)
    except TransitionRefused:
        assert refused
    else:
        assert not refused
