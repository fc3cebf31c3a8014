"""Read-side use-cases: what ``course show``, ``course list`` and ``followups list`` print.

Read models are built from rows with pydantic's ``from_attributes`` (:func:`read`): a
field takes the row's attribute of its name (or the column its ``validation_alias``
names); what the row does not hold (the patient's MRN on a course, days overdue) is
given beside it. Nothing is copied field by field.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from workflow.catalogue import allowed_actions
from workflow.errors import InvalidInput
from workflow.followups import KINDS, OPEN_STATUSES, Status
from workflow.models import (
    AdverseEvent,
    Assessment,
    Course,
    Event,
    FollowUp,
    Infusion,
    Measurement,
    Patient,
    Review,
    normalise_mrn,
)
from workflow.outcomes import response
from workflow.schemas import (
    CourseRead,
    CourseSummary,
    DoseRead,
    FollowUpRead,
    LineageEntry,
    MeasurementRead,
    PatientEventRead,
    PatientRead,
    RequesterCorrectionRead,
    SuspectedRelapse,
)
from workflow.service import prescriber, selfreport
from workflow.service.common import course_by_id, patient_by_mrn
from workflow.states import CourseState

Model = TypeVar("Model", bound=BaseModel)


class _With:
    """A row seen with more attributes: those of ``extra`` first, then the row's."""

    def __init__(self, row: object, extra: dict[str, Any]) -> None:
        self.__dict__.update(extra)
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


def read(model: type[Model], row: object, **extra: Any) -> Model:
    """``model`` from ``row``'s attributes (an ORM object or a result row), and from
    ``extra`` for the fields the row does not hold."""
    return model.model_validate(_With(row, extra) if extra else row, from_attributes=True)


def patient_read(patient: Patient) -> PatientRead:
    return read(PatientRead, patient)


def measurement_read(row: Measurement, mrn: str) -> MeasurementRead:
    return read(MeasurementRead, row, mrn=mrn)


