"""The responder and time-to-relapse arithmetic, as properties (no database)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.outcomes import DAYS_PER_MONTH, is_responder, response, time_to_relapse
from workflow.reports.figures import CourseFacts, judge, summarize

LAST = date(2026, 1, 9)
tenths = st.integers(min_value=0, max_value=100)  # VAS 0.0 … 10.0 in steps of 0.1
visits = st.lists(st.tuples(st.integers(min_value=-10, max_value=120), tenths), max_size=6)


@given(baseline=tenths, points=visits)
def test_responder_iff_lowest_in_window_at_most_70_percent(
    baseline: int, points: list[tuple[int, int]]
) -> None:
    assessments = [(LAST + timedelta(days=d), v / 10) for d, v in points]
    in_window = [v for d, v in points if 0 <= d <= 60]
    # Exact in integers: lowest/10 <= 0.7 * baseline/10  <=>  10 * lowest <= 7 * baseline.
    expected = bool(in_window) and 10 * min(in_window) <= 7 * baseline
    result = response(baseline_vas=baseline / 10, last_infusion=LAST, assessments=assessments)
    assert result.responder == expected
    lowest = min(in_window) / 10 if in_window else None
    assert is_responder(lowest_vas=lowest, baseline_vas=baseline / 10) == expected


@given(baseline=tenths, lowest=tenths)
def test_halving_implies_responding(baseline: int, lowest: int) -> None:
    strong = is_responder(
        lowest_vas=lowest / 10, baseline_vas=baseline / 10, reduction_threshold=0.5
    )
    assert strong == (2 * lowest <= baseline)
    if strong:
        assert is_responder(lowest_vas=lowest / 10, baseline_vas=baseline / 10)


dates_after = st.integers(min_value=0, max_value=900)


@given(relapse=st.none() | dates_after, ended=st.none() | dates_after, as_of=dates_after)
def test_time_to_relapse_is_censored_at_close_or_as_of(
    relapse: int | None, ended: int | None, as_of: int
) -> None:
    day = lambda n: LAST + timedelta(days=n)  # noqa: E731
    result = time_to_relapse(
        last_infusion=LAST,
        relapse_date=None if relapse is None else day(relapse),
        ended_on=None if ended is None else day(ended),
        as_of=day(as_of),
    )
    assert result.relapsed == (relapse is not None and relapse <= as_of)
    if result.relapsed:
        days = relapse
    else:
        days = min(ended, as_of) if ended is not None else as_of
    assert round(result.months * DAYS_PER_MONTH) == days


course = st.builds(
    CourseFacts,
    course_id=st.integers(1, 10_000),
    indication=st.sampled_from(["dlrpn", "other"]),
    baseline_vas=st.integers(0, 10).map(float),
    last_infusion=st.just(LAST),
    relapse_date=st.none() | dates_after.map(lambda n: LAST + timedelta(days=n)),
    ended_on=st.none(),
    prior_course_id=st.none() | st.just(1),
    lowest_vas=st.none() | st.integers(0, 10).map(float),
)


@settings(max_examples=40, deadline=None)
@given(courses=st.lists(course, max_size=12), as_of=dates_after)
def test_figures_are_consistent(courses: list[CourseFacts], as_of: int) -> None:
    when = LAST + timedelta(days=as_of)
    figures = summarize([judge(c, when) for c in courses])
    assert figures.courses_monitored == len(courses)
    assert figures.relapses <= figures.responders <= figures.assessed <= len(courses)
    assert figures.responders_50 <= figures.responders
    assert (figures.relapse_rate is None) == (figures.responders == 0)
    if figures.relapses == 0:
        assert figures.median_months_to_relapse is None
    if figures.median_months_to_relapse is not None:
        assert figures.median_months_to_relapse >= 0
