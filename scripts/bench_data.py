"""The synthetic programme for ``scripts/bench.py``, written by bulk inserts.

Shape at ``--scale 1``: 100 000 patients (80 % with diabetes), 1-5 courses each
(~300 000), the course-level follow-ups of every course that reached monitoring and
the patient-level HbA1c / monofilament series of each diabetic patient (~1.5 million
follow-ups), plus history rows, reviews and outcome assessments. Dates spread over
about five years before ``TODAY``; the follow-up statuses are what a programme whose
scheduler runs every day would hold: closed in the past (done or cancelled), a small
share never completed (raised, escalated), the last week's raised and not yet done,
and everything still to come scheduled.

Rows are written a patient chunk at a time: SQLAlchemy Core ``insert()`` with lists of
dicts on SQLite, ``COPY … FROM STDIN`` through psycopg on PostgreSQL. Ids are given
explicitly (so rows can refer to each other without a round trip); the PostgreSQL
sequences are moved past them afterwards.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine, Table, insert, text

from workflow.models import (
    Assessment,
    Course,
    Event,
    FollowUp,
    Patient,
    Review,
    normalise_mrn,
)

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
REQUESTER = "dr.requester"
PATIENTS_AT_SCALE_1 = 100_000
CHUNK_PATIENTS = 2_000
SQLITE_ROWS_PER_EXECUTE = 5_000

INDICATIONS = ("dlrpn",) * 7 + ("lumbosacral_plexus_neuritis", "ici_neuropathy", "other")
#: Share of past follow-ups never completed: raised once, escalated, still open.
LOST_TO_FOLLOW_UP = 0.02

TABLES: tuple[Table, ...] = tuple(
    m.__table__  # type: ignore[misc]
    for m in (Patient, Course, Review, Event, Assessment, FollowUp)
)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), UTC)


@dataclass
class Rows:
    """One chunk's rows, per table name, in insertion order."""

    by_table: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {t.name: [] for t in TABLES}
    )

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.by_table[table].append(row)


