"""What each process of the multi-process tests does, with an engine of its own.

Kept apart from the test module so that a spawned process imports only this (and
the application), never pytest's fixtures. Every function returns plain data for
the parent to check; nothing here asserts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from schedules.delivery import deliver_due
from schedules.raising import raise_due
from workflow.clock import FixedClock
from workflow.db import make_engine, transaction
from workflow.errors import IvigError
from workflow.service.treatment import infuse


class Barrier(Protocol):
    """The start line all workers wait at (a multiprocessing Barrier)."""

    def wait(self, timeout: float | None = None) -> int: ...


NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
TODAY = date(2026, 11, 20)
GRAMS = 32.8


def infusion_day(day: int) -> date:
    return date(2026, 10, day)


def infuser(url: str, course_ids: list[int], days: int, start: Barrier) -> dict[str, Any]:
    """Tries to record every infusion day of every course, in date order; reports which
    (course, day) this process got accepted and how many it saw refused."""
    engine = make_engine(url)
    clock = FixedClock(NOW)
    accepted: list[tuple[int, int]] = []
    refused = 0  # the service said no: that day is already recorded, or the course moved on
    conflicts = 0  # a lock or version clash surfaced as an error instead
    start.wait(timeout=120)
    try:
        for day in range(1, days + 1):
            for course_id in course_ids:
                try:
                    with transaction(engine) as session:
                        infuse(
                            session=session,
                            course_id=course_id,
                            on=infusion_day(day),
                            grams=GRAMS,
                            override_reason=None,
                            by=f"nurse.{course_id}",
                            clock=clock,
                        )
                    accepted.append((course_id, day))
                except IvigError:
                    refused += 1
                except (StaleDataError, IntegrityError, OperationalError):
                    conflicts += 1
    finally:
        engine.dispose()
    return {"accepted": accepted, "refused": refused, "conflicts": conflicts}


def raiser(url: str, sink_url: str, rounds: int, start: Barrier) -> dict[str, Any]:
    """Raises and delivers ``rounds`` times, as a scheduler's two jobs would."""
    engine = make_engine(url)
    raised: list[int] = []
    sent: list[int] = []
    start.wait(timeout=120)
    try:
        for _ in range(rounds):
            raised += [r.id for r in raise_due(engine, as_of=TODAY, now=NOW, channels=[sink_url])]
            sent += deliver_due(engine, clock=FixedClock(NOW), configured=[sink_url]).sent
    finally:
        engine.dispose()
    return {"raised": raised, "sent": sent}


def deliverer(url: str, sink_url: str, rounds: int, start: Barrier) -> dict[str, Any]:
    """Only delivers, ``rounds`` times (a second scheduler whose raising found nothing)."""
    engine = make_engine(url)
    sent: list[int] = []
    start.wait(timeout=120)
    try:
        for _ in range(rounds):
            sent += deliver_due(engine, clock=FixedClock(NOW), configured=[sink_url]).sent
    finally:
        engine.dispose()
    return {"sent": sent}


def run_child(target: str, args: tuple[Any, ...], start: Barrier, results: Any, key: int) -> None:
    """Entry point of a spawned process: runs one worker, puts (key, result or error)."""
    try:
        result = globals()[target](*args, start)
        results.put((key, result))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put((key, {"error": f"{type(exc).__name__}: {exc}"}))
