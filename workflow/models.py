"""The persistent model: SQLAlchemy 2 typed classes.

Instants are stored as timezone-aware UTC (a TypeDecorator makes SQLite, which
keeps no zone, give them back aware); clinical dates are plain dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from workflow.states import CourseState

REQUESTED = CourseState.REQUESTED.value

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is expected")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


#: The predicate of each partial index, by name. SQLite's is declared on the index
#: itself; PostgreSQL's is attached by ``add_postgresql_predicates`` when a PostgreSQL
#: engine is made or tables are created there: declaring ``postgresql_where`` here would
#: load the PostgreSQL dialect (a third of this module's import time) in every command
#: that runs on SQLite. The migrations declare both.
PARTIAL_INDEXES: dict[str, str] = {}


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    PARTIAL_INDEXES[name] = where
    return Index(name, *columns, unique=unique, sqlite_where=text(where))


def add_postgresql_predicates() -> None:
    """Gives the partial indexes their PostgreSQL ``WHERE`` (idempotent)."""
    for table in Base.metadata.tables.values():
        for index in table.indexes:
            where = PARTIAL_INDEXES.get(str(index.name))
            if where is not None and index.dialect_options["postgresql"]["where"] is None:
                index.dialect_options["postgresql"]["where"] = text(where)


def normalise_mrn(mrn: str) -> str:
    """The key an MRN is matched by: without surrounding spaces, case folded."""
    return mrn.strip().casefold()


def _mrn_key_default(context: Any) -> str:
    return normalise_mrn(str(context.get_current_parameters()["mrn"]))


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(64), unique=True)
    # The MRN as matched (``normalise_mrn``): P001 and p001 are one patient.
    mrn_key: Mapped[str] = mapped_column(String(80), unique=True, default=_mrn_key_default)
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(10))
    weight_kg: Mapped[float] = mapped_column(Float)
    height_cm: Mapped[float | None] = mapped_column(Float)
    diabetes: Mapped[str] = mapped_column(String(10), default="none")
    created_at: Mapped[datetime]
    # Self-reported outcomes (issue 17): how the patient is invited (email|letter|none),
    # where to, and when they consented. Nothing is sent while ``self_report`` is none.
    self_report: Mapped[str] = mapped_column(String(10), default="none", server_default="none")
    email: Mapped[str | None] = mapped_column(String(320))
    postal_address: Mapped[str | None] = mapped_column(Text)
    self_report_consent_on: Mapped[date | None] = mapped_column(Date)

    courses: Mapped[list[Course]] = relationship(
        back_populates="patient", order_by="Course.id", foreign_keys="Course.patient_id"
    )


class Course(Base):
    __tablename__ = "courses"
    __table_args__ = (
        # Lists by state come newest first (worklist sections, ``course list --state``):
        # one index both filters and orders them, so a rare state is not a table scan.
        Index("ix_courses_state_requested_at", "state", "requested_at"),
        # The few flagged courses among many in monitoring, for the worklist.
        partial_index(
            "ix_courses_suspected_relapse",
            "requested_at",
            where="suspected_relapse IS NOT NULL",
        ),
        # The worklist's two sections of requested courses (pending review, awaiting
        # information) and their totals: each is read and counted from its own small
        # index, never by visiting every requested course to test the column. ``state``
        # leads (though constant) so SQLite's planner prefers these to the state index.
        partial_index(
            "ix_courses_requested_pending",
            "state",
            "requested_at",
            "id",
            where=f"state = '{REQUESTED}' AND awaiting_information IS NULL",
        ),
        partial_index(
            "ix_courses_requested_awaiting",
            "state",
            "requested_at",
            "id",
            where=f"state = '{REQUESTED}' AND awaiting_information IS NOT NULL",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    prior_course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    indication: Mapped[str] = mapped_column(String(40), index=True)
    indication_detail: Mapped[str | None] = mapped_column(String(500))
    severity_grade: Mapped[int] = mapped_column(Integer)
    product: Mapped[str] = mapped_column(String(100))
    dose_g_per_kg_per_day: Mapped[float] = mapped_column(Float)
    days: Mapped[int] = mapped_column(Integer)
    repeat_every_weeks: Mapped[int | None] = mapped_column(Integer)
    weight_kg: Mapped[float] = mapped_column(Float)
    # The dose as computed when the request was recorded (policy-dependent, so kept).
    dosing_weight_kg: Mapped[float] = mapped_column(Float)
    dosing_weight_rule: Mapped[str] = mapped_column(String(200))
    rounding_rule: Mapped[str | None] = mapped_column(String(80))
    grams_per_day: Mapped[float] = mapped_column(Float)
    total_grams: Mapped[float] = mapped_column(Float)
    baseline_vas: Mapped[float] = mapped_column(Float)
    baseline_mrc_sum: Mapped[int | None] = mapped_column(Integer)
    baseline_walking_distance_m: Mapped[float | None] = mapped_column(Float)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The prescriber named in the request: fixed once the request is recorded.
    requested_by: Mapped[str] = mapped_column(String(200))
    # Who entered the request into the system (the actor): may not review it either.
    entered_by: Mapped[str] = mapped_column(String(200))
    requested_on: Mapped[date] = mapped_column(Date)
    requested_at: Mapped[datetime] = mapped_column(index=True)
    recommendation: Mapped[dict[str, Any]] = mapped_column(JSON)
    policy_id: Mapped[str] = mapped_column(String(80))
    policy_version: Mapped[str] = mapped_column(String(40))
    awaiting_information: Mapped[str | None] = mapped_column(Text)
    # none_as_null: a cleared flag is SQL NULL, so "IS NOT NULL" finds the flagged ones.
    suspected_relapse: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # Kept with each infusion day (the infusions table is the record): follow-ups,
    # reports and date checks read them without aggregating infusions per course.
    first_infusion_date: Mapped[date | None] = mapped_column(Date)
    last_infusion_date: Mapped[date | None] = mapped_column(Date, index=True)
    relapse_date: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    # The clinical date of the approval: the approval lapses a policy period after it.
    approved_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    patient: Mapped[Patient] = relationship(back_populates="courses", foreign_keys=[patient_id])
    infusions: Mapped[list[Infusion]] = relationship(order_by="Infusion.date")
    assessments: Mapped[list[Assessment]] = relationship(
        order_by="(Assessment.date, Assessment.id)"
    )
    reviews: Mapped[list[Review]] = relationship(order_by="Review.id")
    adverse_events: Mapped[list[AdverseEvent]] = relationship(
        order_by="(AdverseEvent.date, AdverseEvent.id)"
    )


class Voidable:
    """An append-only record that can be voided: kept, marked, with who and why.

    Every derived figure (follow-up completion, response, reports, dose given)
    reads only live rows: ``voided_at IS NULL``.
    """

    voided_at: Mapped[datetime | None]
    voided_by: Mapped[str | None] = mapped_column(String(200))
    void_reason: Mapped[str | None] = mapped_column(Text)

    @property
    def voided(self) -> bool:
        return self.voided_at is not None


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    decision: Mapped[str] = mapped_column(String(20))
    reviewer: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    recommendation_outcome: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime]


class Infusion(Voidable, Base):
    __tablename__ = "infusions"
    __table_args__ = (
        # One live infusion a day; a voided day may be entered again, corrected.
        partial_index(
            "uq_infusions_live_course_date",
            "course_id",
            "date",
            unique=True,
            where="voided_at IS NULL",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    day_number: Mapped[int] = mapped_column(Integer)
    date: Mapped[date] = mapped_column(Date)
    grams: Mapped[float] = mapped_column(Float)
    # The product lot given that day, for a recall (``ivig report lot``).
    lot: Mapped[str | None] = mapped_column(String(100), index=True)
    override_reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]


class AdverseEvent(Base):
    """An adverse event during or after a course's infusions (CTCAE grade 1-5)."""

    __tablename__ = "adverse_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(40))
    grade: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]


