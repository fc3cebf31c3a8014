"""Query parameters as the OpenAPI document declares them, checked the same way.

A date in a query is ``YYYY-MM-DD`` and nothing else: pydantic would otherwise read
``as_of=0`` as 1970-01-01 (a number of seconds since the epoch).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_ISO = re.compile(ISO_DATE)


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO.fullmatch(value):
        return value
    raise PydanticCustomError("date_parsing", "is not a date in the form YYYY-MM-DD")


#: A date query parameter: ``YYYY-MM-DD`` only, declared so in the schema.
QueryDate = Annotated[
    dt.date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": ISO_DATE}),
]


#: Follow-up kinds as an enum in the schema (workflow/followups.py; a test keeps them equal).
FollowUpKindName = Literal["reassess_2w", "reassess_1m", "hba1c", "monofilament"]
