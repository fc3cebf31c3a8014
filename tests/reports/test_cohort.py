"""The synthetic cohort: deterministic for a seed, realistic enough to report on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select

from tests.conftest import Ivig
from workflow.db import engine_for, upgrade
from workflow.models import Assessment, Course, Event, Infusion, Review
from workflow.synthetic import COORDINATORS, make_cohort

pytestmark = pytest.mark.slow  # whole processes, or a large cohort

END = date(2026, 11, 1)
PATIENTS = 30
SMALL = 12


def snapshot(engine: Engine) -> list[Any]:
    """Everything the generator decided, in a form two databases can be compared by."""
    with engine.connect() as conn:
        return [
            conn.execute(
                select(
                    Course.id,
                    Course.state,
                    Course.indication,
                    Course.prior_course_id,
                    Course.baseline_vas,
                    Course.last_infusion_date,
                    Course.relapse_date,
                    Course.ended_on,
                    Course.requested_by,
                ).order_by(Course.id)
            ).all(),
            conn.execute(
                select(Assessment.course_id, Assessment.date, Assessment.vas).order_by(
                    Assessment.id
                )
            ).all(),
            conn.execute(
                select(
                    Event.course_id, Event.trigger, Event.actor, Event.clinical_date, Event.at
                ).order_by(Event.id)
            ).all(),
        ]


@pytest.mark.slow
def test_same_seed_same_cohort_on_any_database(db_url: str, tmp_path: Path) -> None:
    engine = engine_for(db_url)
    summary = make_cohort(engine, patients=SMALL, seed=11, clock_end=END)
    other = create_engine(f"sqlite:///{tmp_path / 'again.db'}")
    upgrade(other)
    again = make_cohort(other, patients=SMALL, seed=11, clock_end=END)
    assert again == summary
    assert snapshot(other) == snapshot(engine)
    different = create_engine(f"sqlite:///{tmp_path / 'other-seed.db'}")
    upgrade(different)
    make_cohort(different, patients=SMALL, seed=12, clock_end=END)
    assert snapshot(different) != snapshot(engine)
    other.dispose()
    different.dispose()


def test_cohort_is_realistic_and_never_in_the_future(db_url: str) -> None:
    engine = engine_for(db_url)
    summary = make_cohort(engine, patients=PATIENTS, seed=7, clock_end=END)
    assert summary.patients == PATIENTS
    assert summary.courses > PATIENTS  # some patients were re-treated
    assert {"monitoring", "relapsed", "retreated", "completed"} <= set(summary.by_state)
    with engine.connect() as conn:
        latest = [
            conn.scalar(select(func.max(column)))
            for column in (
                Infusion.date,
                Assessment.date,
                Course.relapse_date,
                Course.ended_on,
                Event.clinical_date,
            )
        ]
        assert all(d is None or d < END for d in latest)
        assert conn.scalar(select(func.max(Event.at))) < datetime(2026, 11, 1, tzinfo=UTC)
        actors = set(conn.scalars(select(Event.actor).where(Event.trigger == "request")))
        assert actors <= set(COORDINATORS) and len(actors) >= 3
        pairs = conn.execute(
            select(Review.reviewer, Course.requested_by).join(Course, Course.id == Review.course_id)
        ).all()
        assert pairs and all(reviewer != requester for reviewer, requester in pairs)
        indications = set(conn.scalars(select(Course.indication)))
        assert "dlrpn" in indications and len(indications) >= 3


def test_report_over_the_cohort(ivig: Ivig, db_url: str, tmp_path: Path) -> None:
    make_cohort(engine_for(db_url), patients=PATIENTS, seed=7, clock_end=END)
    doc = ivig.ok(
        "report", "relapse", "--as-of", END.isoformat(), "--plot", str(tmp_path / "k.png")
    )
    assert doc["courses_monitored"] > 0
    assert 0 < doc["responders"] < doc["courses_monitored"]
    assert doc["relapses"] > 0
    assert (
        sum(g["courses_monitored"] for g in doc["by_indication"].values())
        == doc["courses_monitored"]
    )
    done = ivig.ok("report", "completeness", "--as-of", END.isoformat())
    assert done["due"] > 0 and 0 < done["completeness"] < 1
    assert set(done["by_coordinator"]) <= set(COORDINATORS)
