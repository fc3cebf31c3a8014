"""Bodies of the API's POSTs: the CLI's options as JSON fields, same names, same meaning.

What a value can be checked against by itself (ranges, lengths, enums, dates, "at
least one of") is declared in the model, so the OpenAPI document shows it; the
sentence for a value outside is the CLI's (``vas: 11 is outside the 0-10 pain
scale.``). Rules that need the database or the clock are the services'. Unknown
fields are refused, as in the request document.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError

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
from workflow.catalogue import Role, at_least_one
from workflow.catalogue import (
    StopBody as StopBody,
)
from workflow.hostile import StrictInput
from workflow.schemas import FollowUpRead, Hba1cPercent, MonofilamentSites
from workflow.service.users import MIN_PASSWORD, USERNAME
from workflow.web.params import QueryDate


class MeasurementBody(StrictInput):
    """``patient measure``: HbA1c in %, monofilament sites felt out of 10."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=at_least_one("hba1c", "monofilament_sites_felt")
    )

    date: dt.date
    hba1c: Hba1cPercent | None = Field(None, description="HbA1c in %, 2-25.")
    monofilament_sites_felt: MonofilamentSites | None = Field(
        None, description="10-g monofilament: sites felt, 0-10."
    )


def _password_length(value: Any, handler: Any) -> Any:
    """The service's sentences for a password's length, never echoing the password."""
    try:
        return handler(value)
    except ValidationError as exc:
        kind = exc.errors()[0]["type"]
        if kind == "string_too_short":
            raise PydanticCustomError(
                "password_length", f"must have at least {MIN_PASSWORD} characters"
            ) from None
        if kind == "string_too_long":
            raise PydanticCustomError("password_length", "is longer than 1000 characters") from None
        raise


class UserBody(StrictInput):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Field(pattern=USERNAME.pattern)]
    full_name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Role
    password: Annotated[
        str, Field(min_length=MIN_PASSWORD, max_length=1000), WrapValidator(_password_length)
    ] = Field(
        description="At least 15 characters, not a common or breached password, not "
        "repetitive or sequential, not containing the username (NIST SP 800-63B-4)."
    )


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

    as_of: QueryDate | None = None


class ExpiredRead(BaseModel):
    id: int
    mrn: str
    approved_on: dt.date | None
    state: str
