"""The relapse report: one aggregate query, then the arithmetic of ``figures``.

The database does the per-course work and the counting; Python receives a few
thousand aggregated rows, never one per course:

1. per course (a subquery over the courses that reached monitoring by ``as_of``):
   ``MIN(vas)``, ``MAX(mrc_sum)`` and ``MAX(walking_distance_m)`` over its live
   assessments in the 60-day window after its last infusion (and not after
   ``as_of``), outer-joined, then the course judged in SQL: assessed, responder at
   30 % and 50 %, motor responder, re-treatment, and for a responder its follow-up
   in whole days and whether it ended in a relapse;
2. ``GROUP BY indication, days, relapsed``: one row per indication for the
   non-responders (days and relapsed are NULL) and one per distinct follow-up time
   and outcome for the responders, each row carrying the counts of its courses.

The rows add up to the counts per indication and overall, and the responders' rows
are the weighted time table the Kaplan-Meier fits take (``TimeTable``). The
comparisons are the ones of ``workflow.outcomes`` written in SQL, with the same
thresholds passed as parameters so that both compute in the same floating point;
``tests/reports/test_aggregate_equivalence.py`` checks them against the per-course
computation on random cohorts, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, Float, Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from workflow.models import Assessment, Course
from workflow.outcomes import (
    RESPONDER_REDUCTION,
    RESPONSE_WINDOW_DAYS,
    STRONG_REDUCTION,
    TOLERANCE,
)
from workflow.reports.figures import (
    ALL,
    FIGURE_NAMES,
    Figures,
    Tally,
    TimeTable,
    figures_of,
)
from workflow.reports.sql import add_days, days_between, no_index
from workflow.review.policy import MotorResponseCriteria
from workflow.states import CourseState

#: A course in one of these states has been through ``monitoring`` (the table allows
#: ``relapsed`` and ``completed`` only from ``monitoring``, ``retreated`` only from
#: ``relapsed``), so no history rows need to be read.
REACHED_MONITORING: tuple[str, ...] = (
    CourseState.MONITORING.value,
    CourseState.RELAPSED.value,
    CourseState.RETREATED.value,
    CourseState.COMPLETED.value,
)
#: The tolerance and responder threshold of ``workflow.outcomes``, so SQL and Python agree.
EPSILON = TOLERANCE
REDUCTION = RESPONDER_REDUCTION


def _reached_monitoring(as_of: ColumnElement[date]) -> list[ColumnElement[bool]]:
    # A course enters monitoring on its last infusion day (the clinical date of that
    # history row), so that date decides whether it had by ``as_of``. Nearly every
    # course reaches monitoring, so SQLite's index on state would only add a lookup
    # per row and a sort for the GROUP BY: a scan in primary-key order needs neither.
    return [
        no_index(Course.state).in_(REACHED_MONITORING),
        Course.last_infusion_date.is_not(None),
        Course.last_infusion_date <= as_of,
    ]


def _number(value: float) -> ColumnElement[float]:
    """A float parameter: the database computes with the very double Python would."""
    return literal(value, Float())


def _responder(lowest: ColumnElement[Any], reduction: float) -> ColumnElement[bool]:
    # outcomes.is_responder: lowest <= (1 - reduction) * baseline + 1e-9 (NULL: none).
    return lowest <= _number(1 - reduction) * Course.baseline_vas + _number(EPSILON)


def _motor_responder(
    best_mrc: ColumnElement[Any], best_walk: ColumnElement[Any], motor: MotorResponseCriteria
) -> ColumnElement[bool]:
    """outcomes.motor_improved in SQL: MRC sum up by the points, or walking up by the
    fraction (from a baseline of 0 m, any walking)."""
    base_walk = Course.baseline_walking_distance_m
    # A plain "/" of two doubles (SQLAlchemy's "/" would cast the divisor to NUMERIC
    # on PostgreSQL, a conversion per row), binding as tightly as SQLAlchemy's own
    # "*" and "/" (8); NULLIF keeps a zero divisor from raising.
    divide = (best_walk - base_walk).op("/", precedence=8, return_type=Float())
    fraction = divide(func.nullif(base_walk, 0))
    walking_gain = case(
        (base_walk == 0, best_walk > 0),
        else_=fraction >= _number(motor.walking_distance_fraction - EPSILON),
    )
    return or_(
        and_(
            Course.baseline_mrc_sum.is_not(None),
            best_mrc.is_not(None),
            best_mrc - Course.baseline_mrc_sum >= _number(motor.mrc_sum_points - EPSILON),
        ),
        and_(base_walk.is_not(None), best_walk.is_not(None), walking_gain),
    )


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _in_window(as_of: ColumnElement[date]) -> ColumnElement[bool]:
    """The assessment belongs to the course's response window: live, dated from L to
    L + 60 days, and not after ``as_of``."""
    return and_(
        Assessment.course_id == Course.id,
        Assessment.voided_at.is_(None),
        Assessment.date >= Course.last_infusion_date,
        Assessment.date <= add_days(Course.last_infusion_date, RESPONSE_WINDOW_DAYS),
        Assessment.date <= as_of,
    )


def _per_course(as_of: ColumnElement[date], motor: MotorResponseCriteria) -> Subquery:
    """Each monitored course judged in SQL: its flags, and a responder's follow-up.

    One row per course: the course outer-joined to its assessments in the window and
    grouped by the course's primary key (its own columns depend on it, so both
    databases allow them beside the aggregates).
    """
    lowest = func.min(Assessment.vas)
    responder = _responder(lowest, REDUCTION)
    # outcomes.time_to_relapse: a relapse dated after as_of had not happened yet;
    # otherwise censored at the close (if by as_of, and not before L) or at as_of.
    relapsed = and_(Course.relapse_date.is_not(None), Course.relapse_date <= as_of)
    to_close = days_between(Course.last_infusion_date, Course.ended_on)
    closed = and_(Course.ended_on.is_not(None), Course.ended_on <= as_of)
    follow_up = case(
        (relapsed, days_between(Course.last_infusion_date, Course.relapse_date)),
        (closed, case((to_close < 0, 0), else_=to_close)),
        else_=days_between(Course.last_infusion_date, as_of),
    )
    # Both NULL for a non-responder, whose rows then collapse into one per indication.
    days = case((responder, follow_up))
    ended_in_relapse = case((responder, _flag(relapsed)))
    retreatment = Course.prior_course_id.is_not(None)
    motor_responder = _motor_responder(
        func.max(Assessment.mrc_sum), func.max(Assessment.walking_distance_m), motor
    )
    return (
        select(
            Course.indication.label("indication"),
            days.label("days"),
            ended_in_relapse.label("relapsed"),
            _flag(lowest.is_not(None)).label("assessed"),
            _flag(responder).label("responder"),
            _flag(_responder(lowest, STRONG_REDUCTION)).label("responder_50"),
            _flag(motor_responder).label("motor"),
            _flag(retreatment).label("retreatment"),
            _flag(and_(retreatment, responder)).label("retreatment_responder"),
        )
        .select_from(Course)
        .outerjoin(Assessment, _in_window(as_of))
        .where(*_reached_monitoring(as_of))
        .group_by(Course.id)
        .subquery("judged")
    )


def report_query(as_of: date, motor: MotorResponseCriteria | None = None) -> Select[Any]:
    """The one statement: counts per (indication, follow-up days, relapsed)."""
    judged = _per_course(literal(as_of, Date()), motor or MotorResponseCriteria())
    c = judged.c
    return select(
        c.indication,
        c.days,
        c.relapsed,
        func.count(),
        func.sum(c.assessed),
        func.sum(c.responder),
        func.sum(c.responder_50),
        func.sum(c.motor),
        func.sum(c.retreatment),
        func.sum(c.retreatment_responder),
    ).group_by(c.indication, c.days, c.relapsed)


@dataclass(frozen=True)
class RelapseReport:
    as_of: date
    overall: Figures
    by_indication: dict[str, Figures]
    # The Kaplan-Meier input per indication (weighted), kept for the plot.
    times: dict[str, TimeTable]

    def as_json(self) -> dict[str, Any]:
        """The contract's document: ``as_of``, the figures, then ``by_indication``."""
        return {
            "as_of": self.as_of.isoformat(),
            **self.overall.as_json(),
            "by_indication": {name: f.as_json() for name, f in self.by_indication.items()},
        }


