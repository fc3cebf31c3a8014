"""Times the relapse report on a large synthetic cohort made by bulk inserts.

    python scripts/bench_report.py [--courses 100000] [--database-url URL] [--seed 1]
        [--repeat 5] [--reuse]

The cohort is written with SQLAlchemy Core ``insert`` of many rows at a time (not
through the services, which would take one transaction per event). The report is
then timed against a hand-written SQL statement (``text()``) that computes
everything the report prints: the counts per indication and the responders'
weighted time table the Kaplan-Meier medians are fitted on (only the divisions and
the fits are left out). Before timing, the script checks that the statement's rows
give the report's figures exactly. The two run turn about, best of ``--repeat``
each, in this one process; the ratio says what SQLAlchemy, the Python arithmetic
and the Kaplan-Meier fits cost beyond the SQL. Nothing is asserted: this prints
timings only.

Without ``--database-url`` a fresh SQLite file in a temporary directory is used. On
a database of your own, the tables should be empty (it refuses otherwise), unless
``--reuse`` asks to measure the courses an earlier run left there.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
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
from workflow.reports.relapse import assemble, relapse_report
from workflow.synthetic import bulk_course_row

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
    return bulk_course_row(
        number=number,
        patient_id=patient_id,
        at=now,
        # One course in five is a re-treatment (of an earlier course in the table).
        prior_course_id=rng.randint(1, number - 1) if number > 1 and rng.random() < 0.2 else None,
        state=state,
        indication=rng.choice(INDICATIONS),
        baseline_vas=float(rng.randint(5, 9)),
        baseline_mrc_sum=rng.randint(30, 56),
        baseline_walking_distance_m=float(rng.choice((0, 50, 100, 150, 200, 300))),
        requested_by="dr.bench",
        entered_by="coordinator.bench",
        requested_on=last - timedelta(days=14),
        policy_version="bench",
        first_infusion_date=last - timedelta(days=4),
        last_infusion_date=last,
        relapse_date=relapse,
        ended_on=ended,
    )


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
                    "mrc_sum": min(60, row["baseline_mrc_sum"] + rng.randint(-2, 8)),
                    "walking_distance_m": row["baseline_walking_distance_m"]
                    * rng.choice((0.8, 1.0, 1.3, 1.5, 2.0)),
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


#: The per-database pieces of the hand-written statement: L + 60 days, and whole days
#: between two dates.
_WINDOW_END = {"sqlite": "date(c.last_infusion_date, '+60 days')"}
_DEFAULT_WINDOW_END = "(c.last_infusion_date + 60)"


def _days(dialect: str, start: str, end: str) -> str:
    if dialect == "sqlite":
        return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"
    return f"({end} - {start})"


def hand_written_sql(engine: Engine, as_of: date = AS_OF) -> list[Any]:
    """Everything the relapse report prints, in one hand-written statement.

    The same rows as the report's query: per indication, follow-up days and relapse
    (both NULL for non-responders), the number of courses and the counts of assessed,
    responders at 30 % and 50 %, motor responders (the default policy's 4 MRC points
    or +50 % walking), re-treatments and re-treated responders. Summed per
    indication they are every count of the report; the responders' rows are the
    weighted time table its Kaplan-Meier medians are fitted on. Only the divisions
    (rates) and the fits are left to the caller.

    ``scripts/bench.py`` uses it too, as the relapse report's baseline."""
    dialect = engine.dialect.name
    window_end = _WINDOW_END.get(dialect, _DEFAULT_WINDOW_END)
    as_of_sql = ":as_of" if dialect == "sqlite" else "CAST(:as_of AS DATE)"
    to_relapse = _days(dialect, "c.last_infusion_date", "c.relapse_date")
    to_close = _days(dialect, "c.last_infusion_date", "c.ended_on")
    to_as_of = _days(dialect, "c.last_infusion_date", as_of_sql)
    state = "+c.state" if dialect == "sqlite" else "c.state"  # as the report: no index
    responder = "MIN(a.vas) <= 0.7 * c.baseline_vas + 1e-9"
    sql = text(
        f"""
        SELECT indication, days, relapsed, COUNT(*), SUM(assessed), SUM(responder),
               SUM(responder_50), SUM(motor), SUM(retreatment), SUM(retreatment * responder)
        FROM (
            SELECT c.indication,
                   CASE WHEN {responder} THEN
                       CASE WHEN c.relapse_date <= {as_of_sql} THEN {to_relapse}
                            WHEN c.ended_on <= {as_of_sql} AND {to_close} > 0 THEN {to_close}
                            WHEN c.ended_on <= {as_of_sql} THEN 0
                            ELSE {to_as_of} END
                   END AS days,
                   CASE WHEN {responder} THEN
                       CASE WHEN c.relapse_date <= {as_of_sql} THEN 1 ELSE 0 END
                   END AS relapsed,
                   CASE WHEN MIN(a.vas) IS NOT NULL THEN 1 ELSE 0 END AS assessed,
                   CASE WHEN {responder} THEN 1 ELSE 0 END AS responder,
                   CASE WHEN MIN(a.vas) <= 0.5 * c.baseline_vas + 1e-9 THEN 1 ELSE 0 END
                       AS responder_50,
                   CASE WHEN MAX(a.mrc_sum) - c.baseline_mrc_sum >= 4
                          OR (c.baseline_walking_distance_m = 0 AND MAX(a.walking_distance_m) > 0)
                          OR (MAX(a.walking_distance_m) - c.baseline_walking_distance_m)
                             / NULLIF(c.baseline_walking_distance_m, 0) >= 0.499999999
                        THEN 1 ELSE 0 END AS motor,
                   CASE WHEN c.prior_course_id IS NOT NULL THEN 1 ELSE 0 END AS retreatment
            FROM courses c
            LEFT JOIN assessments a
              ON a.course_id = c.id AND a.voided_at IS NULL
             AND a.date >= c.last_infusion_date AND a.date <= {window_end}
             AND a.date <= {as_of_sql}
            WHERE {state} IN ('monitoring', 'relapsed', 'retreated', 'completed')
              AND c.last_infusion_date <= {as_of_sql}
            GROUP BY c.id
        ) judged
        GROUP BY indication, days, relapsed
        """
    )
    value: Any = as_of.isoformat() if dialect == "sqlite" else as_of
    with transaction(engine, read_only=True) as session:
        return list(session.execute(sql, {"as_of": value}).all())


