"""Pydantic's validation errors as the one sentence a user reads, on every edge.

The CLI and the web app word a bad field the same way: "baseline.vas: Input should be
less than or equal to 10 (got 11)."
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from workflow.errors import InvalidInput

# Where FastAPI says a field came from; the user only needs the field's own path.
_LOCATIONS = ("body", "query", "path", "header", "cookie")
_SHAPES = ("model_type", "dict_type", "model_attributes_type")
# Errors whose message already names the value (workflow/hostile.py).
_SELF_DESCRIBED = ("out_of_range", "too_early", "blank", "password_length")


def field_name(loc: Sequence[int | str], *, option_style: bool = False) -> str:
    """``("body", "baseline", "vas")`` -> ``baseline.vas``; options as ``--weight-kg``."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    name = ".".join(parts) or "document"
    return "--" + name.replace("_", "-") if option_style else name


def describe_error(error: Mapping[str, Any], *, option_style: bool = False) -> str:
    """One pydantic error as one sentence naming the field."""
    loc = field_name(error.get("loc", ()), option_style=option_style)
    kind = str(error.get("type", ""))
    message = str(error.get("msg", "is not valid"))
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "is not a known field"
    elif kind == "json_invalid":
        return "document: the body is not valid JSON."
    elif kind in _SELF_DESCRIBED:
        pass
    elif kind == "string_pattern_mismatch" and "input" in error:
        shown = json.dumps(error["input"])[:60]
        pattern = (error.get("ctx") or {}).get("pattern", "")
        return f"{loc}: {shown} does not have the form {pattern}."
    elif kind.startswith("date_") and "input" in error:
        return f"{loc}: {error['input']!r} is not a date in the form YYYY-MM-DD."
    elif "input" in error and kind not in _SHAPES and not loc.endswith("password"):
        message = f"{message} (got {json.dumps(error['input'], default=str)[:60]})"
    return f"{loc}: {message}."


def describe_validation(exc: ValidationError, *, option_style: bool = False) -> str:
    """The first error of ``exc`` as one sentence."""
    return describe_error(exc.errors()[0], option_style=option_style)


def validate(model: type[BaseModel], data: Any, *, option_style: bool = False) -> Any:
    """``model`` from ``data``, or InvalidInput naming the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(describe_validation(exc, option_style=option_style)) from None
