"""The Kaplan-Meier fits the report makes: a published table, and weights = rows.

The report fits a weighted time table (each distinct time and outcome once, with
how many courses share it). These tests pin that to a published Kaplan-Meier table
and to the one-row-per-course fit it replaces.
"""

from __future__ import annotations

import random

import pytest

from workflow.reports.figures import TimeTable
from workflow.reports.survival import fit, median_time

# Freireich et al. (Blood 1963), 6-MP arm, as tabulated by Gehan (Biometrika 1965):
# remission times in weeks, "+" censored. 21 patients, 9 relapses.
SIX_MP = [6, 6, 6, "6+", 7, "9+", 10, "10+", "11+", 13, 16, "17+", "19+", "20+", 22, 23]
SIX_MP += ["25+", "32+", "32+", "34+", "35+"]
# The Kaplan-Meier estimate at each relapse time as published (Klein & Moeschberger,
# Survival Analysis, 2nd ed., Table 4.1A; Kleinbaum & Klein, Survival Analysis, ch. 2).
PUBLISHED = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}


def _rows() -> tuple[list[float], list[bool]]:
    times = [float(str(t).rstrip("+")) for t in SIX_MP]
    return times, [not str(t).endswith("+") for t in SIX_MP]


def _weighted() -> tuple[list[float], list[bool], list[int]]:
    counts: dict[tuple[float, bool], int] = {}
    for key in zip(*_rows(), strict=True):
        counts[key] = counts.get(key, 0) + 1
    keys = sorted(counts)
    return [t for t, _ in keys], [e for _, e in keys], [counts[k] for k in keys]


def test_weighted_time_table_reproduces_the_published_6mp_table() -> None:
    durations, relapsed, weights = _weighted()
    assert len(durations) < len(SIX_MP)  # ties were folded into weights
    survival = fit(durations, relapsed, weights=weights).survival_function_.iloc[:, 0]
    for week, published in PUBLISHED.items():
        assert round(float(survival.loc[float(week)]), 3) == published
    assert median_time(durations, relapsed, weights).median == 23.0


def test_weighted_fit_is_the_per_row_fit_exactly() -> None:
    rows = fit(*_rows())
    weighted = fit(*_weighted()[:2], weights=_weighted()[2])
    assert rows.survival_function_.equals(weighted.survival_function_)
    assert rows.confidence_interval_.equals(weighted.confidence_interval_)
    assert median_time(*_rows()) == median_time(*_weighted())


@pytest.mark.parametrize("seed", range(5))
def test_time_table_median_equals_per_course_median(seed: int) -> None:
    rng = random.Random(seed)
    courses = [(rng.choice(range(0, 600, 15)), rng.random() < 0.6) for _ in range(200)]
    counts: dict[tuple[int, bool], int] = {}
    for key in courses:
        counts[key] = counts.get(key, 0) + 1
    table = TimeTable.from_days(counts)
    assert (table.courses, table.relapses) == (200, sum(r for _, r in courses))
    per_course = median_time([d / 30.4375 for d, _ in courses], [r for _, r in courses])
    assert median_time(table.months, table.relapsed, table.weights) == per_course
