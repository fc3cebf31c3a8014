"""A synthetic, deterministic cohort driven through the real services.

Every patient's story is a generator of dated steps (register, request, review,
five infusion days, reassessments at about two weeks and one month, relapse,
re-treatment, close). The stories are merged in time order and each step runs as
one use-case in its own transaction, with a ``FixedClock`` set to that step's
moment, exactly as a coordinator's commands would: the history, the follow-ups
and the recommendations are the real ones. Clinical dates never lie after the
clock's "today", and every date lies before ``clock_end``.

One transaction per use-case is right for the demo and for tests (N up to a few
thousand patients); the benchmark (``scripts/bench_report.py``) builds its 100 000
courses with bulk inserts instead.

Nothing here is real patient data: MRNs are ``SYN00001``…, names are "Synthetic N".
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from workflow.clock import Clock, FixedClock
from workflow.db import transaction
from workflow.models import Course, Patient
from workflow.review import Policy, load_policy
from workflow.schemas import CourseRequestIn, Outcome, PatientIn
from workflow.service import courses, monitoring, patients, treatment

COORDINATORS = ("coordinator.ahmed", "coordinator.bell", "coordinator.chen", "coordinator.diaz")
REQUESTERS = ("dr.okafor", "dr.lindqvist", "dr.murray")
REVIEWERS = ("dr.reviewer.ito", "dr.reviewer.novak")  # never one of the requesters
INDICATIONS = ("dlrpn", "lumbosacral_plexus_neuritis", "ici_neuropathy", "other")
INDICATION_WEIGHTS = (70, 12, 10, 8)
DEFAULT_END = date(2026, 11, 1)
HISTORY_YEARS = 3

Action = Callable[[Session, Clock], Any]
Step = tuple[datetime, Action]
Story = Generator[Step, Any, None]


def bulk_course_row(
    *, number: int, patient_id: int, at: datetime, **varying: Any
) -> dict[str, Any]:
    """One ``courses`` row for bulk inserts (benchmarks, query-plan and report tests):
    the seed's usual course, 0.4 g/kg/day for 5 days for an 80 kg patient, supported,
    requested at ``at``; ``varying`` sets or overrides any column (state, dates,
    baselines, who asked). Not clinical data: a fixed shape for synthetic rows."""
    dose, days, weight = 0.4, 5, 80.0
    return {
        "id": number,
        "patient_id": patient_id,
        "state": "monitoring",
        "indication": "dlrpn",
        "severity_grade": 3,
        "product": "Octagam 10%",
        "dose_g_per_kg_per_day": dose,
        "days": days,
        "weight_kg": weight,
        "dosing_weight_kg": weight,
        "dosing_weight_rule": "actual",
        "grams_per_day": dose * weight,
        "total_grams": dose * weight * days,
        "request": {},
        "requested_by": "dr.synthetic",
        "entered_by": "coordinator.synthetic",
        "requested_on": at.date(),
        "requested_at": at,
        "recommendation": {"outcome": "supported", "findings": []},
        "policy_id": "default",
        "policy_version": "synthetic",
        "updated_at": at,
        "version": 1,
        **varying,
    }


@dataclass(frozen=True)
class CohortSummary:
    patients: int
    courses: int
    by_state: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Setting:
    end: date
    policy: Policy
    prefix: str


@dataclass
class _Patient:
    mrn: str
    indication: str
    diabetic: bool
    weight_kg: float
    coordinator: str
    requester: str


def _moment(day: date, rng: random.Random) -> datetime:
    """Office hours on ``day``, in UTC: the instant the step is entered."""
    return datetime.combine(day, time(8, 0), UTC) + timedelta(minutes=rng.randint(0, 540))


def _request_doc(
    who: _Patient, rng: random.Random, *, requested_on: date, baseline_vas: float
) -> CourseRequestIn:
    medication = rng.choice(
        [("pregabalin", 300), ("pregabalin", 150), ("gabapentin", 900), ("duloxetine", 60)]
    )
    grade = rng.choice([3, 3, 4]) if who.indication != "dlrpn" else rng.choice([2, 3, 3, 4])
    return CourseRequestIn.model_validate(
        {
            "mrn": who.mrn,
            "indication": who.indication,
            "severity_grade": grade,
            "product": rng.choice(["Octagam 10%", "Privigen", "Gamunex-C"]),
            "dose_g_per_kg_per_day": 0.4,
            "days": 5,
            "weight_kg": who.weight_kg,
            "baseline": {
                "vas": baseline_vas,
                "mrc_sum": rng.randint(36, 54),
                "walking_distance_m": rng.randrange(50, 400, 10),
            },
            "steroids": {"trial": rng.choice(["not_tried", "no_response", "no_response"])},
            "medications": [{"name": medication[0], "mg_per_day": medication[1]}],
            "creatinine_clearance_ml_min": rng.randint(45, 110),
            "hepatic_disease": False,
            "thromboembolic_risk_factors": ["hyperlipidemia"] if rng.random() < 0.3 else [],
            "hba1c_percent": round(rng.uniform(6.2, 9.0), 1) if who.diabetic else None,
            "requested_by": who.requester,
            "requested_on": requested_on.isoformat(),
        }
    )


def _review(course_id: int, reviewer: str, by: str, deny: bool) -> Action:
    """Approves (with an override reason whenever the recommendation is not supported)
    or denies; the reviewer is never the requester."""

    def action(session: Session, clock: Clock) -> str:
        course = session.get_one(Course, course_id)
        supported = course.recommendation["outcome"] == Outcome.SUPPORTED.value
        courses.review(
            session=session,
            course_id=course_id,
            decision="deny" if deny else "approve",
            reviewer=reviewer,
            note="not indicated" if deny else "meets the programme's criteria",
            override_reason=None if supported or deny else "clinical judgement after review",
            by=by,
            clock=clock,
        )
        return course.state

    return action


def _infuse(course_id: int, day: date, grams: float, by: str) -> Action:
    return lambda s, c: treatment.infuse(
        session=s, course_id=course_id, on=day, grams=grams, override_reason=None, by=by, clock=c
    )


def _stop(course_id: int, day: date, by: str) -> Action:
    return lambda s, c: treatment.stop(
        session=s, course_id=course_id, on=day, reason="infusion reaction", by=by, clock=c
    )


def _vas(baseline: float, fraction: float) -> float:
    return float(min(10.0, max(0.0, round(baseline * fraction * 2) / 2)))


def _course_story(
    setting: _Setting,
    who: _Patient,
    rng: random.Random,
    *,
    requested_on: date,
    prior_id: int | None,
    depth: int,
) -> Story:
    """One course from request to its end; a relapse may lead to a re-treatment."""
    end = setting.end
    baseline = float(rng.choice([5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 9]))
    doc = _request_doc(who, rng, requested_on=requested_on, baseline_vas=baseline)
    by, policy = who.coordinator, setting.policy

    def request(session: Session, clock: Clock) -> tuple[int, float]:
        if prior_id is None:
            made = courses.request_course(
                session=session, data=doc, by=by, clock=clock, policy=policy
            )
        else:
            made = courses.retreat(
                session=session, course_id=prior_id, data=doc, by=by, clock=clock, policy=policy
            )
        return made.id, made.grams_per_day

    course_id, grams = yield _moment(requested_on, rng), request

    reviewed_on = requested_on + timedelta(days=rng.randint(1, 10))
    if reviewed_on >= end:
        return
    if prior_id is None and rng.random() < 0.04:
        yield _moment(reviewed_on, rng), _review(course_id, rng.choice(REVIEWERS), by, deny=True)
        return
    yield _moment(reviewed_on, rng), _review(course_id, rng.choice(REVIEWERS), by, deny=False)
    first = reviewed_on + timedelta(days=rng.randint(2, 14))
    if rng.random() < 0.03:
        cancel_on = reviewed_on + timedelta(days=1)
        if cancel_on < end:
            yield (
                _moment(cancel_on, rng),
                lambda s, c: courses.cancel(
                    session=s, course_id=course_id, reason="patient declined", by=by, clock=c
                ),
            )
        return
    stop_after = 2 if rng.random() < 0.03 else None
    for offset in range(5):
        day = first + timedelta(days=offset)
        if day >= end:
            return
        if offset == stop_after:
            yield _moment(day, rng), _stop(course_id, day, by)
            return
        yield _moment(day, rng), _infuse(course_id, day, grams, by)
    last = first + timedelta(days=4)
    yield from _outcome_story(setting, who, rng, course_id, last, baseline, depth)


def _assess(
    course_id: int, on: date, vas: float, full: bool, rng: random.Random, by: str, policy: Policy
) -> Action:
    mrc = rng.randint(38, 58) if full else None
    walking = float(rng.randrange(100, 800, 10)) if full else None
    return lambda s, c: monitoring.assess(
        session=s,
        course_id=course_id,
        on=on,
        vas=vas,
        mrc_sum=mrc,
        walking_distance_m=walking,
        by=by,
        clock=c,
        policy=policy,
    )


def _outcome_story(
    setting: _Setting,
    who: _Patient,
    rng: random.Random,
    course_id: int,
    last: date,
    baseline: float,
    depth: int,
) -> Story:
    """Reassessments, then relapse (and perhaps re-treatment), close, or still monitoring."""
    end, by = setting.end, who.coordinator
    # A re-treatment after a relapse of a responder usually works again.
    responds = rng.random() < (0.85 if depth else 0.70)
    visits = [
        (last + timedelta(days=14 + rng.randint(-2, 3)), False, 0.12),
        (last + relativedelta(months=1) + timedelta(days=rng.randint(-3, 5)), True, 0.15),
    ]
    for on, full, skipped in visits:
        fraction = rng.uniform(0.15, 0.65) if responds else rng.uniform(0.8, 1.05)
        if not full:  # at two weeks the pain has usually fallen less than at one month
            fraction = min(1.05, fraction + rng.uniform(0.05, 0.25))
        if on < end and rng.random() >= skipped:
            yield (
                _moment(on, rng),
                _assess(course_id, on, _vas(baseline, fraction), full, rng, by, setting.policy),
            )
    if responds and rng.random() < 0.65:
        relapse_on = last + timedelta(days=rng.randint(213, 548))  # 7 to 18 months
        if relapse_on >= end:
            return
        yield (
            _moment(relapse_on, rng),
            lambda s, c: monitoring.relapse(
                session=s, course_id=course_id, on=relapse_on, note="pain returned", by=by, clock=c
            ),
        )
        retreat_on = relapse_on + timedelta(days=rng.randint(7, 30))
        if depth < 2 and retreat_on < end and rng.random() < 0.6:
            yield from _course_story(
                setting, who, rng, requested_on=retreat_on, prior_id=course_id, depth=depth + 1
            )
        return
    close_chance, earliest, latest = (0.35, 180, 400) if responds else (0.6, 60, 120)
    close_on = last + timedelta(days=rng.randint(earliest, latest))
    if close_on < end and rng.random() < close_chance:
        yield (
            _moment(close_on, rng),
            lambda s, c: monitoring.close(
                session=s, course_id=course_id, on=close_on, by=by, clock=c
            ),
        )


def _patient_story(setting: _Setting, number: int, rng: random.Random) -> Story:
    indication = rng.choices(INDICATIONS, weights=INDICATION_WEIGHTS)[0]
    who = _Patient(
        mrn=f"{setting.prefix}{number:05d}",
        indication=indication,
        diabetic=indication == "dlrpn" or rng.random() < 0.3,
        weight_kg=float(rng.randint(55, 115)),
        coordinator=rng.choice(COORDINATORS),
        requester=rng.choice(REQUESTERS),
    )
    first_day = setting.end - relativedelta(years=HISTORY_YEARS)
    span = (setting.end - timedelta(days=30) - first_day).days
    requested_on = first_day + timedelta(days=rng.randint(0, span))
    registered_on = requested_on - timedelta(days=rng.randint(1, 60))
    data = PatientIn.model_validate(
        {
            "mrn": who.mrn,
            "name": f"Synthetic {number}",
            "birth_date": date(rng.randint(1940, 1985), rng.randint(1, 12), rng.randint(1, 28)),
            "sex": rng.choice(["female", "male"]),
            "weight_kg": who.weight_kg,
            "height_cm": float(rng.randint(152, 192)),
            "diabetes": "type2" if who.diabetic else "none",
        }
    )
    yield (
        _moment(registered_on, rng),
        lambda s, c: patients.add_patient(session=s, data=data, by=who.coordinator, clock=c),
    )
    yield from _course_story(setting, who, rng, requested_on=requested_on, prior_id=None, depth=0)


def make_cohort(
    engine: Engine,
    *,
    patients: int = 40,
    seed: int = 7,
    clock_end: date = DEFAULT_END,
    mrn_prefix: str = "SYN",
    policy: Policy | None = None,
) -> CohortSummary:
    """Builds the cohort in ``engine``'s (migrated) database; the same seed, the same rows.

    Each patient draws from a random generator of its own (seeded by ``seed`` and
    its number), so one patient's story does not shift another's.
    """
    setting = _Setting(end=clock_end, policy=policy or load_policy(), prefix=mrn_prefix)
    queue: list[tuple[datetime, int, Story, Action]] = []
    sequence = 0
    for number in range(1, patients + 1):
        story = _patient_story(setting, number, random.Random(f"{seed}:{number}"))
        when, action = next(story)
        queue.append((when, sequence, story, action))
        sequence += 1
    heapq.heapify(queue)
    while queue:
        when, _, story, action = heapq.heappop(queue)
        with transaction(engine) as session:
            result = action(session, FixedClock(when))
        try:
            nxt, following = story.send(result)
        except StopIteration:
            continue
        heapq.heappush(queue, (nxt, sequence, story, following))
        sequence += 1
    return summarize(engine, mrn_prefix)


def summarize(engine: Engine, mrn_prefix: str = "SYN") -> CohortSummary:
    """Patients, courses and courses per state of the cohort with ``mrn_prefix``."""
    with transaction(engine) as session:
        mine = select(Patient.id).where(Patient.mrn.startswith(mrn_prefix, autoescape=True))
        count = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
        states = session.execute(
            select(Course.state, func.count())
            .where(Course.patient_id.in_(mine))
            .group_by(Course.state)
            .order_by(Course.state)
        ).all()
    by_state = {state: int(n) for state, n in states}
    return CohortSummary(int(count), sum(by_state.values()), by_state)
