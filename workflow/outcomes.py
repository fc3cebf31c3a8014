"""Response and relapse arithmetic: pure functions over dates and VAS values.

A responder (contract, "Relapse report"): the lowest VAS recorded within 60 days
after the last infusion is at most 70 % of the baseline VAS, i.e. pain fell by
30 % or more. The second seed names VAS as the measure of response and relapse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

RESPONSE_WINDOW_DAYS = 60
DAYS_PER_MONTH = 30.4375
#: The contract's responder threshold ("Relapse report"): pain fell by 30 % or more.
RESPONDER_REDUCTION = 0.30
#: Added to every "at most" comparison, so 7.0 vs 0.7 * 10 holds in binary floating point.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Response:
    """What a course's recorded assessments say about its response."""

    responder: bool
    lowest_vas: float | None
    lowest_vas_date: date | None
    reduction: float | None  # fraction of the baseline, 0.3 = 30 % less pain
    assessed: bool  # any VAS inside the window at all


def response(
    *,
    baseline_vas: float,
    last_infusion: date | None,
    assessments: Iterable[tuple[date, float | None]],
    reduction_threshold: float = RESPONDER_REDUCTION,
    window_days: int = RESPONSE_WINDOW_DAYS,
) -> Response:
    """The course's response from its (date, vas) assessments."""
    if last_infusion is None:
        return Response(False, None, None, None, False)
    end = last_infusion + timedelta(days=window_days)
    in_window = [(d, v) for d, v in assessments if v is not None and last_infusion <= d <= end]
    if not in_window:
        return Response(False, None, None, None, False)
    when, lowest = min(in_window, key=lambda pair: (pair[1], pair[0]))
    reduction = None if baseline_vas <= 0 else (baseline_vas - lowest) / baseline_vas
    # Compare as the contract states it (lowest <= 70 % of baseline); the tolerance
    # keeps 7.0 vs 0.7 * 10 from failing on binary floating point.
    responder = lowest <= (1 - reduction_threshold) * baseline_vas + TOLERANCE
    return Response(responder, lowest, when, reduction, True)


def months_between(start: date, end: date) -> float:
    """Months as the report counts them: days / 30.4375."""
    return (end - start).days / DAYS_PER_MONTH


#: The report's second, stricter responder threshold (a halving of pain).
STRONG_REDUCTION = 0.50


def is_responder(
    *,
    lowest_vas: float | None,
    baseline_vas: float,
    reduction_threshold: float = RESPONDER_REDUCTION,
) -> bool:
    """The rule of ``response()`` applied to an already-known lowest VAS in the window.

    The reports compute the lowest VAS in the database (one aggregate query), so they
    need the comparison on its own; it must agree with ``response()`` exactly.
    """
    if lowest_vas is None:
        return False
    return lowest_vas <= (1 - reduction_threshold) * baseline_vas + TOLERANCE


@dataclass(frozen=True)
class FollowUpTime:
    """Time from the last infusion to relapse, or to the end of observation."""

    months: float
    relapsed: bool  # False: censored (still in remission when observation ended)


def time_to_relapse(
    *, last_infusion: date, relapse_date: date | None, ended_on: date | None, as_of: date
) -> FollowUpTime:
    """Kaplan-Meier input for one course, as things stood on ``as_of``.

    A relapse dated after ``as_of`` had not happened yet; observation ends at the
    course's close (``ended_on``) or at ``as_of``, whichever came first.
    """
    if relapse_date is not None and relapse_date <= as_of:
        return FollowUpTime(months_between(last_infusion, relapse_date), True)
    end = ended_on if ended_on is not None and ended_on <= as_of else as_of
    return FollowUpTime(months_between(last_infusion, max(end, last_infusion)), False)


@dataclass(frozen=True)
class MotorResponse:
    """Whether motor function improved after a course, and by which measure."""

    responder: bool
    by: str | None  # e.g. "MRC sum 40 -> 55 (+15 points)"


def motor_response(
    *,
    baseline_mrc_sum: int | None,
    baseline_walking_m: float | None,
    last_infusion: date | None,
    assessments: Iterable[tuple[date, int | None, float | None]],
    min_mrc_points: float,
    min_walking_fraction: float,
    window_days: int = RESPONSE_WINDOW_DAYS,
) -> MotorResponse:
    """Best MRC sum and walking distance within the window against their baselines.

    A baseline walking distance of 0 counts any walking afterwards as an improvement.
    """
    if last_infusion is None:
        return MotorResponse(False, None)
    end = last_infusion + timedelta(days=window_days)
    window = [(m, w) for d, m, w in assessments if last_infusion <= d <= end]
    mrc = [m for m, _ in window if m is not None]
    walked = [w for _, w in window if w is not None]
    return motor_improved(
        baseline_mrc_sum=baseline_mrc_sum,
        best_mrc_sum=max(mrc) if mrc else None,
        baseline_walking_m=baseline_walking_m,
        best_walking_m=max(walked) if walked else None,
        min_mrc_points=min_mrc_points,
        min_walking_fraction=min_walking_fraction,
    )


def motor_improved(
    *,
    baseline_mrc_sum: int | None,
    best_mrc_sum: int | None,
    baseline_walking_m: float | None,
    best_walking_m: float | None,
    min_mrc_points: float,
    min_walking_fraction: float,
) -> MotorResponse:
    """The rule of ``motor_response()`` on already-known best values (the report's SQL)."""
    if baseline_mrc_sum is not None and best_mrc_sum is not None:
        gain = best_mrc_sum - baseline_mrc_sum
        if gain >= min_mrc_points - TOLERANCE:
            return MotorResponse(
                True, f"MRC sum {baseline_mrc_sum} -> {best_mrc_sum} (+{gain} points)"
            )
    if baseline_walking_m is not None and best_walking_m is not None:
        if baseline_walking_m == 0:
            improved = best_walking_m > 0
        else:
            gain_fraction = (best_walking_m - baseline_walking_m) / baseline_walking_m
            improved = gain_fraction >= min_walking_fraction - TOLERANCE
        if improved:
            return MotorResponse(
                True, f"walking distance {baseline_walking_m:g} m -> {best_walking_m:g} m"
            )
    return MotorResponse(False, None)
