"""Enrolling a patient for self-report in tests."""

from __future__ import annotations

import os

from sqlalchemy import select

from tests.conftest import Ivig
from workflow.db import engine_for, transaction
from workflow.models import Patient


def enrol_by_email(ivig: Ivig, mrn: str, address: str) -> None:
    with transaction(engine_for(os.environ["IVIG_DATABASE_URL"])) as session:
        patient = session.scalars(select(Patient).where(Patient.mrn == mrn)).one()
        patient.self_report = "email"
        patient.email = address
