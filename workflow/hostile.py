"""Hostile or odd input, refused the same way at every edge (CLI, API, pages).

- Text may not carry NUL or other control characters (tab and line breaks aside), nor
  the invisible bidirectional controls that make a name read differently on screen
  than it is stored (e.g. U+202E RIGHT-TO-LEFT OVERRIDE).
- Types are strict where lax parsing would change meaning: ``true`` is not a number
  (a grade, a dose), ``"yes"`` is not a boolean; a date is ``YYYY-MM-DD`` and nothing
  else (not ``19700101``, not ``1970-W01-1``, not a Unix time).

``StrictInput`` applies all of it to every field of a pydantic input model, and says
it in the model's JSON schema (so the OpenAPI document declares what is refused): every
free-text field gets a ``pattern`` excluding those characters (one that also needs a
character other than white space when the field has ``minLength``), and every date a
``pattern`` from 1900 on. Services call :func:`check_text` for text that arrives
outside a model.

A number's range is declared once, ``Annotated[float, Field(ge=0, le=10),
out_of_range("…")]``: in the schema (``minimum``/``maximum``) and, through
:func:`out_of_range`, as the one sentence a value outside it gets on every edge.
"""

from __future__ import annotations

import re
import types
import typing
from datetime import date
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}
#: The earliest year of any date given as input (a clinical date, a birth date).
FIRST_YEAR = 1900

# The same refusals as regular expressions for the schema (ECMA-262 and Python agree on
# these escapes). FORBIDDEN is what bad_character() finds; SPACE is what stripping
# removes besides (tab, line breaks, the Unicode spaces).
_FORBIDDEN = r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u200E\u200F\u202A-\u202E\u2066-\u2069"
_SPACE = r"\t\n\r \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
#: Free text: no control character, no bidirectional control.
TEXT_PATTERN = f"^[^{_FORBIDDEN}]*$"
#: Free text that must say something: also one character other than white space.
NON_BLANK_PATTERN = f"^[^{_FORBIDDEN}]*[^{_FORBIDDEN}{_SPACE}][^{_FORBIDDEN}]*$"
_CONTROL = r"\x00-\x1F\x7F-\x9F\u200E\u200F\u202A-\u202E\u2066-\u2069"
#: An e-mail address (``workflow/service/selfreport.py`` checks with it), or nothing.
EMAIL = (
    f'[^@\\s<>(),;:"\\[\\]\\\\{_FORBIDDEN}]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?'
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
EMAIL_PATTERN = f"^[{_SPACE}]*(?:{EMAIL})?[{_SPACE}]*$"
#: A postal address: up to 8 lines of up to 100 characters, separated by ``|`` or line
#: breaks, no control character (tab included); blank lines are dropped.
ADDRESS_PATTERN = f"^[^|{_CONTROL}]{{0,100}}(?:[|\\n][^|{_CONTROL}]{{0,100}}){{0,7}}$"
#: A date as input: ``YYYY-MM-DD`` from 1900 on.
DATE_PATTERN = r"^(19|[2-9][0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}$"


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
    """``Annotated[int, …] | None`` -> ``int``: the type the strict checks look at."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else annotation
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
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
        if value.strip()[:4].isascii() and int(value.strip()[:4]) < FIRST_YEAR:
            raise PydanticCustomError(
                "too_early", "{value} is before {first}", {"value": value, "first": FIRST_YEAR}
            )
    elif kind is date and value.year < FIRST_YEAR:
        raise PydanticCustomError(
            "too_early",
            "{value} is before {first}",
            {"value": value.isoformat(), "first": FIRST_YEAR},
        )
    elif isinstance(value, list):
        inner = typing.get_args(kind)
        for item in value:
            _check(item, inner[0] if inner else None)
    return value


def _declare(schema: Any) -> None:
    """Adds the text and date patterns to every string of ``schema`` that has none."""
    if isinstance(schema, list):
        for item in schema:
            _declare(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema:
        if schema.get("format") == "date":
            schema["pattern"] = DATE_PATTERN
        elif "format" not in schema:
            required = schema.get("minLength", 0) >= 1
            schema["pattern"] = NON_BLANK_PATTERN if required else TEXT_PATTERN
    for key in ("properties", "$defs"):
        for sub in schema.get(key, {}).values():
            _declare(sub)
    for key in ("items", "anyOf", "oneOf", "allOf"):
        if key in schema:
            _declare(schema[key])


class StrictInput(BaseModel):
    """Mix-in for input models: every field checked as the module docstring says.

    Built on first use (``defer_build``): a command validates one input model, if any,
    and need not build every action's at start-up."""

    model_config = ConfigDict(defer_build=True)

    @field_validator("*", mode="before")
    @classmethod
    def _hostile(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or info.field_name is None:
            return value
        field = cls.model_fields.get(info.field_name)
        return _check(value, _base(field.annotation) if field else None)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        _declare(handler.resolve_ref_schema(json_schema))
        return json_schema


# --- declared once: text that must say something, numbers in a range -----------------


def not_blank(value: str) -> str:
    """Refuses text with nothing but white space (``AfterValidator``)."""
    if not value.strip():
        raise PydanticCustomError("blank", "must not be empty")
    return value


#: Free text that must say something (a reason, a note): up to 5000 characters.
RequiredText = Annotated[str, Field(min_length=1, max_length=5000), AfterValidator(not_blank)]
#: Free text that may be left out; blank counts as not given.
OptionalText = Annotated[str, Field(max_length=5000)]

_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def out_of_range(sentence: str) -> WrapValidator:
    """Metadata for a number with ``Field(ge=…, le=…)``: a value outside the bounds is
    refused with ``sentence`` (``{value}`` is the value given) instead of pydantic's.
    The bounds stay in the ``Field``, so the schema declares them."""

    def wrap(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            if exc.errors()[0]["type"] not in _RANGE_ERRORS:
                raise
            raise PydanticCustomError("out_of_range", sentence, {"value": _shown(value)}) from None

    return WrapValidator(wrap)
