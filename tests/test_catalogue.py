"""The action catalogue is the one place an action is declared: every edge follows it."""

from __future__ import annotations

import inspect

import pytest
import typer

from workflow.catalogue import (
    ACTIONS,
    CATALOGUE,
    ROLES,
    Scope,
    action_of_trigger,
    allowed_actions,
    unassigned_triggers,
)
from workflow.cli import app as cli_app
from workflow.service import users
from workflow.states import CourseState, allowed_triggers

UNIFORM = {"session", "target", "data", "actor", "clock"}


def test_every_trigger_is_fired_by_an_action() -> None:
    # Only the system's own: an approval lapsing (course expire-lapsed, the scheduler).
    assert unassigned_triggers() == ("expire",)


@pytest.mark.parametrize("action", CATALOGUE, ids=lambda a: a.name)
def test_service_function_has_the_uniform_signature(action) -> None:  # type: ignore[no-untyped-def]
    params = inspect.signature(action.function).parameters
    assert set(params) == UNIFORM
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())


@pytest.mark.parametrize("action", CATALOGUE, ids=lambda a: a.name)
def test_roles_are_known_and_checked_by_the_role_table(action) -> None:  # type: ignore[no-untyped-def]
    assert action.roles and action.roles <= set(ROLES)
    for role in ROLES:
        assert users.may(role, action.name) == (role in action.roles)


def _click_group(scope: Scope):  # type: ignore[no-untyped-def]
    import click

    root = typer.main.get_command(cli_app)
    return root.get_command(click.Context(root), scope.value)  # type: ignore[attr-defined]


@pytest.mark.parametrize("action", CATALOGUE, ids=lambda a: a.name)
def test_every_action_is_a_command_with_actor_and_json(action) -> None:  # type: ignore[no-untyped-def]
    command = _click_group(action.scope).commands[action.name]
    options = {o for p in command.params for o in getattr(p, "opts", ())}
    assert {"--actor", "--json"} <= options
    if not action.custom_edges:
        for name in action.input.model_fields:
            assert "--" + name.replace("_", "-") in options


@pytest.mark.parametrize("action", CATALOGUE, ids=lambda a: a.name)
def test_every_action_is_an_api_route(action) -> None:  # type: ignore[no-untyped-def]
    from workflow.web.api import router

    target = "{course_id}" if action.scope == Scope.COURSE else "{mrn}"
    path = f"/api/v1/{action.scope}s/{target}/{action.api_path}"
    routes = {(r.path_format, m) for r in router.routes for m in getattr(r, "methods", ())}
    assert (path, "POST") in routes


def test_course_page_offers_every_course_action_with_a_form() -> None:
    from workflow.web.course_pages import ACTIONS as PAGE_ACTIONS
    from workflow.web.course_pages import DOCUMENT_ACTIONS

    course_actions = {a.name for a in CATALOGUE if a.scope == Scope.COURSE and a.form != "none"}
    assert set(PAGE_ACTIONS) | set(DOCUMENT_ACTIONS) == course_actions


def test_special_forms_have_their_block_in_the_course_template() -> None:
    from pathlib import Path

    import workflow.web

    template = Path(workflow.web.__file__).with_name("templates") / "course.html"
    text = template.read_text(encoding="utf-8")
    for action in CATALOGUE:
        if action.scope == Scope.COURSE and action.form == "special":
            assert f"'{action.name}' in offered" in text, action.name


@pytest.mark.parametrize("state", list(CourseState))
def test_allowed_actions_follow_the_transition_table(state: CourseState) -> None:
    of = action_of_trigger()
    # The system's own triggers (expire) are offered to nobody.
    expected = {of[t] for t in allowed_triggers(state) if t not in unassigned_triggers()}
    assert set(allowed_actions(state)) == expected
    for name in allowed_actions(state):
        assert any(t in allowed_triggers(state) for t in ACTIONS[name].triggers)


def test_the_services_refuse_a_role_that_may_not_act(db_url: str) -> None:
    """The check is in the service, not only at the web edge: a known role is checked."""
    from datetime import UTC, date, datetime

    from workflow.catalogue import Actor, PatientUpdateBody
    from workflow.clock import FixedClock
    from workflow.db import engine_for, transaction
    from workflow.errors import PermissionDenied
    from workflow.schemas import PatientIn, Sex
    from workflow.service import patients
    from workflow.service.actions import perform

    clock = FixedClock(datetime(2026, 11, 2, 12, tzinfo=UTC))
    data = PatientIn(
        mrn="R1", name="Role Test", birth_date=date(1960, 1, 1), sex=Sex.FEMALE, weight_kg=70
    )
    engine = engine_for(db_url)
    with pytest.raises(PermissionDenied, match="role: a reviewer may not register"):
        with transaction(engine) as session:
            patients.add_patient(session=session, data=data, by="r", clock=clock, role="reviewer")
    with transaction(engine) as session:
        patients.add_patient(session=session, data=data, by="c", clock=clock, role="coordinator")
    body = PatientUpdateBody(weight_kg=71, reason="re-weighed")
    with pytest.raises(PermissionDenied, match="role: a reviewer may not update patients"):
        with transaction(engine) as session:
            perform(
                ACTIONS["update"],
                session=session,
                target="R1",
                data=body,
                actor=Actor("r", "reviewer"),
                clock=clock,
            )
    with transaction(engine) as session:  # the CLI: no role, only the rules
        perform(
            ACTIONS["update"],
            session=session,
            target="R1",
            data=body,
            actor=Actor("c"),
            clock=clock,
        )
