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
