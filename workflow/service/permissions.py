"""Who may do what: one ``can``/``check`` pair per action, for pages and services alike.

``can_*`` answers "may this button show" (role, state, rules), ``check_*`` refuses
what is not allowed with one sentence (``PermissionDenied``, HTTP 403, exit 1). The
roles come from the action catalogue; rules that are not about roles live here once,
so the web, the API and the CLI all get them:

- nobody reviews their own request (:func:`check_not_own_request`).

A role is known on the web and the API; the CLI has none, so only the rules apply.
This module imports no database driver, no web framework and no password hashing.
"""

from __future__ import annotations

from collections.abc import Callable

from workflow.catalogue import ACTIONS, Actor, permissions
from workflow.errors import IvigError, PermissionDenied
from workflow.models import Course
from workflow.states import CourseState, destination

_PERMISSIONS = permissions()


def may(role: str | None, action: str) -> bool:
    """Whether ``role`` may do ``action``; no role (the CLI) may do everything."""
    if role is None:
        return True
    roles, _ = _PERMISSIONS.get(action, (frozenset(), action))
    return role in roles


def check_allowed(role: str | None, action: str) -> None:
    """Refuses an action the role does not allow (HTTP 403)."""
    if not may(role, action):
        verb = _PERMISSIONS.get(action, (frozenset(), action))[1]
        raise PermissionDenied(f"role: a {role} may not {verb}.")


def _same_person(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def check_not_own_request(reviewer: str, course: Course) -> None:
    """Separation of duties: the person who requested a course may not review it."""
    if _same_person(reviewer, course.requested_by):
        raise PermissionDenied(
            f"reviewer: {reviewer} requested course {course.id} and may not review it."
        )


def check_review(actor: Actor, course: Course | None = None) -> None:
    check_allowed(actor.role, "review")
    if course is not None:
        check_not_own_request(actor.name, course)


#: Rules beyond the role, per action (the role check is common to all).
_RULES: dict[str, Callable[[Actor, Course], None]] = {
    "review": lambda actor, course: check_not_own_request(actor.name, course),
}


def check(action: str, actor: Actor, course: Course | None = None) -> None:
    """Refuses ``action`` by ``actor`` (on ``course``, when given) with one sentence.

    The course's state is not checked here: the Machine refuses a transition the
    table does not allow with its own sentence.
    """
    check_allowed(actor.role, action)
    rule = _RULES.get(action)
    if rule is not None and course is not None:
        rule(actor, course)


def can(action: str, actor: Actor, course: Course | None = None) -> bool:
    """Whether a page should offer ``action``: role, the state's table and the rules."""
    if course is not None and action in ACTIONS:
        state = CourseState(course.state)
        if not any(destination(state, t) is not None for t in ACTIONS[action].triggers):
            return False
    try:
        check(action, actor, course)
    except IvigError:
        return False
    return True


def can_review(actor: Actor, course: Course) -> bool:
    return can("review", actor, course)
