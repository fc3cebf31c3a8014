"""The relapse report: one set-based query, then the arithmetic of ``figures``.

the courses that reached monitoring by ``as_of``, with what the arithmetic needs,
outer-joined to an aggregate subquery: per course, ``MIN(vas)`` over the
assessments dated in the 60-day window after its last infusion (and not after
``as_of``), grouped in the database.

Nothing here loops over courses with a query each, so 100 000 courses cost one
round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from workflow.models import Assessment, Course
from workflow.outcomes import RESPONSE_WINDOW_DAYS
from workflow.reports.figures import (
    ALL,
    FIGURE_NAMES,
    CourseFacts,
    Figures,
    by_indication,
    judge,
    responder_times,
    summarize,
)
from workflow.reports.sql import add_days
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


def _reached_monitoring(as_of: date) -> list[ColumnElement[bool]]:
    # A course enters monitoring on its last infusion day (the clinical date of that
    # history row), so that date decides whether it had by ``as_of``.
    return [
        Course.state.in_(REACHED_MONITORING),
        Course.last_infusion_date.is_not(None),
        Course.last_infusion_date <= as_of,
    ]


def _lowest_vas_in_window(as_of: date) -> Subquery:
    """Per course, ``MIN(vas)`` of the assessments in the 60-day window, grouped in SQL."""
    return (
        select(
            Assessment.course_id.label("course_id"),
            func.min(Assessment.vas).label("lowest"),
            func.max(Assessment.mrc_sum).label("best_mrc"),
            func.max(Assessment.walking_distance_m).label("best_walk"),
        )
        .join(Course, Course.id == Assessment.course_id)
        .where(
            *_reached_monitoring(as_of),
            Assessment.voided_at.is_(None),
            Assessment.date >= Course.last_infusion_date,
            Assessment.date <= add_days(Course.last_infusion_date, RESPONSE_WINDOW_DAYS),
            Assessment.date <= as_of,
        )
        .group_by(Assessment.course_id)
        .subquery("lowest_vas")
    )


def course_facts(session: Session, as_of: date) -> list[CourseFacts]:
    """One ``CourseFacts`` per course that reached monitoring on or before ``as_of``.

    One statement: the monitored courses, outer-joined to the aggregate of their
    assessments (a course without a VAS in the window gets ``lowest_vas`` None).
    """
    lowest = _lowest_vas_in_window(as_of)
    query = (
        select(
            Course.id,
            Course.indication,
            Course.baseline_vas,
            Course.last_infusion_date,
            Course.relapse_date,
            Course.ended_on,
            Course.prior_course_id,
            lowest.c.lowest,
            Course.baseline_mrc_sum,
            lowest.c.best_mrc,
            Course.baseline_walking_distance_m,
            lowest.c.best_walk,
        )
        .outerjoin(lowest, lowest.c.course_id == Course.id)
        .where(*_reached_monitoring(as_of))
    )
    return [
        CourseFacts(
            course_id,
            indication,
            baseline,
            last,
            relapse,
            ended,
            prior,
            None if low is None else float(low),
            mrc,
            best_mrc,
            walk,
            None if best_walk is None else float(best_walk),
        )
        for (
            course_id,
            indication,
            baseline,
            last,
            relapse,
            ended,
            prior,
            low,
            mrc,
            best_mrc,
            walk,
            best_walk,
        ) in session.execute(query)
    ]


@dataclass(frozen=True)
class RelapseReport:
    as_of: date
    overall: Figures
    by_indication: dict[str, Figures]
    # The Kaplan-Meier input per indication, kept for the plot.
    times: dict[str, tuple[list[float], list[bool]]]

    def as_json(self) -> dict[str, Any]:
        """The contract's document: ``as_of``, the figures, then ``by_indication``."""
        return {
            "as_of": self.as_of.isoformat(),
            **self.overall.as_json(),
            "by_indication": {name: f.as_json() for name, f in self.by_indication.items()},
        }


def build(
    facts: list[CourseFacts], as_of: date, motor: MotorResponseCriteria | None = None
) -> RelapseReport:
    """The report from per-course facts (pure; no database). Each course is judged once."""
    outcomes = [judge(course, as_of, motor) for course in facts]
    groups = by_indication(outcomes)
    return RelapseReport(
        as_of=as_of,
        overall=summarize(outcomes),
        by_indication={name: summarize(group) for name, group in groups.items()},
        times=responder_times(groups),
    )


def relapse_report(
    session: Session, as_of: date, motor: MotorResponseCriteria | None = None
) -> RelapseReport:
    return build(course_facts(session, as_of), as_of, motor)


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
