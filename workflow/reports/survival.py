"""Kaplan-Meier estimates (lifelines), pure: lists of numbers in, numbers out.

The report passes a weighted time table (each distinct follow-up time and outcome
once, with how many courses share it) as lifelines' ``weights``; lifelines builds
the same event table from it as from one row per course (it sums the weights per
time), so the estimates are the same numbers. Weights must be whole numbers.

lifelines pulls in pandas and scipy, so it is imported inside the functions: the
rest of the command line does not pay for it at start-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MedianEstimate:
    """The Kaplan-Meier median and its 95 % confidence interval; None when not reached."""

    median: float | None
    lower: float | None
    upper: float | None


NOT_ESTIMABLE = MedianEstimate(None, None, None)


def _finite(value: Any) -> float | None:
    number = float(value)
    return None if math.isinf(number) or math.isnan(number) else number


def fit(
    durations: Sequence[float],
    relapsed: Sequence[bool],
    label: str = "KM",
    weights: Sequence[int] | None = None,
) -> Any:
    """A fitted ``KaplanMeierFitter`` (censored observations are kept, never dropped).

    ``weights[i]``: how many courses had ``durations[i]`` and ``relapsed[i]`` (default 1
    each). They are passed as floats, as lifelines makes its own unit weights.
    """
    from lifelines import KaplanMeierFitter

    fitter = KaplanMeierFitter(label=label)
    fitter.fit(
        list(durations),
        event_observed=list(relapsed),
        weights=None if weights is None else [float(w) for w in weights],
    )
    return fitter


def median_time(
    durations: Sequence[float], relapsed: Sequence[bool], weights: Sequence[int] | None = None
) -> MedianEstimate:
    """Median time to relapse with its 95 % CI; infinite ("not reached") becomes None."""
    if not durations:
        return NOT_ESTIMABLE
    from lifelines.utils import median_survival_times

    fitter = fit(durations, relapsed, weights=weights)
    interval = median_survival_times(fitter.confidence_interval_)
    lower, upper = interval.iloc[0, 0], interval.iloc[0, 1]
    return MedianEstimate(_finite(fitter.median_survival_time_), _finite(lower), _finite(upper))