class Assessment(Voidable, Base):
    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    date: Mapped[date] = mapped_column(Date)
    vas: Mapped[float | None] = mapped_column(Float)
    mrc_sum: Mapped[int | None] = mapped_column(Integer)
    walking_distance_m: Mapped[float | None] = mapped_column(Float)
    # Who gave the values: ``clinician`` (entered by staff) or ``patient`` (self-report form).
    source: Mapped[str] = mapped_column(String(12), default="clinician", server_default="clinician")
    actor: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]


class Measurement(Voidable, Base):
    __tablename__ = "measurements"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    date: Mapped[date] = mapped_column(Date)
    hba1c_percent: Mapped[float | None] = mapped_column(Float)
    monofilament_sites_felt: Mapped[int | None] = mapped_column(Integer)
    creatinine_clearance_ml_min: Mapped[float | None] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]


class ImportedObservation(Base):
    """A FHIR Observation already imported: its source id, and the row it became.

    Importing the same Observation again finds it here and records nothing new.
    """

    __tablename__ = "imported_observations"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(200), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    measure: Mapped[str] = mapped_column(String(40))
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    measurement_id: Mapped[int | None] = mapped_column(ForeignKey("measurements.id"))
    actor: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime]


class Event(Base):
    """The append-only history: one row per change, course-level or patient-level."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    clinical_date: Mapped[date | None] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
    #: A correction's old and new values: ``{field: {"old": …, "new": …}}``.
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


OPEN_FOLLOWUP = "status IN ('scheduled', 'raised')"


class FollowUp(Base):
    """A follow-up due on a date. The database, not the scheduler, decides what is due."""

    __tablename__ = "followups"
    __table_args__ = (
        Index("ix_followups_status_due", "status", "due_date"),
        Index("ix_followups_course", "course_id"),
        Index("ix_followups_patient_kind", "patient_id", "kind", "status"),
        # A patient never has two open follow-ups of a patient-level kind.
        partial_index(
            "uq_followups_open_patient_kind",
            "patient_id",
            "kind",
            unique=True,
            where=f"course_id IS NULL AND {OPEN_FOLLOWUP}",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"))
    # The course whose monitoring first called for a patient-level follow-up.
    origin_course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"))
    kind: Mapped[str] = mapped_column(String(20))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    created_at: Mapped[datetime]
    raised_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    completed_on: Mapped[date | None] = mapped_column(Date)
    completed_by: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None]


class Reminder(Base):
    """The outbox: one row per message and channel, written in the transaction that caused
    it (``workflow.outbox.enqueue``). Reminders and escalations of follow-ups, and messages
    about a course or a patient (adverse events, reviews, invitations) alike."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("message_id", "channel", name="uq_reminders_message_channel"),
        Index("ix_reminders_status_next", "status", "next_attempt_at"),
        Index("ix_reminders_followup", "followup_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The idempotency key receivers see: one per message, the same on every retry.
    message_id: Mapped[str] = mapped_column(String(200))
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    channel: Mapped[str] = mapped_column(String(500))
    # The message kind (``workflow.outbox.MESSAGE_KINDS``): the record's ``reminder``.
    kind: Mapped[str] = mapped_column(String(30), default="reminder")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Invitation(Base):
    """An invitation to a patient to report their own outcome for one follow-up.

    Only SHA-256 hashes of the link tokens are kept; a token works once, until
    ``expires_at``. The reminder, sent once if there is no answer, carries its own
    token (``reminder_token_hash``); either answers the same invitation.
    """

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # email | letter
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    reminder_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    letter_printed_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]


