"""What every command shares: options, the unit of work, dates, errors and output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workflow.clock import Clock
from workflow.config import Settings, get_settings
from workflow.db import EngineOptions, engine_for, ensure_schema, transaction
from workflow.errors import InvalidInput

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
ActorOpt = Annotated[
    str | None,
    typer.Option("--actor", help="Who makes the change (default: IVIG_ACTOR, else the OS user)."),
]


@dataclass
class Runtime:
    """Settings, engine and clock of one CLI invocation, made lazily."""

    json_default: bool = False

    @property
    def settings(self) -> Settings:
        return get_settings()

    @property
    def clock(self) -> Clock:
        return self.settings.clock()

    def engine(self) -> Engine:
        settings = self.settings
        engine = engine_for(settings.database_url, EngineOptions.from_settings(settings))
        ensure_schema(engine)
        return engine

    def actor(self, given: str | None) -> str:
        actor = (given or "").strip() or self.settings.default_actor()
        if len(actor) > 200:
            raise InvalidInput("actor: is longer than 200 characters.")
        return actor


RUNTIME = Runtime()


@contextmanager
def unit_of_work(*, read_only: bool = False) -> Iterator[Session]:
    """One transaction on the configured database."""
    with transaction(RUNTIME.engine(), read_only=read_only) as session:
        yield session


def run(use_case: Callable[[Session], T]) -> T:
    """Runs ``use_case`` in one (write) transaction on the configured database."""
    with unit_of_work() as session:
        return use_case(session)


def read(query: Callable[[Session], T]) -> T:
    """Runs ``query``, which only reads, in one read transaction: on SQLite it takes no
    lock, so it never waits for a writer (see ``workflow.db.transaction``)."""
    with unit_of_work(read_only=True) as session:
        return query(session)


def parse_date(value: str, field: str = "date") -> date:
    from workflow.hostile import ISO_DATE

    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is not a date in the form YYYY-MM-DD.") from None


def read_document(path: str) -> Any:
    """Reads a JSON document from a file, or stdin for '-'."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"file: cannot read {path} ({exc.strerror}).") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"file: {path} is not UTF-8 text.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"file: {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None


def wants_json(flag: bool) -> bool:
    return flag or RUNTIME.json_default


def emit_json(value: BaseModel | Sequence[BaseModel] | dict[str, Any] | list[Any]) -> None:
    """Prints exactly one JSON document on stdout."""
    if isinstance(value, BaseModel):
        text = value.model_dump_json(by_alias=True)
    elif isinstance(value, list) and all(isinstance(v, BaseModel) for v in value):
        text = json.dumps([v.model_dump(mode="json", by_alias=True) for v in value])
    else:
        text = json.dumps(value, default=str)
    sys.stdout.write(text + "\n")
