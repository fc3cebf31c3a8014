"""A form for a catalogue action, made from its input model (for actions whose form
is ``generic``): one labelled field per input field, dates as date inputs, numbers as
number inputs, choices as selects, reasons and notes as text areas."""

from __future__ import annotations

import datetime as dt
import typing
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from workflow.catalogue import Action, field_type

_LONG_TEXT = ("reason", "note", "override_reason")


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str  # date | number | select | textarea | text
    required: bool
    hint: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    step: str = "any"


@dataclass(frozen=True)
class ActionForm:
    name: str
    legend: str
    button: str
    fields: tuple[FormField, ...]


def _base(annotation: Any) -> Any:
    return field_type(annotation)


def _choices(base: Any) -> tuple[tuple[str, str], ...]:
    if typing.get_origin(base) is Literal:
        values = [str(v) for v in typing.get_args(base)]
    elif isinstance(base, type) and issubclass(base, Enum):
        values = [str(m.value) for m in base]
    else:
        return ()
    return tuple((v, v.replace("_", " ")) for v in values)


def form_field(name: str, annotation: Any, required: bool, description: str | None) -> FormField:
    base = _base(annotation)
    label = name.replace("_", " ").capitalize()
    options = _choices(base)
    if base is dt.date:
        kind = "date"
    elif options:
        kind = "select"
    elif base in (int, float):
        kind = "number"
    elif name in _LONG_TEXT:
        kind = "textarea"
    else:
        kind = "text"
    step = "1" if base is int else "any"
    return FormField(name, label, kind, required, description, options, step)


def action_form(action: Action) -> ActionForm:
    """The form of ``action``, without the fields the signed-in user fills in."""
    fields = tuple(
        form_field(name, info.annotation, info.is_required(), info.description)
        for name, info in action.input.model_fields.items()
        if name not in action.signed_in
    )
    legend = action.help.rstrip(".")
    return ActionForm(action.name, legend, action.name.replace("-", " ").capitalize(), fields)
