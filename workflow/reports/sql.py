"""SQL pieces that must read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class add_days(FunctionElement[date]):  # noqa: N801 - reads like the SQL function it is
    """``date_column + n days`` as a date, on either database.

    SQLite keeps dates as ISO text, so ``date(x, '+60 days')`` gives text that compares
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
    # The count is an integer literal (see __init__), so the modifier is one constant
    # string: no concatenation per row.
    count = compiler.process(days, **kw)
    signed = count if count.startswith("-") else f"+{count}"
    return f"date({compiler.process(column, **kw)}, '{signed} days')"


class days_between(FunctionElement[int]):  # noqa: N801 - reads like the SQL function it is
    """Whole days from ``start`` to ``end`` (``end - start``) as an integer, on either database.

    PostgreSQL subtracts dates directly; SQLite subtracts Julian day numbers (exact for
    ISO dates, whose Julian days all end in .5) and casts the difference to an integer.
    """

    type = Integer()
    inherit_cache = True
    name = "days_between"

    def __init__(
        self,
        start: ColumnElement[Any] | InstrumentedAttribute[Any],
        end: ColumnElement[Any] | InstrumentedAttribute[Any],
    ) -> None:
        super().__init__(start, end)


@compiles(days_between)
def _days_between_default(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = element.clauses
    return f"({compiler.process(end, **kw)} - {compiler.process(start, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = element.clauses
    return (
        f"CAST(julianday({compiler.process(end, **kw)}) - "
        f"julianday({compiler.process(start, **kw)}) AS INTEGER)"
    )


class no_index(FunctionElement[Any]):  # noqa: N801 - reads like the SQL it writes
    """The column, marked so that SQLite's planner does not search it through an index.

    SQLite's documented way is a unary ``+`` in front of the column. It is for a
    filter that keeps nearly every row (an index then only adds a lookup per row and
    a sort); PostgreSQL's planner judges that from its statistics, so there it is
    the bare column.
    """

    inherit_cache = True
    name = "no_index"

    def __init__(self, column: ColumnElement[Any] | InstrumentedAttribute[Any]) -> None:
        super().__init__(column)
        self.type = self.clauses.clauses[0].type


@compiles(no_index)
def _no_index_default(element: no_index, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(no_index, "sqlite")
def _no_index_sqlite(element: no_index, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"