def assemble(rows: Iterable[Any], as_of: date) -> RelapseReport:
    """The report from the query's rows (pure; no database).

    Each row: indication, days, relapsed (both None for non-responders), then the
    ``Tally`` fields in order. Indications come in alphabetical order.
    """
    numbers: dict[str, list[Sequence[int]]] = {}
    counts: dict[str, dict[tuple[int, bool], int]] = {}
    everything: dict[tuple[int, bool], int] = {}
    for indication, days, relapsed, *row in rows:
        numbers.setdefault(indication, []).append(row)
        table = counts.setdefault(indication, {})
        if days is not None:
            key = (int(days), bool(relapsed))
            table[key] = table.get(key, 0) + int(row[0])
            everything[key] = everything.get(key, 0) + int(row[0])
    tallies = {name: Tally.total(numbers[name]) for name in numbers}
    times = {name: TimeTable.from_days(counts[name]) for name in sorted(tallies)}
    return RelapseReport(
        as_of=as_of,
        overall=figures_of(
            Tally.total(t.counts() for t in tallies.values()), TimeTable.from_days(everything)
        ),
        by_indication={name: figures_of(tallies[name], times[name]) for name in times},
        times={name: table for name, table in times.items() if table.weights},
    )


def relapse_report(
    session: Session, as_of: date, motor: MotorResponseCriteria | None = None
) -> RelapseReport:
    return assemble(session.execute(report_query(as_of, motor)), as_of)


def csv_text(report: RelapseReport) -> str:
    """One row per indication, then one for all courses (``indication`` = "all")."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["indication", *FIGURE_NAMES])
    groups = [*report.by_indication.items(), (ALL, report.overall)]
    for name, figures in groups:
        values = figures.as_json()
        writer.writerow([name, *("" if values[k] is None else values[k] for k in FIGURE_NAMES)])
    return buffer.getvalue()
