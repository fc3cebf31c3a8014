"""Bodies of the API's POSTs: the CLI's options as JSON fields, same names, same meaning.

They carry types only; ranges and rules are checked by the services, so an API
client gets the very sentence the CLI prints (``vas: 11 is outside the 0-10 pain
scale.``). Unknown fields are refused, as in the request document.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from workflow.catalogue import (  # the actions' bodies, declared with the catalogue
    AmendBody as AmendBody,
)
from workflow.catalogue import (
    AssessmentBody as AssessmentBody,
)
from workflow.catalogue import (
    CancelBody as CancelBody,
)
from workflow.catalogue import (
    CloseBody as CloseBody,
)
from workflow.catalogue import (
    InfusionBody as InfusionBody,
)
from workflow.catalogue import (
    RelapseBody as RelapseBody,
)
from workflow.catalogue import (
    ReviewBody as ReviewBody,
)
from workflow.catalogue import (
    StopBody as StopBody,
)
from workflow.schemas import FollowUpRead


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class ExpireBody(BaseModel):
    """``course expire-lapsed``: as of a date (default today)."""

    model_config = ConfigDict(extra="forbid")

    as_of: dt.date | None = None


class ExpiredRead(BaseModel):
    id: int
    mrn: str
    approved_on: dt.date | None
    state: str
