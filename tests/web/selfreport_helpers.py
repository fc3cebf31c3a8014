"""Enrolling a patient for self-report in tests, through the real command."""

from __future__ import annotations

from tests.conftest import Ivig


def enrol_by_email(ivig: Ivig, mrn: str, address: str) -> None:
    ivig.ok(
        "patient",
        "update",
        mrn,
        "--self-report",
        "email",
        "--email",
        address,
        "--reason",
        "agreed at clinic",
    )
