"""CLI commands derived from the action catalogue: ``ivig <scope> <action> TARGET --field …``.

Each input field becomes one option (``override_reason`` -> ``--override-reason``),
with the field's description as its help; dates are read as ``YYYY-MM-DD``, a
``Literal`` or enum field offers its values. A field holding a document (a pydantic
model: ``amend``'s request), or an input that is the document itself (``retreat``), is
read from ``--file`` (JSON, ``-`` for stdin), as ``course request`` reads it. Every
command also takes ``--actor`` and ``--json``. A course action prints the course (as
``course show``), a patient action the patient.
"""

from __future__ import annotations

import datetime as dt
import inspect
import typing
from collections.abc import Callable
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from sqlalchemy.orm import Session

from workflow.catalogue import Action, Actor, Scope, field_type
from workflow.cli import render
from workflow.cli.common import (
    RUNTIME,
    ActorOpt,
    JsonOpt,
    emit_json,
    parse_date,
    read_document,
    run,
    wants_json,
)
from workflow.schemas import CourseRead, CourseRequestIn, PatientRead
from workflow.validation import validate

FileOpt = Annotated[str, typer.Option("--file", help="The request document (JSON); - for stdin.")]


def request_document(path: str) -> CourseRequestIn:
    """The request document at ``path`` (``-``: stdin), checked field by field."""
    document = read_document(path)
    if not isinstance(document, dict):
        from workflow.errors import InvalidInput

        raise InvalidInput("file: the request document must be a JSON object.")
    return validate(CourseRequestIn, document)  # type: ignore[no-any-return]


#: The documents a ``--file`` may hold, by model, with the function that reads one.
DOCUMENTS: dict[type[BaseModel], Callable[[str], BaseModel]] = {CourseRequestIn: request_document}


def document_field(action: Action) -> str | None:
    """The input field read from ``--file``: a field holding a document, or ``""`` when
    the whole input is the document; None when the action takes no document."""
    if action.input in DOCUMENTS:
        return ""
    for name, info in action.input.model_fields.items():
        if _base(info.annotation) in DOCUMENTS:
            return name
    return None


def print_course(result: CourseRead, json_out: bool, *, whole: bool = True) -> None:
    if wants_json(json_out):
        emit_json(result)
    elif whole:
        render.course(result, RUNTIME.settings.zone)
    else:
        render.change(result, RUNTIME.settings.zone)


def change_course(
    use_case: Callable[[Session], Any], json_out: bool, *, whole: bool = False
) -> None:
    """Runs one use-case and prints the course (JSON: as ``course show``), read in the
    same transaction, so what is printed is exactly what was committed."""
    from workflow.read import queries

    today = RUNTIME.clock.today()
    result = run(lambda s: queries.course_read(s, use_case(s), today=today))
    print_course(result, json_out, whole=whole)


def change_patient(use_case: Callable[[Session], Any], json_out: bool) -> None:
    from workflow.read import queries

    result: PatientRead = run(lambda s: queries.patient_read(use_case(s)))
    if wants_json(json_out):
        emit_json(result)
    else:
        render.patient(result)


def _base(annotation: Any) -> Any:
    return field_type(annotation)


def _option_type(name: str, annotation: Any) -> Any:
    """The type Typer parses an option as (dates as text, read by ``parse_date``)."""
    base = _base(annotation)
    if base is dt.date:
        return str
    if typing.get_origin(base) is Literal:
        values = [str(v) for v in typing.get_args(base)]
        return StrEnum(name.title().replace("_", ""), {v.upper(): v for v in values})
    return base


