"""The small, flat family of errors that services raise.

Each edge translates them once: the CLI to exit codes (2 for malformed input,
1 for a refusal), the web API to HTTP statuses. Messages are one sentence that
names the field or the rule, and never carry patient data beyond ids.
"""

import logging
import traceback


class IvigError(Exception):
    """Base of every error a user may see. ``exit_code`` and ``http_status`` map it."""

    exit_code = 1
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(IvigError):
    """The input is malformed or out of range (exit 2, HTTP 422)."""

    exit_code = 2
    http_status = 422


class InputRefused(InvalidInput):
    """Input the OpenAPI document cannot call malformed, refused by a rule: exit 2 on the
    CLI (as the contract says for a future date or a weak password), HTTP 409 on the API.

    The document declares every constraint a request can be checked against by itself,
    and a request breaking one is answered 422. A rule that needs the server's clock
    ("not after today"), a list kept as data (breached passwords) or one field read
    against another (a password holding the username) cannot be written in JSON
    Schema, so a request the document accepts is refused with 409, like a date before
    the first infusion.
    """

    http_status = 409


class DateInFuture(InputRefused):
    """A clinical date after today (the contract: exit 2)."""


class NotFound(IvigError):
    """An id or MRN that does not exist (exit 1, HTTP 404)."""

    http_status = 404


class TransitionRefused(IvigError):
    """Well-formed, but the course's state or a rule refuses it (exit 1, HTTP 409)."""

    http_status = 409


class Conflict(IvigError):
    """A duplicate or a concurrent change lost the race (exit 1, HTTP 409)."""

    http_status = 409


class PermissionDenied(IvigError):
    """The actor may not do this (exit 1, HTTP 403)."""

    http_status = 403


class SchemaNotReady(IvigError):
    """The database schema is older than this program (exit 1)."""


def log_unexpected(logger: logging.Logger, exc: BaseException, where: str) -> None:
    """Logs an unexpected error with its traceback, but never its message.

    A message may carry values (a database error repeats the row it failed on), so
    only the error's kind, where it happened (ids, command names) and the code path
    are written: enough to find the bug, nothing about a patient.
    """
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.error(
        "unexpected %s %s\nTraceback (most recent call last):\n%s%s: (message withheld)",
        type(exc).__name__,
        where,
        frames,
        type(exc).__name__,
    )
