"""Helpers for the scheduling tests: due follow-ups put straight into the database,
a file sink to read reminders back, and settings for calling the jobs directly."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from workflow.clock import FixedClock
from workflow.config import Settings
from workflow.db import engine_for
from workflow.models import FollowUp, Patient, Reminder

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
TODAY = date(2026, 11, 20)


def clock_at(instant: datetime = NOW) -> FixedClock:
    return FixedClock(instant)


def seed_due(url: str, n: int, *, due: date = date(2026, 11, 18), start: int = 0) -> list[int]:
    """``n`` patients, each with one scheduled HbA1c follow-up due on ``due``."""
    engine = engine_for(url)
    with engine.begin() as conn:
        patient_ids = (
            conn.execute(
                insert(Patient).returning(Patient.id),
                [
                    {
                        "mrn": f"S{start + i:06d}",
                        "name": "Seeded Patient",
                        "birth_date": date(1960, 1, 1),
                        "sex": "female",
                        "weight_kg": 80.0,
                        "diabetes": "type2",
                        "created_at": NOW,
                    }
                    for i in range(n)
                ],
            )
            .scalars()
            .all()
        )
        return list(
            conn.execute(
                insert(FollowUp).returning(FollowUp.id),
                [
                    {
                        "patient_id": pid,
                        "course_id": None,
                        "kind": "hba1c",
                        "due_date": due,
                        "status": "scheduled",
                        "created_at": NOW,
                    }
                    for pid in patient_ids
                ],
            )
            .scalars()
            .all()
        )


def reminder_counts(url: str) -> Counter[tuple[int, str, str]]:
    """(followup_id, channel, kind) → number of reminder rows, for the follow-ups'
    messages (the outbox also carries notices tied to no follow-up)."""
    with engine_for(url).connect() as conn:
        rows = conn.execute(
            select(Reminder.followup_id, Reminder.channel, Reminder.kind).where(
                Reminder.followup_id.is_not(None)
            )
        )
        return Counter((f, c, k) for f, c, k in rows)


def statuses(url: str) -> Counter[str]:
    with engine_for(url).connect() as conn:
        rows = conn.execute(select(FollowUp.status, func.count()).group_by(FollowUp.status))
        return Counter({status: int(n) for status, n in rows})


@dataclass
class Sink:
    path: Path

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def lines(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines()]


@pytest.fixture
def sink(tmp_path: Path) -> Sink:
    return Sink(tmp_path / "reminders.jsonl")


def settings_for(url: str, *, notify: str = "", now: datetime = NOW, zone: str = "UTC") -> Settings:
    return Settings(database_url=url, notify=notify, frozen_now=now, timezone=zone)
