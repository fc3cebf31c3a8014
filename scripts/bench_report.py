"""Times the relapse report on a large synthetic cohort made by bulk inserts.

    python scripts/bench_report.py [--courses 100000] [--database-url URL] [--seed 1]

The cohort is written with SQLAlchemy Core ``insert`` of many rows at a time (not
through the services, which would take one transaction per event). The report is
then timed against one hand-written SQL aggregation over the same rows in the same
process; the ratio says what the report's arithmetic and Kaplan-Meier fits cost
beyond reading the data. Nothing is asserted: this prints timings only.

Without ``--database-url`` a fresh SQLite file in a temporary directory is used. On
a database of your own, the tables should be empty (it refuses otherwise).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

from workflow.db import engine_for, transaction, upgrade
from workflow.models import Assessment, Course, Patient
from workflow.reports.relapse import relapse_report

AS_OF = date(2026, 11, 1)
INDICATIONS = ("dlrpn",) * 7 + ("lumbosacral_plexus_neuritis", "ici_neuropathy", "other")
CHUNK = 5000


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _course_row(number: int, patient_id: int, rng: random.Random) -> dict[str, Any]:
    last = AS_OF - timedelta(days=rng.randint(20, 1100))
    state, relapse, ended = "monitoring", None, None
    roll = rng.random()
    if roll < 0.35:
        relapse = last + timedelta(days=rng.randint(213, 548))
        state = "relapsed" if relapse <= AS_OF else "monitoring"
        relapse = relapse if relapse <= AS_OF else None
    elif roll < 0.6:
        ended = last + timedelta(days=rng.randint(60, 400))
        state, ended = ("completed", ended) if ended <= AS_OF else ("monitoring", None)
    now = datetime.combine(last, datetime.min.time(), UTC)
    return {
        "id": number,
        "patient_id": patient_id,
        "prior_course_id": None,
        "state": state,
        "indication": rng.choice(INDICATIONS),
        "severity_grade": 3,
        "product": "Octagam 10%",
        "dose_g_per_kg_per_day": 0.4,
        "days": 5,
        "weight_kg": 80.0,
        "dosing_weight_kg": 80.0,
        "dosing_weight_rule": "actual",
        "grams_per_day": 32.0,
        "total_grams": 160.0,
        "baseline_vas": float(rng.randint(5, 9)),
        "request": {},
        "requested_by": "dr.bench",
        "entered_by": "coordinator.bench",
        "requested_on": last - timedelta(days=14),
        "requested_at": now,
        "recommendation": {"outcome": "supported", "findings": []},
        "policy_id": "default",
        "policy_version": "bench",
        "first_infusion_date": last - timedelta(days=4),
        "last_infusion_date": last,
        "relapse_date": relapse,
        "ended_on": ended,
        "updated_at": now,
        "version": 1,
    }


def build(engine: Engine, courses: int, seed: int) -> None:
    """Patients (one per course), courses, and two or three VAS assessments each."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    patients = [
        {
            "id": n,
            "mrn": f"BENCH{n:07d}",
            "name": f"Bench {n}",
            "birth_date": date(1960, 1, 1),
            "sex": "female",
            "weight_kg": 80.0,
            "diabetes": "type2",
            "created_at": now,
        }
        for n in range(1, courses + 1)
    ]
    rows = [_course_row(n, n, rng) for n in range(1, courses + 1)]
    assessments: list[dict[str, Any]] = []
    for row in rows:
        fraction = rng.uniform(0.15, 0.65) if rng.random() < 0.7 else rng.uniform(0.8, 1.0)
        for days in (14, 30, 90)[: rng.randint(2, 3)]:
            assessments.append(
                {
                    "course_id": row["id"],
                    "date": row["last_infusion_date"] + timedelta(days=days),
                    "vas": round(row["baseline_vas"] * fraction, 1),
                    "actor": "bench",
                    "recorded_at": now,
                }
            )
    with engine.begin() as conn:
        for table, data in (
            (Patient, patients),
            (Course, rows),
            (Assessment, assessments),
        ):
            for chunk in _chunks(data):
                conn.execute(insert(table), chunk)


def hand_written_sql(engine: Engine, as_of: date = AS_OF) -> list[Any]:
    """The same counts in one SQL statement: monitored, responders, relapses by indication.

    ``scripts/bench.py`` uses it too, as the relapse report's baseline."""
    window = (
        "date(c.last_infusion_date, '+60 days')"
        if engine.dialect.name == "sqlite"
        else "(c.last_infusion_date + 60)"
    )
    sql = text(
        f"""
        SELECT c.indication,
               COUNT(*) AS monitored,
               SUM(CASE WHEN m.lowest <= 0.7 * c.baseline_vas THEN 1 ELSE 0 END) AS responders,
               SUM(CASE WHEN m.lowest <= 0.7 * c.baseline_vas
                         AND c.relapse_date <= :as_of THEN 1 ELSE 0 END) AS relapses
        FROM courses c
        LEFT JOIN (
            SELECT a.course_id, MIN(a.vas) AS lowest
            FROM assessments a JOIN courses c ON c.id = a.course_id
            WHERE a.vas IS NOT NULL AND a.date >= c.last_infusion_date
              AND a.date <= {window} AND a.date <= :as_of
            GROUP BY a.course_id
        ) m ON m.course_id = c.id
        WHERE c.state IN ('monitoring', 'relapsed', 'retreated', 'completed')
          AND c.last_infusion_date <= :as_of
        GROUP BY c.indication
        """
    )
    with engine.connect() as conn:
        return list(conn.execute(sql, {"as_of": as_of}).all())


def best_of(repeat: int, job: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--courses", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = engine_for(url)
        upgrade(engine)
        with engine.connect() as conn:
            if conn.scalar(select(func.count()).select_from(Course)):
                sys.stderr.write(
                    "bench_report: the database already holds courses; use an empty one.\n"
                )
                return 1
        start = time.perf_counter()
        build(engine, args.courses, args.seed)
        print(f"built {args.courses} courses by bulk insert in {time.perf_counter() - start:.1f} s")

        def report() -> object:
            with transaction(engine) as session:
                return relapse_report(session, AS_OF)

        report()  # warm up: imports lifelines, fills caches
        sql_seconds = best_of(args.repeat, lambda: hand_written_sql(engine))
        report_seconds = best_of(args.repeat, report)
        print(f"hand-written SQL aggregation: {sql_seconds * 1000:8.1f} ms")
        print(f"relapse report (full):        {report_seconds * 1000:8.1f} ms")
        print(f"ratio report / SQL:           {report_seconds / sql_seconds:8.2f}")
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
