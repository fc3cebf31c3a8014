"""``ivig export …``: data for analysts outside the programme (read only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workflow.cli.common import RUNTIME, JsonOpt, emit_json, parse_date, run, wants_json
from workflow.cli.render import console

app = typer.Typer(help="Exports for analysts: pseudonymised CSVs.", no_args_is_help=True)


@app.command("cohort")
def cohort(
    out: Annotated[Path, typer.Option("--out", help="Directory for the CSV files.")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Rows dated on or before this date (default: today)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """One CSV a table (courses, infusions, assessments, measurements, follow-ups) and
    data_dictionary.csv; patients only as a keyed hash (IVIG_PSEUDONYM_KEY)."""
    from workflow.export.cohort import check_key, export_cohort

    secret = RUNTIME.settings.pseudonym_key
    key = secret.get_secret_value() if secret is not None else None
    check_key(key)  # before the database is opened: a refusal creates nothing
    when = parse_date(as_of, "as-of") if as_of else RUNTIME.clock.today()
    counts = run(lambda s: export_cohort(s, out=out, as_of=when, key=key))
    if wants_json(json_out):
        emit_json({"as_of": when.isoformat(), "out": str(out), "rows": counts})
        return
    for table, rows in counts.items():
        console.print(f"{out / (table + '.csv')}: {rows} row(s)")
    console.print(f"{out / 'data_dictionary.csv'}: the columns, their units and codes", style="dim")
