"""Hostile or odd input, refused the same way at every edge (CLI, API, pages).

- Text may not carry NUL or other control characters (tab and line breaks aside), nor
  the invisible bidirectional controls that make a name read differently on screen
  than it is stored (e.g. U+202E RIGHT-TO-LEFT OVERRIDE).
- Types are strict where lax parsing would change meaning: ``true`` is not a number
  (a grade, a dose), ``"yes"`` is not a boolean; a date is ``YYYY-MM-DD`` and nothing
  else (not ``19700101``, not ``1970-W01-1``, not a Unix time).

``StrictInput`` applies all of it to every field of a pydantic input model; services
call :func:`check_text` for text that arrives outside a model.
"""

from __future__ import annotations

import re
import types
import typing
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


def bad_character(text: str) -> str | None:
    """The first character text may not hold, as ``U+XXXX``, else None."""
    for ch in text:
        if (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0) and ch not in _ALLOWED_CONTROLS:
            return f"U+{ord(ch):04X}"
        if ch in _BIDI:
            return f"U+{ord(ch):04X}"
    return None


def check_text(value: str, field: str) -> str:
    """``value`` if it holds no control character; else InvalidInput naming ``field``."""
    from workflow.errors import InvalidInput

    found = bad_character(value)
    if found is not None:
        raise InvalidInput(f"{field}: contains a control character ({found}); type it again.")
    return value


def _base(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _check(value: Any, kind: Any) -> Any:
    if isinstance(value, str):
        found = bad_character(value)
        if found is not None:
            raise PydanticCustomError(
                "control_character", "contains a control character ({found})", {"found": found}
            )
    if kind is bool:
        if not isinstance(value, bool):
            raise PydanticCustomError("strict_bool", "must be true or false")
    elif kind in (int, float):
        if isinstance(value, bool):
            raise PydanticCustomError("strict_number", "must be a number, not true or false")
    elif kind is date and not isinstance(value, date):
        if not (isinstance(value, str) and ISO_DATE.fullmatch(value.strip())):
            raise PydanticCustomError("date_format", "must be a date in the form YYYY-MM-DD")
    elif isinstance(value, list):
        inner = typing.get_args(kind)
        for item in value:
            _check(item, inner[0] if inner else None)
    return value


class StrictInput(BaseModel):
    """Mix-in for input models: every field checked as the module docstring says."""

    @field_validator("*", mode="before")
    @classmethod
    def _hostile(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or info.field_name is None:
            return value
        field = cls.model_fields.get(info.field_name)
        return _check(value, _base(field.annotation) if field else None)