class User(Base):
    """A person who signs in to the web app (passwords hashed, never stored)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    api_token_hash: Mapped[str | None] = mapped_column(String(300), index=True)
    # Who minted the current token: a token minted by someone else acts for the user
    # but may not review (nobody approves in another's name).
    api_token_minted_by: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # Every session cookie carries the generation it was made in; signing out,
    # a password change or deactivation moves it on, ending every session at once.
    session_generation: Mapped[int] = mapped_column(Integer, default=0)


class UserAudit(Base):
    """Security-relevant acts on accounts: tokens minted or revoked, sign-outs,
    password changes, (de)activation, refused sign-ins."""

    __tablename__ = "user_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class AccessLog(Base):
    """Who viewed which patient's record, and when."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"))
    what: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


class AppSecret(Base):
    """Secrets kept in the database itself, so each database has its own (the key that
    signs session cookies: a cookie of one deployment never opens another)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class SignInThrottle(Base):
    """Failed sign-ins per account (``user:NAME``) and per address (``addr:IP``)."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


@event.listens_for(Base.metadata, "before_create")
def _postgresql_predicates(target: MetaData, connection: Any, **_: Any) -> None:
    # create_all on PostgreSQL (tests, tools) makes the same partial indexes as the migrations.
    if connection.dialect.name == "postgresql":
        add_postgresql_predicates()
