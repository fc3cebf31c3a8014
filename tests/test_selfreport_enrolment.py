"""Enrolment for self-report: the rules on the patient record, and ``patient update``."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import Ivig
from tests.factories import register
from workflow.errors import InvalidInput
from workflow.models import Patient
from workflow.service.selfreport import check_address, enrol, hash_token, new_token

TODAY = date(2026, 11, 20)


def patient() -> Patient:
    return Patient(mrn="M1", name="Test Patient", self_report="none")


def test_enrolling_by_e_mail_dates_the_consent() -> None:
    p = patient()
    done = enrol(p, mode="email", email="pat@example.org", address=None, today=TODAY)
    assert p.self_report == "email" and p.email == "pat@example.org"
    assert p.self_report_consent_on == TODAY
    assert "consent given 2026-11-20" in "; ".join(done.changes)


def test_e_mail_enrolment_needs_an_address() -> None:
    with pytest.raises(InvalidInput, match="^email:"):
        enrol(patient(), mode="email", email=None, address=None, today=TODAY)


def test_letter_enrolment_needs_a_postal_address() -> None:
    with pytest.raises(InvalidInput, match="^address:"):
        enrol(patient(), mode="letter", email=None, address=None, today=TODAY)
    p = patient()
    enrol(p, mode="letter", email=None, address="1 High St | Town |AB1 2CD", today=TODAY)
    assert p.postal_address == "1 High St\nTown\nAB1 2CD"


def test_withdrawing_clears_the_consent() -> None:
    p = patient()
    enrol(p, mode="email", email="pat@example.org", address=None, today=TODAY)
    done = enrol(p, mode="none", email=None, address=None, today=TODAY)
    assert p.self_report == "none" and p.self_report_consent_on is None
    assert done.changes == ["self-report withdrawn"]


@pytest.mark.parametrize("bad", ["nobody", "a@b", "a b@example.org", "<x@example.org>", "x@-a.org"])
def test_malformed_e_mail_addresses_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="^email:"):
        enrol(patient(), mode="email", email=bad, address=None, today=TODAY)


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(InvalidInput, match="^self-report:"):
        enrol(patient(), mode="sms", email=None, address=None, today=TODAY)


def test_an_address_with_control_characters_is_refused() -> None:
    with pytest.raises(InvalidInput, match="^address:"):
        check_address("1 High St\x07")


@given(st.integers(min_value=0, max_value=50))
def test_tokens_are_random_and_only_their_hash_is_kept(_: int) -> None:
    token, digest = new_token()
    assert len(token) >= 43 and digest == hash_token(token) and token not in digest
    assert new_token()[0] != token


def test_patient_update_enrols_and_the_history_keeps_the_consent_date(ivig: Ivig) -> None:
    register(ivig)
    ivig.ok(
        "patient",
        "update",
        "M1",
        "--self-report",
        "email",
        "--email",
        "pat@example.org",
        "--reason",
        "agreed at clinic",
    )
    shown = ivig.ok("patient", "show", "M1")
    assert shown["self_report"] == "email" and shown["self_report_consent_on"] == "2026-11-20"
    history = ivig("patient", "history", "M1").out
    assert "self_report_consent_on None -> 2026-11-20" in history.replace("\n", " ")


def test_patient_update_refuses_bad_enrolment_and_writes_nothing(ivig: Ivig) -> None:
    register(ivig)
    missing = ivig("patient", "update", "M1", "--self-report", "email", "--reason", "r")
    assert missing.code == 2 and missing.err.startswith("ivig: email:")
    bad = ivig("patient", "update", "M1", "--self-report", "sms", "--reason", "r")
    assert bad.code == 2
    assert ivig.ok("patient", "show", "M1")["self_report"] == "none"
