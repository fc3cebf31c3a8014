"""The report's aggregate SQL gives the figures of the plain per-course computation.

A seeded random cohort (with the awkward cases on purpose: VAS exactly at 70 % and
50 % of baseline, baseline 0, voided and out-of-window assessments, assessments
after ``as_of``, relapses and closes after ``as_of``, closes before the last
infusion, walking from 0 m, re-treatments, courses that never reached monitoring)
is bulk-inserted, then the report is compared, figure by figure and exactly, with
the per-course reference: every course and assessment read back as plain rows,
the window and the lowest VAS found in Python, each course judged by
``figures.judge`` and each group summed by ``figures.summarize`` (one Kaplan-Meier
row per responder, no weights). On SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from workflow.db import engine_for, transaction
from workflow.models import Assessment, Course, Patient
from workflow.outcomes import RESPONSE_WINDOW_DAYS
from workflow.reports.figures import CourseFacts, by_indication, judge, summarize
from workflow.reports.relapse import REACHED_MONITORING, relapse_report
from workflow.review.policy import MotorResponseCriteria
from workflow.synthetic import bulk_course_row

START = date(2025, 1, 1)
NOW = datetime(2026, 11, 1, tzinfo=UTC)
INDICATIONS = ("dlrpn", "dlrpn", "dlrpn", "lumbosacral_plexus_neuritis", "ici_neuropathy", "other")
STATES = (*REACHED_MONITORING * 3, "infusing", "discontinued", "reviewed")
AS_OF = (date(2025, 3, 1), date(2025, 9, 30), date(2026, 4, 15), date(2026, 11, 1))


def _vas(rng: random.Random, baseline: float) -> float | None:
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.3:  # on the thresholds themselves
        return round(baseline * rng.choice((0.7, 0.5)), 1)
    return round(rng.uniform(0, 10), 1)


def _course(number: int, rng: random.Random) -> dict[str, Any]:
    state = rng.choice(STATES)
    # Dates on a coarse grid, so that many responders share a follow-up time (the
    # weighted time table then has weights above 1, and ties at relapses and censoring).
    last = None if state == "reviewed" else START + timedelta(days=7 * rng.randint(0, 90))
    relapse = ended = None
    if last is not None and rng.random() < 0.6:
        relapse = last + timedelta(days=rng.choice((0, 30, 61, 120, 182, 240, 365)))
    if last is not None and rng.random() < 0.3:
        ended = last + timedelta(days=rng.choice((-3, 0, 61, 182, 300)))
    baseline = rng.choice((0.0, 6.0, 8.0, 10.0, round(rng.uniform(0, 10), 1)))
    walk = rng.choice((None, 0.0, 150.0, 37.5, round(rng.uniform(0, 500), 1)))
    return bulk_course_row(
        number=number,
        patient_id=number,
        at=NOW,
        prior_course_id=rng.randint(1, number - 1) if number > 1 and rng.random() < 0.2 else None,
        state=state,
        indication=rng.choice(INDICATIONS),
        baseline_vas=baseline,
        baseline_mrc_sum=rng.choice((None, 40, 48, 56)),
        baseline_walking_distance_m=walk,
        requested_on=START,
        first_infusion_date=None if last is None else last - timedelta(days=4),
        last_infusion_date=last,
        relapse_date=relapse,
        ended_on=ended,
    )


def _assessments(course: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    last = course["last_infusion_date"] or START
    rows = []
    for _ in range(rng.randint(0, 4)):
        walk = course["baseline_walking_distance_m"]
        rows.append(
            {
                "course_id": course["id"],
                "date": last + timedelta(days=rng.choice((-1, 0, 14, 30, 59, 60, 61, 90))),
                "vas": _vas(rng, course["baseline_vas"]),
                "mrc_sum": rng.choice((None, 40, 44, 52, 60)),
                "walking_distance_m": rng.choice(
                    (None, 0.0, 10.0, None if walk is None else walk * 1.5, 300.0)
                ),
                "actor": "test",
                "recorded_at": NOW,
                "voided_at": NOW if rng.random() < 0.1 else None,
            }
        )
    return rows


def build(url: str, seed: int, courses: int) -> None:
    rng = random.Random(seed)
    rows = [_course(n, rng) for n in range(1, courses + 1)]
    patients = [
        {
            "id": n,
            "mrn": f"EQ{n:05d}",
            "name": f"Test {n}",
            "birth_date": date(1960, 1, 1),
            "sex": "female",
            "weight_kg": 80.0,
            "diabetes": "type2",
            "created_at": NOW,
        }
        for n in range(1, courses + 1)
    ]
    assessments = [a for row in rows for a in _assessments(row, rng)]
    with engine_for(url).begin() as conn:
        conn.execute(insert(Patient), patients)
        conn.execute(insert(Course), rows)
        conn.execute(insert(Assessment), assessments)


def per_course_facts(url: str, as_of: date) -> list[CourseFacts]:
    """The reference: plain rows, every decision in Python, one course at a time."""
    with engine_for(url).connect() as conn:
        courses = conn.execute(select(Course)).mappings().all()
        visits = conn.execute(select(Assessment)).mappings().all()
    facts = []
    for c in courses:
        last = c["last_infusion_date"]
        if c["state"] not in REACHED_MONITORING or last is None or last > as_of:
            continue
        window = [
            a
            for a in visits
            if a["course_id"] == c["id"]
            and a["voided_at"] is None
            and last <= a["date"] <= last + timedelta(days=RESPONSE_WINDOW_DAYS)
            and a["date"] <= as_of
        ]
        vas = [a["vas"] for a in window if a["vas"] is not None]
        mrc = [a["mrc_sum"] for a in window if a["mrc_sum"] is not None]
        walked = [a["walking_distance_m"] for a in window if a["walking_distance_m"] is not None]
        facts.append(
            CourseFacts(
                course_id=c["id"],
                indication=c["indication"],
                baseline_vas=c["baseline_vas"],
                last_infusion=last,
                relapse_date=c["relapse_date"],
                ended_on=c["ended_on"],
                prior_course_id=c["prior_course_id"],
                lowest_vas=min(vas) if vas else None,
                baseline_mrc_sum=c["baseline_mrc_sum"],
                best_mrc_sum=max(mrc) if mrc else None,
                baseline_walking_m=c["baseline_walking_distance_m"],
                best_walking_m=max(walked) if walked else None,
            )
        )
    return facts


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_aggregated_figures_equal_the_per_course_computation(db_url: str, seed: int) -> None:
    build(db_url, seed, courses=300)
    motor = MotorResponseCriteria(mrc_sum_points=4, walking_distance_fraction=0.5)
    checked = 0
    for as_of in AS_OF:
        outcomes = [judge(f, as_of, motor) for f in per_course_facts(db_url, as_of)]
        groups = by_indication(outcomes)
        with transaction(engine_for(db_url), read_only=True) as session:
            report = relapse_report(session, as_of, motor)
        assert report.overall == summarize(outcomes), as_of
        assert report.by_indication == {name: summarize(g) for name, g in groups.items()}
        for name, group in groups.items():
            responders = [o.follow_up for o in group if o.follow_up is not None]
            table = report.times.get(name)
            assert (table.courses if table else 0) == len(responders)
            assert (table.relapses if table else 0) == sum(t.relapsed for t in responders)
        checked += report.overall.responders
    # The cohort exercised what it is meant to: responders, relapses, a median.
    assert checked > 100
    assert report.overall.relapses > 0
    assert report.overall.median_months_to_relapse is not None
    assert max(report.times["dlrpn"].weights) > 1