@dataclass
class Programme:
    """Generates patients in id ranges, keeping the id counters between calls."""

    seed: int
    next_course: int = 1
    next_event: int = 1
    next_review: int = 1
    next_assessment: int = 1
    next_followup: int = 1
    counts: Counter[str] = field(default_factory=Counter)

    def patients(self, first: int, last: int) -> Iterator[Rows]:
        """Rows for patients ``first``..``last`` (inclusive), a chunk at a time."""
        for start in range(first, last + 1, CHUNK_PATIENTS):
            rows = Rows()
            for pid in range(start, min(start + CHUNK_PATIENTS, last + 1)):
                self._patient(rows, pid, random.Random(self.seed * 10_000_019 + pid))
            for table, data in rows.by_table.items():
                self.counts[table] += len(data)
            yield rows

    # --- one patient -------------------------------------------------------------

    def _patient(self, rows: Rows, pid: int, rng: random.Random) -> None:
        diabetic = rng.random() < 0.8
        rows.add(
            "patients",
            {
                "id": pid,
                "mrn": f"B{pid:08d}",
                # What the model's default writes (COPY on PostgreSQL bypasses it).
                "mrn_key": normalise_mrn(f"B{pid:08d}"),
                "name": f"Bench Patient {pid}",
                "birth_date": date(1940 + rng.randint(0, 45), rng.randint(1, 12), 1),
                "sex": rng.choice(("female", "male")),
                "weight_kg": float(rng.randint(55, 120)),
                "height_cm": float(rng.randint(150, 195)),
                "diabetes": "type2" if diabetic else "none",
                "created_at": _at(TODAY - timedelta(days=2000)),
            },
        )
        # Last infusion dates, newest first, 6-15 months apart.
        n = rng.randint(1, 5)
        newest = TODAY - timedelta(days=rng.randint(10, 420))
        lasts = [newest]
        for _ in range(n - 1):
            lasts.append(lasts[-1] - timedelta(days=rng.randint(180, 450)))
        lasts.reverse()
        roll = rng.random()
        # The newest course may still be waiting: requested (3 %), approved (1 %).
        pending = "requested" if roll < 0.03 else "reviewed" if roll < 0.04 else None
        prior: int | None = None
        for k, last in enumerate(lasts):
            newest_course = k == n - 1
            state = self._state(rng, last, retreated=not newest_course)
            if newest_course and pending is not None:
                state, last_date = pending, None
            else:
                last_date = last
            prior = self._course(rows, pid, prior, state, last_date, last, rng)
        if diabetic:
            first_last = lasts[0]
            origin = self.next_course - n
            for kind, months in (("hba1c", 3), ("monofilament", 12)):
                self._patient_series(rows, pid, origin, kind, months, first_last, rng)

    @staticmethod
    def _state(rng: random.Random, last: date, *, retreated: bool) -> str:
        if retreated:
            return "retreated"
        if (TODAY - last).days < 365:
            return rng.choices(("monitoring", "relapsed", "completed"), (70, 15, 15))[0]
        return rng.choices(("completed", "relapsed"), (60, 40))[0]

    def _course(
        self,
        rows: Rows,
        pid: int,
        prior: int | None,
        state: str,
        last: date | None,
        planned_last: date,
        rng: random.Random,
    ) -> int:
        cid = self.next_course
        self.next_course += 1
        requested_on = planned_last - timedelta(days=rng.randint(14, 40))
        baseline = float(rng.randint(5, 9))
        relapse: date | None = None
        ended: date | None = None
        if state in ("relapsed", "retreated") and last is not None:
            relapse = min(last + timedelta(days=rng.randint(150, 400)), TODAY)
        if state == "completed" and last is not None:
            ended = min(last + timedelta(days=rng.randint(60, 300)), TODAY)
        rows.add(
            "courses",
            {
                "id": cid,
                "patient_id": pid,
                "prior_course_id": prior,
                "state": state,
                "indication": rng.choice(INDICATIONS),
                "indication_detail": None,
                "severity_grade": 3,
                "product": "Octagam 10%",
                "dose_g_per_kg_per_day": 0.4,
                "days": 5,
                "repeat_every_weeks": None,
                "weight_kg": 80.0,
                "dosing_weight_kg": 80.0,
                "dosing_weight_rule": "actual",
                "rounding_rule": None,
                "grams_per_day": 32.0,
                "total_grams": 160.0,
                "baseline_vas": baseline,
                "baseline_mrc_sum": 48,
                "baseline_walking_distance_m": 150.0,
                "request": {"mrn": f"B{pid:08d}", "indication": "dlrpn"},
                "requested_by": REQUESTER,
                "entered_by": REQUESTER,
                "requested_on": requested_on,
                "requested_at": _at(requested_on),
                "recommendation": {"outcome": "supported", "findings": []},
                "policy_id": "default",
                "policy_version": "bench",
                "awaiting_information": None,
                "suspected_relapse": None,
                "first_infusion_date": last - timedelta(days=4) if last else None,
                "last_infusion_date": last,
                "relapse_date": relapse,
                "ended_on": ended,
                "updated_at": _at(requested_on),
                "version": 1,
            },
        )
        self._event(rows, pid, cid, "request", None, "requested", requested_on)
        if state != "requested":
            self._event(rows, pid, cid, "approve", "requested", "reviewed", requested_on)
            rows.add(
                "reviews",
                {
                    "id": self._take("next_review"),
                    "course_id": cid,
                    "decision": "approve",
                    "reviewer": "dr.reviewer",
                    "note": "meets the guidance",
                    "override_reason": None,
                    "recommendation_outcome": "supported",
                    "at": _at(requested_on),
                },
            )
        if last is not None:
            self._event(rows, pid, cid, "finish_infusions", "infusing", "monitoring", last)
            self._assessments(rows, cid, last, baseline, rng)
            self._course_followups(rows, pid, cid, last, ended or relapse, rng)
        if state == "completed":
            self._event(rows, pid, cid, "close", "monitoring", state, ended or TODAY)
        elif state in ("relapsed", "retreated"):
            self._event(rows, pid, cid, "relapse", "monitoring", "relapsed", relapse or TODAY)
        return cid

    def _take(self, counter: str) -> int:
        value: int = getattr(self, counter)
        setattr(self, counter, value + 1)
        return value

    def _event(
        self, rows: Rows, pid: int, cid: int, trigger: str, src: str | None, dst: str, on: date
    ) -> None:
        rows.add(
            "events",
            {
                "id": self._take("next_event"),
                "patient_id": pid,
                "course_id": cid,
                "trigger": trigger,
                "from_state": src,
                "to_state": dst,
                "clinical_date": on,
                "actor": "bench",
                "reason": None,
                "at": _at(on),
            },
        )

    def _assessments(
        self, rows: Rows, cid: int, last: date, baseline: float, rng: random.Random
    ) -> None:
        fraction = rng.uniform(0.15, 0.65) if rng.random() < 0.7 else rng.uniform(0.8, 1.0)
        for days in (14, 30, 90)[: rng.randint(2, 3)]:
            on = last + timedelta(days=days)
            if on > TODAY:
                break
            rows.add(
                "assessments",
                {
                    "id": self._take("next_assessment"),
                    "course_id": cid,
                    "date": on,
                    "vas": round(baseline * fraction, 1),
                    "mrc_sum": 50,
                    "walking_distance_m": 300.0,
                    "actor": "bench",
                    "recorded_at": _at(on),
                },
            )

    def _course_followups(
        self,
        rows: Rows,
        pid: int,
        cid: int,
        last: date,
        ended: date | None,
        rng: random.Random,
    ) -> None:
        for kind, due in (
            ("reassess_2w", last + timedelta(days=14)),
            ("reassess_1m", last + relativedelta(months=1)),
        ):
            if ended is not None and ended < due:
                self._followup(rows, pid, cid, cid, kind, due, "cancelled")
            else:
                self._followup(rows, pid, cid, cid, kind, due, _status(due, rng))

    def _patient_series(
        self,
        rows: Rows,
        pid: int,
        origin: int,
        kind: str,
        months: int,
        first_last: date,
        rng: random.Random,
    ) -> None:
        # One open row per patient and kind at most (the partial unique index): the
        # series ends at the first one still to come, or at one never completed.
        n = 1
        while True:
            due = first_last + relativedelta(months=months * n)
            status = _status(due, rng)
            self._followup(rows, pid, None, origin, kind, due, status)
            if status != "done":
                return
            n += 1

    def _followup(
        self,
        rows: Rows,
        pid: int,
        cid: int | None,
        origin: int,
        kind: str,
        due: date,
        status: str,
    ) -> None:
        raised = _at(due, 6) if status in ("raised", "done") else None
        escalated = (
            _at(due + timedelta(days=7), 6)
            if status == "raised" and (TODAY - due).days >= 7
            else None
        )
        closed = _at(due + timedelta(days=3)) if status in ("done", "cancelled") else None
        rows.add(
            "followups",
            {
                "id": self._take("next_followup"),
                "patient_id": pid,
                "course_id": cid,
                "origin_course_id": origin,
                "kind": kind,
                "due_date": due,
                "status": status,
                "created_at": _at(due - timedelta(days=30)),
                "raised_at": raised,
                "escalated_at": escalated,
                "completed_on": due + timedelta(days=3) if status == "done" else None,
                "completed_by": "assessment" if status == "done" else None,
                "closed_at": closed,
            },
        )


