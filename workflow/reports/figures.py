"""The relapse report's arithmetic. No database here.

Two ways in, one way out (``Figures``):

- the report's own: ``Tally`` (counts of a group of courses, summed in SQL) and
  ``TimeTable`` (the responders' follow-up times, counted per distinct time and
  outcome in SQL) give ``figures_of()``;
- the reference: ``CourseFacts`` (one per course) are judged one by one
  (``judge``) and summed in Python (``summarize``). The tests check on random
  cohorts that both give the same figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

from workflow.outcomes import (
    DAYS_PER_MONTH,
    STRONG_REDUCTION,
    FollowUpTime,
    is_responder,
    motor_improved,
    time_to_relapse,
)
from workflow.reports.survival import median_time
from workflow.review.policy import MotorResponseCriteria

ALL = "all"


@dataclass(frozen=True, slots=True)
class CourseFacts:
    """What the report needs of one course that reached monitoring (one query row)."""

    course_id: int
    indication: str
    baseline_vas: float
    last_infusion: date
    relapse_date: date | None
    ended_on: date | None
    prior_course_id: int | None
    lowest_vas: float | None  # lowest VAS within 60 days of the last infusion, up to as_of
    # Motor function: baselines and the best values in the same window (None: not recorded).
    baseline_mrc_sum: int | None = None
    best_mrc_sum: int | None = None
    baseline_walking_m: float | None = None
    best_walking_m: float | None = None


@dataclass(frozen=True, slots=True)
class CourseOutcome:
    """One course judged once: response at both thresholds and, for a responder, its
    time to relapse (or to censoring)."""

    indication: str
    assessed: bool
    responder: bool
    strong_responder: bool
    retreatment: bool
    follow_up: FollowUpTime | None  # responders only
    # Motor function improved by the policy's thresholds (reported beside, never instead
    # of, the contract's pain definition of a responder).
    motor_responder: bool = False


def judge(
    course: CourseFacts, as_of: date, motor: MotorResponseCriteria | None = None
) -> CourseOutcome:
    criteria = motor or MotorResponseCriteria()
    motor_responder = motor_improved(
        baseline_mrc_sum=course.baseline_mrc_sum,
        best_mrc_sum=course.best_mrc_sum,
        baseline_walking_m=course.baseline_walking_m,
        best_walking_m=course.best_walking_m,
        min_mrc_points=criteria.mrc_sum_points,
        min_walking_fraction=criteria.walking_distance_fraction,
    ).responder
    responder = is_responder(lowest_vas=course.lowest_vas, baseline_vas=course.baseline_vas)
    strong = is_responder(
        lowest_vas=course.lowest_vas,
        baseline_vas=course.baseline_vas,
        reduction_threshold=STRONG_REDUCTION,
    )
    follow_up = (
        time_to_relapse(
            last_infusion=course.last_infusion,
            relapse_date=course.relapse_date,
            ended_on=course.ended_on,
            as_of=as_of,
        )
        if responder
        else None
    )
    return CourseOutcome(
        indication=course.indication,
        assessed=course.lowest_vas is not None,
        responder=responder,
        strong_responder=strong,
        retreatment=course.prior_course_id is not None,
        follow_up=follow_up,
        motor_responder=motor_responder,
    )


@dataclass(frozen=True)
class Figures:
    """The report's figures for one group of courses (all, or one indication)."""

    courses_monitored: int
    assessed: int  # courses with any VAS in the 60-day window
    responders: int
    # Courses whose MRC sum or walking distance improved by the policy's thresholds.
    motor_responders: int
    relapses: int
    relapse_rate: float | None
    median_months_to_relapse: float | None
    median_months_to_relapse_ci95_lower: float | None
    median_months_to_relapse_ci95_upper: float | None
    response_rate_30: float | None
    responders_50: int
    response_rate_50: float | None
    retreatments: int
    retreatment_responders: int
    retreatment_response_rate: float | None

    def as_json(self) -> dict[str, Any]:
        """Rates to 4 decimals, months to 2: more would be false precision."""
        out: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if isinstance(value, float):
                value = round(value, 2 if "months" in name else 4)
            out[name] = value
        return out


