"""Every edge of an action follows its catalogue entry, documents included; a new
action is one entry plus its service function (docs/decisions.md counts the files)."""

from __future__ import annotations

from typing import Any

import click
import pytest
import typer
from pydantic import Field
from typer.testing import CliRunner

from tests.conftest import Ivig
from tests.factories import register
from workflow.catalogue import CATALOGUE, COORDINATOR, Action, ActionInput, Actor, Scope
from workflow.cli import app as cli_app
from workflow.cli.actions import command_for, document_field
from workflow.clock import Clock


def _command(action: Action) -> click.Command:
    root = typer.main.get_command(cli_app)
    group = root.get_command(click.Context(root), action.scope.value)  # type: ignore[attr-defined]
    return group.commands[action.name]  # type: ignore[no-any-return]


def _expected_options(action: Action) -> set[str]:
    document = document_field(action)
    options = {"--actor", "--json"} | ({"--file"} if document is not None else set())
    if document != "":
        options |= {"--" + n.replace("_", "-") for n in action.input.model_fields if n != document}
    return options


@pytest.mark.parametrize("action", CATALOGUE, ids=lambda a: a.name)
def test_the_command_has_exactly_the_catalogue_options_and_help(action: Action) -> None:
    """Hand-written edges included: amend's request and retreat's whole input come from
    ``--file``; every other field is its option, and there is nothing else."""
    command = _command(action)
    options = {o for p in command.params for o in getattr(p, "opts", ()) if o.startswith("--")}
    assert options - {"--help"} == _expected_options(action)
    assert command.help == action.help


def test_the_document_actions_read_their_document_from_file() -> None:
    by_name = {a.name: a for a in CATALOGUE}
    assert document_field(by_name["amend"]) == "request"
    assert document_field(by_name["retreat"]) == ""
    assert document_field(by_name["infuse"]) is None


@pytest.mark.parametrize("action", [a for a in CATALOGUE if a.custom_edges], ids=lambda a: a.name)
def test_a_hand_written_route_takes_the_catalogue_input(action: Action) -> None:
    from fastapi.routing import APIRoute

    from workflow.web.api import router

    target = "{course_id}" if action.scope == Scope.COURSE else "{mrn}"
    path = f"/api/v1/{action.scope}s/{target}/{action.api_path}"
    (route,) = [r for r in router.routes if isinstance(r, APIRoute) and r.path_format == path]
    (body,) = route.dependant.body_params
    assert body.field_info.annotation is action.input
    assert route.status_code == (201 if action.creates else None)


# --- a new action: one entry, one function ----------------------------------------------


class NoteBody(ActionInput):
    text: str = Field(min_length=1, max_length=200, description="The note to keep.")


def add_note(*, session: Any, target: str, data: NoteBody, actor: Actor, clock: Clock) -> Any:
    """The new action's service function, with the uniform signature."""
    from workflow.service.common import patient_by_mrn, record

    patient = patient_by_mrn(session, target, lock=True)
    record(
        session, patient_id=patient.id, trigger="note", by=actor.name, at=clock.now(),
        reason=data.text,
    )  # fmt: skip
    return patient


NOTE = Action(
    name="note",
    scope=Scope.PATIENT,
    triggers=(),
    input=NoteBody,
    service=f"{__name__}:add_note",
    roles=COORDINATOR,
    verb="add notes",
    done="Note kept.",
    help="Keep a note on the patient's record.",
)


def test_a_new_action_is_a_working_command_from_its_entry_alone(ivig: Ivig) -> None:
    """The CLI command is made from the entry: options from the input model, the
    service function run in one transaction, the patient printed."""
    register(ivig)
    app = typer.Typer()
    app.command("note", help=NOTE.help)(command_for(NOTE))
    app.command("unused")(lambda: None)  # a group, so the command is named
    result = CliRunner().invoke(
        app, ["note", "M1", "--text", "called the GP", "--actor", "c.cole", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert '"mrn": "M1"' in result.output or '"mrn":"M1"' in result.output
    last = ivig.ok("patient", "history", "M1")[-1]
    assert (last["trigger"], last["reason"], last["actor"]) == ("note", "called the GP", "c.cole")


def test_an_adapter_refuses_an_input_field_its_use_case_does_not_take() -> None:
    """The older use-cases get the uniform signature from their input model; a field
    with no parameter of its name is caught when the adapter is made, not at run time."""
    from workflow.catalogue import StopBody
    from workflow.service import monitoring
    from workflow.service.actions import uniform

    with pytest.raises(TypeError, match=r"close takes no \['reason'\]"):
        uniform(monitoring.close, StopBody)
