"""An unexpected error is logged with its traceback, never with its message (which may
repeat a patient's data)."""

from __future__ import annotations

import logging

import pytest

from workflow.errors import log_unexpected

PATIENT = "Jane " + "Example, born " + "1950-01-01"


def _fails(data: str) -> None:
    raise ValueError(data)


def test_unexpected_error_is_logged_with_traceback_without_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    try:
        _fails(PATIENT)
    except ValueError as exc:
        with caplog.at_level(logging.ERROR, logger="ivig"):
            log_unexpected(logging.getLogger("ivig"), exc, "in 'ivig course show'")
    text = caplog.text
    assert "Traceback" in text and "_fails" in text and "ValueError" in text
    assert "course show" in text
    assert PATIENT not in text