FIGURE_NAMES: tuple[str, ...] = tuple(Figures.__dataclass_fields__)


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True, slots=True)
class Tally:
    """The counts of one group of monitored courses; all additive, so groups add up."""

    courses_monitored: int = 0
    assessed: int = 0
    responders: int = 0
    responders_50: int = 0
    motor_responders: int = 0
    retreatments: int = 0
    retreatment_responders: int = 0

    @classmethod
    def total(cls, rows: Iterable[Sequence[int]]) -> Tally:
        """The sum of rows of counts, each in the order of the fields."""
        columns = list(zip(*rows, strict=True))
        if not columns:
            return cls()
        return cls(*(int(sum(column)) for column in columns))

    def counts(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in TALLY_FIELDS)


TALLY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Tally))


@dataclass(frozen=True)
class TimeTable:
    """Responders' time to relapse, weighted: each distinct (months, relapsed) once,
    with ``weights`` saying how many courses share it. Sorted by time, censored first."""

    months: tuple[float, ...] = ()
    relapsed: tuple[bool, ...] = ()
    weights: tuple[int, ...] = ()

    @classmethod
    def from_days(cls, counts: Mapping[tuple[int, bool], int]) -> TimeTable:
        """From ``{(days, relapsed): courses}``; months = days / 30.4375, as per course."""
        keys = sorted(counts)
        return cls(
            months=tuple(days / DAYS_PER_MONTH for days, _ in keys),
            relapsed=tuple(relapsed for _, relapsed in keys),
            weights=tuple(counts[key] for key in keys),
        )

    @property
    def courses(self) -> int:
        return sum(self.weights)

    @property
    def relapses(self) -> int:
        return sum(w for w, relapsed in zip(self.weights, self.relapsed, strict=True) if relapsed)


def figures_of(tally: Tally, table: TimeTable) -> Figures:
    """The figures of one group from its counts and its responders' time table."""
    median = median_time(table.months, table.relapsed, table.weights)
    relapses = table.relapses
    monitored = tally.courses_monitored
    return Figures(
        courses_monitored=monitored,
        assessed=tally.assessed,
        responders=tally.responders,
        motor_responders=tally.motor_responders,
        relapses=relapses,
        relapse_rate=rate(relapses, tally.responders),
        median_months_to_relapse=median.median,
        median_months_to_relapse_ci95_lower=median.lower,
        median_months_to_relapse_ci95_upper=median.upper,
        response_rate_30=rate(tally.responders, monitored),
        responders_50=tally.responders_50,
        response_rate_50=rate(tally.responders_50, monitored),
        retreatments=tally.retreatments,
        retreatment_responders=tally.retreatment_responders,
        retreatment_response_rate=rate(tally.retreatment_responders, tally.retreatments),
    )


def summarize(outcomes: Sequence[CourseOutcome]) -> Figures:
    """The figures of one group, course by course (the reference for ``figures_of()``).

    Responders' follow-up is censored, never dropped; the Kaplan-Meier fit gets one
    row per responder."""
    times = [o.follow_up for o in outcomes if o.follow_up is not None]
    responders = len(times)
    relapses = sum(t.relapsed for t in times)
    median = median_time([t.months for t in times], [t.relapsed for t in times])
    strong = sum(o.strong_responder for o in outcomes)
    retreatments = [o for o in outcomes if o.retreatment]
    retreated_responders = sum(o.responder for o in retreatments)
    return Figures(
        courses_monitored=len(outcomes),
        assessed=sum(o.assessed for o in outcomes),
        responders=responders,
        motor_responders=sum(o.motor_responder for o in outcomes),
        relapses=relapses,
        relapse_rate=rate(relapses, responders),
        median_months_to_relapse=median.median,
        median_months_to_relapse_ci95_lower=median.lower,
        median_months_to_relapse_ci95_upper=median.upper,
        response_rate_30=rate(responders, len(outcomes)),
        responders_50=strong,
        response_rate_50=rate(strong, len(outcomes)),
        retreatments=len(retreatments),
        retreatment_responders=retreated_responders,
        retreatment_response_rate=rate(retreated_responders, len(retreatments)),
    )


def by_indication(outcomes: Iterable[CourseOutcome]) -> dict[str, list[CourseOutcome]]:
    """Courses grouped by indication, the groups in alphabetical order."""
    groups: dict[str, list[CourseOutcome]] = {}
    for outcome in outcomes:
        groups.setdefault(outcome.indication, []).append(outcome)
    return dict(sorted(groups.items()))
