"""Who may do what: one ``can``/``check`` pair per action, for pages and services alike.

``can_*`` answers "may this button show" (role, state, rules), ``check_*`` refuses
what is not allowed with one sentence (``PermissionDenied``, HTTP 403, exit 1). The
roles come from the action catalogue; rules that are not about roles live here once,
so the web, the API and the CLI all get them:

- nobody reviews a request they made or entered (:func:`check_not_own_request`), nor
  one attributed to them by a correction;
- nobody corrects the requester of a request they are named on, or to themselves
  (:func:`check_requester_correction`);
- nobody reviews through an API token someone else minted for them, nor a request
  that changed since they opened it (:func:`check_review_of`).

A role is known on the web and the API; the CLI has none, so only the rules apply.
This module imports no database driver, no web framework and no password hashing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from workflow.catalogue import ACTIONS, Actor, permissions
from workflow.errors import Conflict, IvigError, PermissionDenied, TransitionRefused
from workflow.models import Course
from workflow.states import CourseState, destination

_PERMISSIONS = permissions()


class Reviewed(Protocol):
    """What the rules of a review read of a course: a ``Course``, or the few columns
    ``service.courses.review`` reads of it."""

    @property
    def id(self) -> int: ...
    @property
    def requested_by(self) -> str: ...
    @property
    def entered_by(self) -> str: ...
    @property
    def version(self) -> int: ...


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


def same_person(a: str, b: str) -> bool:
    """Two names for one person (case and spacing aside)."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


_same_person = same_person

#: What a reviewer is told when the course moved on under them.
CHANGED_SINCE_OPENED = "the request changed since you opened it"


def check_not_own_request(
    reviewer: str, course: Reviewed, requesters: Sequence[str] | None = None
) -> None:
    """Separation of duties: the prescriber named in the request (``requested_by``),
    every prescriber a correction named since (``requesters``: all of them, recorded
    first; ``service.prescriber.names``) and whoever entered it (``entered_by``) may
    not review it."""
    recorded, *corrected = requesters or (course.requested_by,)
    if _same_person(reviewer, recorded):
        raise PermissionDenied(
            f"reviewer: {reviewer} requested course {course.id} and may not review it."
        )
    if any(_same_person(reviewer, name) for name in corrected):
        raise PermissionDenied(
            f"reviewer: course {course.id} was attributed to {reviewer} by a requester "
            "correction; they may not review it."
        )
    if _same_person(reviewer, course.entered_by):
        raise PermissionDenied(
            f"reviewer: {reviewer} entered the request of course {course.id} and may not review it."
        )


def check_requester_correction(
    by: str, course: Course, *, requesters: Sequence[str], to: str, reviewers: Sequence[str]
) -> None:
    """Who may attribute a request to another prescriber: nobody named as its requester
    (recorded or corrected), nobody to themselves, and never to someone who already
    reviewed it (they would have reviewed their own request)."""
    if any(_same_person(by, name) for name in requesters):
        raise PermissionDenied(
            f"actor: {by} is named as the requester of course {course.id}; someone else "
            "must correct it."
        )
    if _same_person(by, to):
        raise PermissionDenied(
            f"to: {by} may not attribute course {course.id} to themselves; someone else "
            "must correct it."
        )
    if _same_person(to, requesters[-1]):
        raise TransitionRefused(f"to: course {course.id} is already attributed to {to}.")
    if any(_same_person(to, name) for name in reviewers):
        raise PermissionDenied(
            f"to: {to} has already reviewed course {course.id} and cannot become its requester."
        )


def check_not_delegated(delegated: bool) -> None:
    """A token minted by someone else for a user acts for them, but never reviews."""
    if delegated:
        raise PermissionDenied(
            "authorization: this API token was minted by someone else for this user; "
            "a review must be made with the reviewer's own credentials."
        )


def check_course_version(course: Reviewed, version: int | None) -> None:
    """The decision is on what the reviewer saw: refused if the course changed since."""
    if version is not None and version != course.version:
        raise Conflict(
            f"version: {CHANGED_SINCE_OPENED} (you saw version {version}, it is now "
            f"version {course.version}); look at it again before deciding."
        )


def check_review_of(
    course: Reviewed,
    *,
    reviewer: str,
    version: int | None = None,
    delegated: bool = False,
    requesters: Sequence[str] | None = None,
) -> None:
    """Every rule of a review beyond the role, on every path (CLI, API, pages)."""
    check_not_delegated(delegated)
    check_not_own_request(reviewer, course, requesters)
    check_course_version(course, version)


def check_review(actor: Actor, course: Course | None = None) -> None:
    check_allowed(actor.role, "review")
    check_not_delegated(actor.delegated)
    if course is not None:
        check_not_own_request(actor.name, course)


#: Rules beyond the role, per action (the role check is common to all).
_RULES: dict[str, Callable[[Actor, Course], None]] = {
    "review": lambda actor, course: check_review(actor, course),
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
