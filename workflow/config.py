"""Settings, read lazily from the environment, failing fast with the variable's name."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from workflow.clock import Clock, FixedClock, SystemClock
from workflow.errors import InvalidInput

#: Every variable of ours starts with this (in any case: ``ivig_actor`` counts too).
PREFIX = "IVIG_"


class Settings(BaseModel):
    """Everything configurable, with the variable names users set: ``IVIG_`` and the
    field's name (``IVIG_DATABASE_URL``). :meth:`from_environment` reads them; a
    ``Settings(...)`` made in code (tests, the demo) takes its values from its arguments.
    """

    # Defaults go through the validators too, as values from the environment do.
    model_config = ConfigDict(extra="ignore", validate_default=True)

    database_url: str = "sqlite:///ivig.db"
    timezone: str = "UTC"
    actor: str | None = None
    notify: str = ""
    # For simulation and demonstrations only: pins "now" to this ISO instant.
    frozen_now: datetime | None = None
    # Patients' self-report (docs/self-report.md): the SMTP server that e-mails
    # invitations to patients (``smtp://host:port``; the patient's address is the
    # recipient), the sender they see, the public address their links start with,
    # and whom the form tells them to call.
    patient_smtp: str = ""
    patient_from: str = "ivig@localhost"
    public_base_url: str = "http://localhost:8000"
    patient_contact: str = "your treatment team (the number is on your clinic letters)"
    # The secret of the analyst export's keyed hash (HMAC-SHA256) of each MRN
    # (docs/export.md): the same key, the same pseudonyms; unset, nothing is exported.
    pseudonym_key: SecretStr | None = None
    # The web app: the key that signs session cookies (unset: a generated key kept in
    # the user's data directory, docs/web.md) and whether cookies are HTTPS-only.
    secret_key: str | None = None
    secure_cookies: bool = False
    # The review policy: a YAML path or a packaged id (unset: the packaged default).
    policy: str | None = None
    # Logging: the level (unset: WARNING, the scheduler INFO) and tracebacks for
    # unexpected errors on the terminal (``IVIG_DEBUG=1``).
    log_level: str | None = None
    debug: bool = False
    # The connection pool (docs/deployment.md): a liveness check before each use (one
    # extra round trip on PostgreSQL, survives a database restart), and how many
    # connections a process keeps and may open beyond that under load.
    db_pool_pre_ping: bool = True
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_max_overflow: int = Field(default=10, ge=0, le=100)
    # SQLite's durability (PRAGMA synchronous): FULL (the default) syncs the WAL on
    # every commit, so a committed clinical record survives a power cut; NORMAL is
    # faster but may lose the last commits on power loss (never corrupts the file).
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = "FULL"

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str | None) -> str | None:
        if value is None:
            return None
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def clock(self) -> Clock:
        if self.frozen_now is not None:
            instant = self.frozen_now
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=self.zone)
            return FixedClock(instant, self.zone)
        return SystemClock(self.zone)

    def default_actor(self) -> str:
        """``IVIG_ACTOR``, else the operating-system user."""
        if self.actor:
            return self.actor
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return os.environ.get("USER", "unknown")

    @field_validator("patient_smtp")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        if value and not value.startswith("smtp://"):
            raise ValueError("must be an smtp://host:port URL")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    def patient_channel(self) -> str | None:
        """The outbox channel of e-mails to patients: ``IVIG_PATIENT_SMTP`` with the
        sender as ``from`` (and as the nominal ``to``: each message names its patient)."""
        if not self.patient_smtp:
            return None
        sender = quote(self.patient_from, safe="@")
        joiner = "&" if "?" in self.patient_smtp else "?"
        return f"{self.patient_smtp}{joiner}to={sender}&from={sender}"

    def patient_outreach(self) -> PatientOutreach:
        """What e-mails to patients need, handed to the raising pass and delivery."""
        return PatientOutreach(
            channel=self.patient_channel(),
            base_url=self.public_base_url,
            contact=self.patient_contact,
        )

    def notify_urls(self) -> list[str]:
        return [part.strip() for part in self.notify.split(",") if part.strip()]

    @classmethod
    def from_environment(cls, variables: Iterable[tuple[str, str]]) -> Settings:
        """The settings the ``IVIG_*`` variables among ``variables`` give; an empty
        variable counts as unset (a shell that blanks IVIG_FROZEN_NOW means "none").

        Read here rather than with pydantic-settings, whose import alone cost every
        command ~25 ms at start-up; the names match without regard to case, the last
        spelling of a name wins, and each value is validated like an argument.
        """
        values: dict[str, str] = {}
        for name, value in variables:
            key = name.lower()
            if key.startswith(PREFIX.lower()):
                values[key.removeprefix(PREFIX.lower())] = value
        return cls.model_validate({k: v for k, v in values.items() if v != ""})


def terminal_columns() -> int | None:
    """The terminal width the shell exports (``COLUMNS``), when it is a positive number:
    not ours (no ``IVIG_`` prefix), but read here with the rest of the environment."""
    columns = os.environ.get("COLUMNS", "").strip()
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


@dataclass(frozen=True)
class PatientOutreach:
    """Patients' e-mail, as :meth:`Settings.patient_outreach` gives it: the outbox
    channel (``None``: no SMTP, invitations go to the log channel), the public address
    links start with, and whom the form tells patients to call. The defaults are the
    settings' defaults (for callers, tests, that configure nothing)."""

    channel: str | None = None
    base_url: str = Settings.model_fields["public_base_url"].default
    contact: str = Settings.model_fields["patient_contact"].default

    @property
    def channels(self) -> list[str]:
        """The patient channel as a list of channel URLs (empty when there is none)."""
        return [self.channel] if self.channel else []


_installed: ContextVar[Settings | None] = ContextVar("ivig_settings", default=None)


def _environment() -> tuple[tuple[str, str], ...]:
    """The ``IVIG_*`` variables, in the environment's order (the last spelling wins).

    Read on every transaction that writes to the outbox: only our variables' values
    are fetched (decoding every value of the environment cost several times more)."""
    return tuple((k, os.environ[k]) for k in os.environ if k.upper().startswith(PREFIX))


@lru_cache(maxsize=8)
def _load(environment: tuple[tuple[str, str], ...]) -> Settings:
    try:
        return Settings.from_environment(environment)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "IVIG_" + str(first["loc"][0]).upper() if first["loc"] else "IVIG_*"
        raise InvalidInput(f"{name}: {first['msg']}.") from None


def get_settings() -> Settings:
    """The settings in force: those installed by :func:`use_settings`, else the
    environment's, read once per distinct set of ``IVIG_*`` variables (so a process
    whose environment changes, a test, sees the new values without clearing a cache).
    A bad value names its variable."""
    installed = _installed.get()
    if installed is not None:
        return installed
    return _load(_environment())


#: Kept for callers of the former cached function; nothing needs it any more.
get_settings.cache_clear = _load.cache_clear  # type: ignore[attr-defined]


@contextmanager
def use_settings(settings: Settings) -> Iterator[Settings]:
    """Runs the block with ``settings`` in force instead of the environment's (the demo
    does, instead of changing the environment)."""
    token = _installed.set(settings)
    try:
        yield settings
    finally:
        _installed.reset(token)
