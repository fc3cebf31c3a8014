"""``ivig patient …``: register patients and record diabetes-care measurements."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from workflow.catalogue import Scope
from workflow.cli import render
from workflow.cli.actions import add_commands
from workflow.cli.common import (
    RUNTIME,
    ActorOpt,
    JsonOpt,
    emit_json,
    parse_date,
    read,
    run,
    wants_json,
)
from workflow.paging import Page, check_limit, decode
from workflow.read import queries
from workflow.schemas import Diabetes, MeasurementRead, PatientIn, PatientRead, Sex
from workflow.service import patients
from workflow.validation import validate

app = typer.Typer(help="Register patients and record their measurements.", no_args_is_help=True)


@app.command("add")
def add(
    mrn: Annotated[str, typer.Option(help="Medical record number (unique).")],
    name: Annotated[str, typer.Option(help="Full name.")],
    birth_date: Annotated[str, typer.Option(help="YYYY-MM-DD.")],
    sex: Annotated[Sex, typer.Option(case_sensitive=False)],
    weight_kg: Annotated[float, typer.Option(help="Body weight in kg.")],
    height_cm: Annotated[float | None, typer.Option(help="Height in cm.")] = None,
    diabetes: Annotated[Diabetes, typer.Option(case_sensitive=False)] = Diabetes.NONE,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Register a patient."""
    data = validate(
        PatientIn,
        {
            "mrn": mrn,
            "name": name,
            "birth_date": parse_date(birth_date, "birth-date"),
            "sex": sex,
            "weight_kg": weight_kg,
            "height_cm": height_cm,
            "diabetes": diabetes,
        },
        option_style=True,
    )
    by, clock = RUNTIME.actor(actor), RUNTIME.clock
    result = run(
        lambda s: queries.patient_read(
            patients.add_patient(session=s, data=data, by=by, clock=clock)
        )
    )
    if wants_json(json_out):
        emit_json(result)
    else:
        render.patient(result)


@app.command("show")
def show(mrn: str, json_out: JsonOpt = False) -> None:
    """Show a registered patient and their measurements (with the ids that
    ``void-measurement --measurement`` takes)."""

    def use_case(session: Session) -> tuple[PatientRead, list[MeasurementRead]]:
        patient = queries.show_patient(session=session, mrn=mrn)
        return patient, queries.list_measurements(session=session, mrn=mrn)

    patient, rows = read(use_case)
    if wants_json(json_out):
        document = patient.model_dump(mode="json")
        document["measurements"] = [m.model_dump(mode="json") for m in rows]
        emit_json(document)
    else:
        render.patient(patient)
        render.measurements(rows)


@app.command("history")
def history(mrn: str, json_out: JsonOpt = False) -> None:
    """The history of a patient's record: registration and corrections (old -> new)."""
    rows = run(lambda s: queries.patient_history(session=s, mrn=mrn))
    if wants_json(json_out):
        emit_json(rows)
    else:
        render.patient_history(rows)


@app.command("measure")
def measure(
    mrn: str,
    date: Annotated[str, typer.Option(help="Clinical date of the measurement, YYYY-MM-DD.")],
    hba1c: Annotated[float | None, typer.Option(help="HbA1c in %.")] = None,
    monofilament_sites_felt: Annotated[
        int | None, typer.Option(help="10-g monofilament: sites felt out of 10.")
    ] = None,
    creatinine_clearance: Annotated[
        float | None, typer.Option(help="Creatinine clearance in mL/min.", metavar="ML_MIN")
    ] = None,
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record measurements (HbA1c, monofilament test, creatinine clearance)."""
    on = parse_date(date)
    by, clock = RUNTIME.actor(actor), RUNTIME.clock

    def use_case(session: Session) -> MeasurementRead:
        row = patients.measure(
            session=session,
            mrn=mrn,
            on=on,
            hba1c_percent=hba1c,
            monofilament_sites_felt=monofilament_sites_felt,
            creatinine_clearance_ml_min=creatinine_clearance,
            by=by,
            clock=clock,
        )
        return queries.measurement_read(row, mrn)

    result = run(use_case)
    if wants_json(json_out):
        emit_json(result)
    else:
        render.console.print(f"Measurement {result.id} recorded for {mrn} on {result.date}.")


@app.command("list")
def list_(
    search: Annotated[
        str | None,
        typer.Option(help="The start of an MRN or part of a name (any case)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="Patients to show (1-500).")] = 50,
    cursor: Annotated[
        str | None, typer.Option(help="Where to start: the cursor the previous page printed.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List registered patients by MRN, a page at a time; --search finds one."""
    size, offset = check_limit(limit), decode(cursor)

    def use_case(session: Session) -> Page[PatientRead]:
        rows = queries.list_patients(session=session, search=search, limit=size, offset=offset)
        return Page(rows, queries.count_patients(session=session, search=search), offset, size)

    found = run(use_case)
    if wants_json(json_out):
        emit_json(found.rows)
        return
    render.patients(found.rows)
    footer = found.showing(" patients")
    if found.next_cursor:
        footer += f"; next page: --cursor {found.next_cursor}"
    render.console.print(footer, style="dim")


# Every catalogue action on a patient (``patient update``, ``void-measurement`` …):
# workflow/catalogue.py.
add_commands(app, Scope.PATIENT)