def _status(due: date, rng: random.Random) -> str:
    """What a daily scheduler and busy coordinators leave behind for a row due on ``due``."""
    age = (TODAY - due).days
    if age < 0:
        return "scheduled"
    if age == 0:
        return "scheduled"  # today's: the next scheduler run raises them
    if age < 7:
        return "raised" if rng.random() < 0.5 else "done"
    return "raised" if rng.random() < LOST_TO_FOLLOW_UP else "done"


# --- writing -------------------------------------------------------------------------


def write(engine: Engine, chunks: Iterator[Rows]) -> None:
    """Bulk-writes the chunks: COPY on PostgreSQL, executemany inserts elsewhere."""
    if engine.dialect.name == "postgresql":
        _copy_all(engine, chunks)
        return
    for rows in chunks:
        with engine.begin() as conn:  # a transaction per chunk keeps the WAL file small
            for table in TABLES:
                data = rows.by_table[table.name]
                for start in range(0, len(data), SQLITE_ROWS_PER_EXECUTE):
                    conn.execute(insert(table), data[start : start + SQLITE_ROWS_PER_EXECUTE])


def _copy_all(engine: Engine, chunks: Iterator[Rows]) -> None:
    raw = engine.raw_connection()
    try:
        pg: Any = raw.driver_connection
        with pg.cursor() as cur:
            for rows in chunks:
                for table in TABLES:
                    data = rows.by_table[table.name]
                    if not data:
                        continue
                    columns = list(data[0])
                    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
                    with cur.copy(sql) as copy:
                        for row in data:
                            copy.write_row([_pg_value(row[c]) for c in columns])
        pg.commit()
    finally:
        raw.close()


def _pg_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict) else value


def after_load(engine: Engine) -> None:
    """Fresh planner statistics; on PostgreSQL, sequences past the explicit ids."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in TABLES:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 1))"
                    )
                )
            conn.execute(text("VACUUM ANALYZE"))
        return
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def patients_for(scale: float) -> int:
    return max(20, round(PATIENTS_AT_SCALE_1 * scale))