def _parameter(name: str, info: FieldInfo, required: bool) -> inspect.Parameter:
    kind = _option_type(name, info.annotation)
    option = typer.Option(
        "--" + name.replace("_", "-"),
        help=info.description,
        # Enums of the domain (diabetes) ignore case, as ``patient add`` does; the
        # Literal choices (``--decision``) are spelled exactly.
        case_sensitive=not (
            isinstance(kind, type) and issubclass(kind, Enum) and kind is _base(info.annotation)
        ),
    )
    option_type: Any = kind if required else kind | None
    annotation: Any = Annotated[option_type, option]
    default = inspect.Parameter.empty if required else None
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def _values(model: type[BaseModel], given: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue
        base = _base(model.model_fields[name].annotation)
        if base in DOCUMENTS:
            continue  # read after the options (``_with_document``)
        if base is dt.date:
            value = parse_date(value, name.replace("_", "-") if name != "date" else "date")
        elif isinstance(value, Enum):
            value = value.value
        values[name] = value
    return values


def command_for(action: Action) -> Callable[..., None]:
    """The Typer command function of ``action``: its signature is made from the input model."""
    model = action.input
    document = document_field(action)
    target = (
        Annotated[int, typer.Argument(metavar="ID")]
        if action.scope == Scope.COURSE
        else Annotated[str, typer.Argument(metavar="MRN")]
    )
    params = [
        inspect.Parameter("target", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=target)
    ]
    if document is not None:
        params.append(inspect.Parameter("file", inspect.Parameter.KEYWORD_ONLY, annotation=FileOpt))
    for name, info in model.model_fields.items():
        if document == "" or name == document:
            continue
        params.append(_parameter(name, info, info.is_required() or name in action.cli_required))
    params += [
        inspect.Parameter(
            "actor", inspect.Parameter.KEYWORD_ONLY, annotation=ActorOpt, default=None
        ),
        inspect.Parameter(
            "json_out", inspect.Parameter.KEYWORD_ONLY, annotation=JsonOpt, default=False
        ),
    ]

    def command(
        target: Any, *, actor: str | None = None, json_out: bool = False, **fields: Any
    ) -> None:
        from workflow.service.actions import perform

        path = fields.pop("file", None)
        data = _data(model, document, fields, path)
        who, clock = Actor(RUNTIME.actor(actor)), RUNTIME.clock
        if action.scope == Scope.COURSE and getattr(data, "version", 0) is None:
            # The course as it stands when the command starts is what is decided on.
            data = data.model_copy(update={"version": run(lambda s: _version(s, target))})

        def use_case(s: Session) -> Any:
            return perform(action, session=s, target=target, data=data, actor=who, clock=clock)

        if action.scope == Scope.COURSE:
            change_course(use_case, json_out, whole=action.creates)
        else:
            change_patient(use_case, json_out)
        if action.extra.get("deliver_now"):
            _deliver_now()

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__name__ = action.name.replace("-", "_")
    command.__doc__ = action.help
    return command


def _data(model: type[BaseModel], document: str | None, fields: dict[str, Any], path: Any) -> Any:
    """The action's input: the options (dates first), then the document on ``--file``."""
    values = _values(model, fields)
    if document == "":
        return DOCUMENTS[model](path)
    if document is not None:
        values[document] = DOCUMENTS[_base(model.model_fields[document].annotation)](path)
    return validate(model, values, option_style=True)


def _deliver_now() -> None:
    """Sends what the outbox holds due now (after the command committed); a channel
    that fails keeps its message for the scheduler's retries."""
    from schedules.delivery import deliver_due  # the channels (httpx, smtplib) load here

    settings = RUNTIME.settings
    deliver_due(
        RUNTIME.engine(),
        clock=RUNTIME.clock,
        configured=settings.notify_urls(),
        patient_channel=settings.patient_outreach().channel,
    )


def _version(session: Session, course_id: int) -> int:
    from workflow.service.common import course_by_id

    return course_by_id(session, course_id, lock=False).version


def add_commands(app: typer.Typer, scope: Scope) -> None:
    """Adds every catalogue action of ``scope`` to ``app``."""
    from workflow.catalogue import of_scope

    for action in of_scope(scope):
        app.command(action.name, help=action.help)(command_for(action))