def list_measurements(
    *, session: Session, mrn: str, limit: int | None = None, offset: int = 0
) -> list[MeasurementRead]:
    """A patient's measurements, newest first; ``limit``/``offset``: one page."""
    patient = patient_by_mrn(session, mrn)
    query = (
        select(Measurement)
        .where(Measurement.patient_id == patient.id)
        .order_by(Measurement.date.desc(), Measurement.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [measurement_read(m, mrn) for m in session.scalars(query)]


def count_measurements(*, session: Session, mrn: str) -> int:
    """How many measurements ``list_measurements`` lists (voided ones included)."""
    patient = patient_by_mrn(session, mrn)
    query = select(func.count()).select_from(Measurement)
    return int(session.scalar(query.where(Measurement.patient_id == patient.id)) or 0)


def _patients_where(search: str | None) -> list[ColumnElement[bool]]:
    text = (search or "").strip()
    if not text:
        return []
    like = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [
        or_(
            func.lower(Patient.mrn).like(f"{like}%", escape="\\"),
            func.lower(Patient.name).like(f"%{like}%", escape="\\"),
        )
    ]


def list_patients(
    *, session: Session, search: str | None = None, limit: int = 200, offset: int = 0
) -> list[PatientRead]:
    """Patients by MRN; ``search`` matches the start of the MRN or part of the name,
    without regard to case."""
    query = (
        select(Patient)
        .where(*_patients_where(search))
        .order_by(Patient.mrn, Patient.id)
        .offset(offset)
        .limit(limit)
    )
    return [patient_read(p) for p in session.scalars(query)]


def count_patients(*, session: Session, search: str | None = None) -> int:
    query = select(func.count()).select_from(Patient).where(*_patients_where(search))
    return int(session.scalar(query) or 0)


def show_patient(*, session: Session, mrn: str) -> PatientRead:
    return patient_read(patient_by_mrn(session, mrn))


def patient_history(
    *, session: Session, mrn: str, limit: int | None = None, offset: int = 0
) -> list[PatientEventRead]:
    """The history of the patient's own record (registration, corrections), oldest first;
    ``limit``/``offset``: one page."""
    patient = patient_by_mrn(session, mrn)
    events = session.scalars(
        select(Event)
        .where(Event.patient_id == patient.id, Event.course_id.is_(None))
        .order_by(Event.id)
        .offset(offset)
        .limit(limit)
    )
    return [read(PatientEventRead, e) for e in events]


def count_patient_history(*, session: Session, mrn: str) -> int:
    patient = patient_by_mrn(session, mrn)
    query = select(func.count()).select_from(Event)
    where = (Event.patient_id == patient.id, Event.course_id.is_(None))
    return int(session.scalar(query.where(*where)) or 0)


def _dose(course: Course, infusions: list[Infusion]) -> DoseRead:
    live = [i for i in infusions if i.voided_at is None]
    return read(DoseRead, course, days_given=len(live), grams_given=sum(i.grams for i in live))


def _annotated(
    session: Session, rows: list[FollowUpRead], today: date | None
) -> list[FollowUpRead]:
    selfreport.annotate(session, rows, today=today)
    return rows


def followup_read(row: FollowUp, mrn: str, today: date | None = None) -> FollowUpRead:
    overdue = None
    if today is not None and row.status in (Status.SCHEDULED, Status.RAISED):
        overdue = max((today - row.due_date).days, 0)
    return read(FollowUpRead, row, mrn=mrn, days_overdue=overdue)


def lineage(session: Session, course: Course) -> list[LineageEntry]:
    """The chain of prior and later courses linked by re-treatment, oldest first, each
    with its response (computed from its assessments) and relapse."""
    family = {
        c.id: c
        for c in session.scalars(select(Course).where(Course.patient_id == course.patient_id))
    }
    later = {c.prior_course_id: c for c in family.values() if c.prior_course_id is not None}
    first = course
    while first.prior_course_id is not None and first.prior_course_id in family:
        first = family[first.prior_course_id]
    chain = [first]
    while chain[-1].id in later:
        chain.append(later[chain[-1].id])
    points: dict[int, list[tuple[date, float | None]]] = {c.id: [] for c in chain}
    for course_id, on, vas in session.execute(
        select(Assessment.course_id, Assessment.date, Assessment.vas).where(
            Assessment.course_id.in_(points), Assessment.voided_at.is_(None)
        )
    ):
        points[course_id].append((on, vas))
    entries = []
    for c in chain:
        result = response(
            baseline_vas=c.baseline_vas,
            last_infusion=c.last_infusion_date,
            assessments=points[c.id],
        )
        entries.append(
            read(
                LineageEntry,
                c,
                lowest_vas=result.lowest_vas,
                responder=result.responder,
                current=c.id == course.id,
            )
        )
    return entries


def _requester_corrections(session: Session, course: Course) -> dict[str, Any]:
    rows = []
    for e in prescriber.corrections(session, course.id):
        names = (e.changes or {})["requested_by"]
        said = f"requester corrected from {names['old']} to {names['new']}: "
        rows.append(
            RequesterCorrectionRead(
                recorded=course.requested_by,
                from_=names["old"],
                to=names["new"],
                by=e.actor,
                at=e.at,
                reason=(e.reason or "").removeprefix(said) or None,
            )
        )
    return {
        "corrected_requested_by": rows[-1].to if rows else None,
        "requester_corrections": rows,
    }


def course_read(session: Session, course: Course, *, today: date | None = None) -> CourseRead:
    """The whole course as ``course show`` prints it.

    Rows are queried, not read from the course's relationship collections, so a course
    read in the transaction that just changed it shows the rows that change added. The
    course's own columns fill the fields of their name; each list is its rows, read as
    its item model (``from_attributes`` goes down into them).
    """
    session.flush()
    mrn = session.get_one(Patient, course.patient_id).mrn

    def rows(model: Any, *order: Any) -> list[Any]:
        query = select(model).where(model.course_id == course.id)
        return list(session.scalars(query.order_by(*order, model.id)))

    followups = session.scalars(
        select(FollowUp)
        .where(
            (FollowUp.course_id == course.id)
            | ((FollowUp.course_id.is_(None)) & (FollowUp.origin_course_id == course.id))
        )
        .order_by(FollowUp.due_date, FollowUp.id)
    ).all()
    infusions = rows(Infusion, Infusion.date)
    return read(
        CourseRead,
        course,
        mrn=mrn,
        next_course_id=session.scalar(select(Course.id).where(Course.prior_course_id == course.id)),
        **_requester_corrections(session, course),
        request_details=_request_details(session, course),
        baseline=course.request.get("baseline", {}),
        dose=_dose(course, infusions),
        allowed_actions=[
            action
            for action in allowed_actions(CourseState(course.state))
            if action != "dismiss-relapse" or course.suspected_relapse is not None
        ],
        lineage=lineage(session, course),
        reviews=rows(Review),
        history=rows(Event),
        infusions=infusions,
        assessments=rows(Assessment, Assessment.date),
        adverse_events=rows(AdverseEvent, AdverseEvent.date),
        followups=_annotated(session, [followup_read(f, mrn, today) for f in followups], today),
    )


def show_course(*, session: Session, course_id: int, today: date | None = None) -> CourseRead:
    return course_read(session, course_by_id(session, course_id, lock=False), today=today)


def _state(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return CourseState(value).value
    except ValueError:
        names = ", ".join(s.value for s in CourseState)
        raise InvalidInput(f"state: {value!r} is not a course state ({names}).") from None


def _courses_where(
    session: Session,
    *,
    mrn: str | None,
    state: str | tuple[str, ...] | None,
    suspected: bool,
    awaiting: bool | None,
) -> list[ColumnElement[bool]]:
    wanted = [_state(s) for s in ((state,) if isinstance(state, str) else state or ())]
    where: list[ColumnElement[bool]] = []
    if mrn is not None:
        where.append(Course.patient_id == patient_by_mrn(session, mrn).id)
    if wanted:
        # Written into the SQL (a known state name, never user text), so the planner can
        # match the partial indexes on requested courses; a bound value would hide it.
        named = (Course.state == bindparam(None, w, literal_execute=True) for w in wanted)
        where.append(or_(*named))
    if suspected:
        where.append(Course.suspected_relapse.is_not(None))
    if awaiting is not None:
        column = Course.awaiting_information
        where.append(column.is_not(None) if awaiting else column.is_(None))
    return where


def list_courses(
    *,
    session: Session,
    mrn: str | None = None,
    state: str | tuple[str, ...] | None = None,
    limit: int | None = None,
    suspected: bool = False,
    awaiting: bool | None = None,
    offset: int = 0,
) -> list[CourseSummary]:
    """Courses, newest first. ``state``: one state, or any of several;
    ``suspected``: only those flagged as a suspected relapse;
    ``awaiting``: only those waiting (True) or not waiting (False) for information.

    Only the listed columns are read (not the request documents), so listing a whole
    programme stays cheap.
    """
    where = _courses_where(session, mrn=mrn, state=state, suspected=suspected, awaiting=awaiting)
    query = (
        select(
            Course.id,
            Patient.mrn,
            Course.state,
            Course.indication,
            Course.requested_at,
            Course.awaiting_information.is_not(None).label("awaiting_information"),
            Course.suspected_relapse.is_not(None).label("suspected_relapse"),
            Course.requested_on,
            Patient.name.label("patient_name"),
        )
        .join(Patient, Patient.id == Course.patient_id)
        .where(*where)
        .order_by(Course.requested_at.desc(), Course.id.desc())
    )
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [read(CourseSummary, row) for row in session.execute(query)]


def count_courses(
    *,
    session: Session,
    mrn: str | None = None,
    state: str | tuple[str, ...] | None = None,
    suspected: bool = False,
    awaiting: bool | None = None,
) -> int:
    """How many courses ``list_courses`` would list with the same filters."""
    where = _courses_where(session, mrn=mrn, state=state, suspected=suspected, awaiting=awaiting)
    return int(session.scalar(select(func.count()).select_from(Course).where(*where)) or 0)


def list_followups(
    *,
    session: Session,
    mrn: str | None = None,
    course_id: int | None = None,
    status: str | None = None,
    due_before: date | None = None,
    kind: str | None = None,
    today: date | None = None,
    open_only: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[FollowUpRead]:
    """The worklist: follow-ups sorted by due date (then id); ``open_only``: scheduled or
    raised; ``limit``/``offset``: one page."""
    query = _followups_query(
        session,
        mrn=mrn,
        course_id=course_id,
        status=status,
        due_before=due_before,
        kind=kind,
        open_only=open_only,
    ).order_by(FollowUp.due_date, FollowUp.id)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = [followup_read(f, m, today) for f, m in session.execute(query)]
    selfreport.annotate(session, rows, today=today)
    return rows


def count_followups(
    *,
    session: Session,
    mrn: str | None = None,
    course_id: int | None = None,
    status: str | None = None,
    due_before: date | None = None,
    kind: str | None = None,
    open_only: bool = False,
) -> int:
    """How many follow-ups ``list_followups`` lists with the same filters."""
    query = _followups_query(
        session,
        mrn=mrn,
        course_id=course_id,
        status=status,
        due_before=due_before,
        kind=kind,
        open_only=open_only,
    )
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _followups_query(
    session: Session,
    *,
    mrn: str | None,
    course_id: int | None,
    status: str | None,
    due_before: date | None,
    kind: str | None,
    open_only: bool,
) -> Select[FollowUp, str]:
    query = select(FollowUp, Patient.mrn).join(Patient, Patient.id == FollowUp.patient_id)
    if status is not None:
        if status not in {s.value for s in Status}:
            names = ", ".join(s.value for s in Status)
            raise InvalidInput(f"status: {status!r} is not a follow-up status ({names}).")
        query = query.where(FollowUp.status == status)
    if kind is not None:
        if kind not in KINDS:
            raise InvalidInput(f"kind: {kind!r} is not a follow-up kind ({', '.join(KINDS)}).")
        query = query.where(FollowUp.kind == kind)
    if mrn is not None:
        patient_by_mrn(session, mrn)
        query = query.where(Patient.mrn_key == normalise_mrn(mrn))
    if course_id is not None:
        course_by_id(session, course_id, lock=False)
        query = query.where(FollowUp.course_id == course_id)
    if due_before is not None:
        query = query.where(FollowUp.due_date < due_before)
    if open_only:
        query = query.where(FollowUp.status.in_(OPEN_STATUSES))
    return query


def count_open_followups(
    *, session: Session, due_before: date, mrn: str | None = None, kind: str | None = None
) -> int:
    """How many open follow-ups are due before ``due_before`` (the worklist's total)."""
    query = (
        select(func.count())
        .select_from(FollowUp)
        .where(FollowUp.status.in_(OPEN_STATUSES), FollowUp.due_date < due_before)
    )
    if kind is not None:
        query = query.where(FollowUp.kind == kind)
    if mrn is not None:
        query = query.where(FollowUp.patient_id == patient_by_mrn(session, mrn).id)
    return int(session.scalar(query) or 0)


def suspected_relapses(
    *, session: Session, mrn: str | None = None, course_id: int | None = None
) -> list[SuspectedRelapse]:
    """Courses in monitoring flagged by an assessment, for the coordinator to judge."""
    query = (
        select(Course.id, Patient.mrn, Course.indication, Course.suspected_relapse)
        .join(Patient, Patient.id == Course.patient_id)
        # Only courses in monitoring carry the flag; the partial index answers this.
        .where(Course.suspected_relapse.is_not(None))
        .order_by(Course.id)
    )
    if mrn is not None:
        query = query.where(Patient.mrn_key == normalise_mrn(mrn))
    if course_id is not None:
        query = query.where(Course.id == course_id)
    return [
        SuspectedRelapse(course_id=cid, mrn=m, indication=ind, evidence=flag.get("evidence", ""))
        for cid, m, ind, flag in session.execute(query)
        if flag  # JSON null stored by some drivers reads back as None
    ]


def registered_weight(session: Session, mrn: str) -> float | None:
    """The registered weight of the patient with ``mrn`` (any case), None if unknown."""
    return session.scalar(select(Patient.weight_kg).where(Patient.mrn_key == normalise_mrn(mrn)))


def _request_details(session: Session, course: Course) -> Any:
    # Imported here: the request's details need the dose and review helpers, which a
    # patient or follow-up read never uses (start-up of read commands, issue 15).
    from workflow.service.request_view import request_details

    return request_details(session, course)