def interleaved(
    repeat: int, first: Callable[[], object], second: Callable[[], object]
) -> tuple[list[float], list[float]]:
    """Each job's timings, the two run turn about so both see the same machine load."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        for job, timings in ((first, a), (second, b)):
            start = time.perf_counter()
            job()
            timings.append(time.perf_counter() - start)
    return a, b


def interleaved_best(
    repeat: int, first: Callable[[], object], second: Callable[[], object]
) -> tuple[float, float]:
    """Best time of each job, the two run turn about so both see the same machine load."""
    a, b = interleaved(repeat, first, second)
    return min(a), min(b)


def same_figures(engine: Engine, as_of: date = AS_OF) -> bool:
    """Whether the hand-written statement gives the report's figures (checked, not timed)."""
    with transaction(engine, read_only=True) as session:
        ours = relapse_report(session, as_of)
    theirs = assemble(hand_written_sql(engine, as_of), as_of)
    return ours.as_json() == theirs.as_json() and ours.times == theirs.times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--courses", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="best of this many runs")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the courses already in the database"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = engine_for(url)
        upgrade(engine)
        with engine.connect() as conn:
            existing = conn.scalar(select(func.count()).select_from(Course))
        if existing and not args.reuse:
            sys.stderr.write(
                "bench_report: the database already holds courses; use an empty one "
                "(or --reuse to measure them).\n"
            )
            return 1
        if not existing:
            start = time.perf_counter()
            build(engine, args.courses, args.seed)
            took = time.perf_counter() - start
            print(f"built {args.courses} courses by bulk insert in {took:.1f} s")
            if engine.dialect.name == "postgresql":
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
        else:
            print(f"measuring the {existing} courses already in the database")

        def report() -> object:
            with transaction(engine, read_only=True) as session:
                return relapse_report(session, AS_OF)

        with engine.connect() as conn:
            courses = conn.scalar(select(func.count()).select_from(Course))
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(f"{stamp}: {engine.dialect.name}, {courses} courses, best of {args.repeat}")
        report()  # warm up: imports lifelines, fills caches
        print(f"the hand-written SQL gives the report's figures: {same_figures(engine)}")
        sql_runs, report_runs = interleaved(args.repeat, lambda: hand_written_sql(engine), report)
        sql_seconds, report_seconds = min(sql_runs), min(report_runs)
        # On a shared machine one lucky or unlucky run moves a best-of ratio; the
        # median of the ratios of back-to-back pairs is steadier.
        pairs = statistics.median(r / s for r, s in zip(report_runs, sql_runs, strict=True))
        print(f"hand-written SQL (every figure's rows): {sql_seconds * 1000:8.1f} ms")
        print(f"relapse report (full, with KM fits):    {report_seconds * 1000:8.1f} ms")
        print(f"ratio report / SQL, best of each:       {report_seconds / sql_seconds:8.2f}")
        print(f"ratio report / SQL, median of pairs:    {pairs:8.2f}")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
