"""``ivig fhir …``: a patient's or a course's record out as a FHIR R4B Bundle, and lab
results in from one. ``fhir.resources`` is imported inside the commands only."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from workflow.cli.common import (
    RUNTIME,
    ActorOpt,
    JsonOpt,
    emit_json,
    read_document,
    run,
    wants_json,
)
from workflow.cli.render import console
from workflow.errors import InvalidInput

app = typer.Typer(help="FHIR R4B: export a record, import lab results.", no_args_is_help=True)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"out: cannot write {path} ({exc.strerror}).") from None


@app.command("export")
def export(
    mrn: Annotated[str | None, typer.Option("--mrn", help="Every course of this patient.")] = None,
    course: Annotated[int | None, typer.Option("--course", help="This course only.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the Bundle here (default: stdout).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """The record as a FHIR R4B Bundle (type collection), every resource validated."""
    from workflow.fhir.export import export_record

    now = RUNTIME.clock.now()
    text = run(
        lambda s: export_record(s, mrn=mrn, course_id=course, now=now).model_dump_json(
            exclude_none=True
        )
    )
    if out is None:
        sys.stdout.write(text + "\n")
        return
    _write(out, text + "\n")
    if wants_json(json_out):
        emit_json({"out": str(out)})
    else:
        console.print(f"wrote {out}", style="dim")


@app.command("import")
def import_(
    file: Annotated[str, typer.Argument(help="A FHIR R4B Bundle of Observations (- = stdin).")],
    actor: ActorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record the Bundle's Observations (HbA1c, pain, MRC sum, walking distance,
    monofilament, creatinine clearance) for registered patients: all or nothing,
    and an Observation imported before is skipped."""
    from workflow.catalogue import Actor
    from workflow.fhir.importer import import_bundle
    from workflow.review import load_policy

    doc = read_document(file)
    who, clock, policy = Actor(RUNTIME.actor(actor)), RUNTIME.clock, load_policy()
    result = run(lambda s: import_bundle(s, doc, actor=who, clock=clock, policy=policy))
    if wants_json(json_out):
        emit_json(result.as_json())
        return
    console.print(
        f"imported {len(result.imported)} observation(s); "
        f"{len(result.already_imported)} imported before, skipped"
    )
