"""Bodies of the API's POSTs: the CLI's options as JSON fields, same names, same meaning.

They carry types only; ranges and rules are checked by the services, so an API
client gets the very sentence the CLI prints (``vas: 11 is outside the 0-10 pain
scale.``). Unknown fields are refused, as in the request document.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

from workflow.schemas import CourseRequestIn, FollowUpRead


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReviewBody(_Body):
    """``course review``: the reviewer is the signed-in user (``reviewer`` may repeat it)."""

    decision: Literal["approve", "deny", "info"]
    note: str
    override_reason: str | None = None
    reviewer: str | None = None


class InfusionBody(_Body):
    date: dt.date
    grams: float
    lot: str | None = None
    override_reason: str | None = None


class AdverseEventBody(_Body):
    """``course adverse-event``: kind as in the CLI, CTCAE grade 1-5."""

    date: dt.date
    kind: str
    grade: int
    note: str | None = None


class ExpireBody(_Body):
    """``course expire-lapsed``: as of a date (default today)."""

    as_of: dt.date | None = None


class ExpiredRead(BaseModel):
    id: int
    mrn: str
    approved_on: dt.date | None
    state: str


class StopBody(_Body):
    date: dt.date
    reason: str


class AssessmentBody(_Body):
    date: dt.date
    vas: float | None = None
    mrc_sum: int | None = None
    walking_distance_m: float | None = None


class RelapseBody(_Body):
    date: dt.date
    note: str | None = None


class CloseBody(_Body):
    date: dt.date


class CancelBody(_Body):
    reason: str


class AmendBody(_Body):
    """``course amend``: the corrected request document and what changed."""

    request: CourseRequestIn
    note: str | None = None


class MeasurementBody(_Body):
    """``patient measure``: HbA1c in %, monofilament sites felt out of 10."""

    date: dt.date
    hba1c: float | None = None
    monofilament_sites_felt: int | None = None


class UserBody(_Body):
    username: str
    full_name: str
    role: str
    password: str


class TokenRead(BaseModel):
    username: str
    token: str


class ErrorRead(BaseModel):
    """Every refusal: one sentence naming the field or rule, and the kind of error."""

    detail: str
    error: str


class MeRead(BaseModel):
    username: str
    full_name: str
    role: str
    may: list[str]


class FollowUpListed(FollowUpRead):
    """A row of ``followups list --json``: the follow-up and where it sits on the worklist."""

    when: str | None = None
