"""SQL pieces that must read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class add_days(FunctionElement[date]):  # noqa: N801 - reads like the SQL function it is
    """``date_column + n days`` as a date, on either database.

    SQLite keeps dates as ISO text, so ``date(x, '+n days')`` gives text that compares
    correctly with other ISO dates; PostgreSQL adds an integer to a date directly.
    The day count is a literal clause (not an attribute) so that it is part of the
    statement cache key.
    """

    type = Date()
    inherit_cache = True
    name = "add_days"

    def __init__(self, column: ColumnElement[Any] | InstrumentedAttribute[Any], days: int) -> None:
        super().__init__(column, literal_column(str(int(days))))


@compiles(add_days)
def _add_days_default(element: add_days, compiler: SQLCompiler, **kw: Any) -> str:
    column, days = element.clauses
    return f"({compiler.process(column, **kw)} + {compiler.process(days, **kw)})"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: SQLCompiler, **kw: Any) -> str:
    column, days = element.clauses
    return (
        f"date({compiler.process(column, **kw)}, '+' || {compiler.process(days, **kw)} || ' days')"
    )
