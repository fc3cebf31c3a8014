"""Raising a reassessment of an enrolled patient invites them by e-mail, exactly once,
through the outbox; one reminder follows if they do not answer."""

from __future__ import annotations

import email
import email.utils
import os
import re
from email.message import Message

from sqlalchemy import select

from tests.conftest import Ivig
from tests.factories import course_in
from tests.schedules.servers import Mailbox, smtp_server
from workflow.db import engine_for, transaction
from workflow.models import Invitation, Reminder
from workflow.service.selfreport import hash_token

LINK = re.compile(r"https://clinic\.example/r/([A-Za-z0-9_-]+)")
CONTACT = "the IVIG nurses on 01234 567890"


def enrol(ivig: Ivig, mode: str = "email") -> None:
    contact = ["--email", "pat@example.org"] if mode == "email" else ["--address", "1 High St"]
    ivig.ok("patient", "update", "M1", "--self-report", mode, *contact, "--reason", "agreed")


def mails(box: Mailbox) -> list[Message]:
    return [email.message_from_bytes(m) for m in box.messages]


def setup(ivig: Ivig, port: int) -> int:
    ivig.monkeypatch.setenv("IVIG_PATIENT_SMTP", f"smtp://127.0.0.1:{port}")
    ivig.monkeypatch.setenv("IVIG_PATIENT_FROM", "clinic@example.org")
    ivig.monkeypatch.setenv("IVIG_PUBLIC_BASE_URL", "https://clinic.example")
    ivig.monkeypatch.setenv("IVIG_PATIENT_CONTACT", CONTACT)
    return course_in(ivig, "monitoring")


def test_an_enrolled_patient_gets_one_e_mail_per_reassessment(ivig: Ivig) -> None:
    with smtp_server() as (box, port):
        setup(ivig, port)
        enrol(ivig)
        raised = {r["kind"]: r["self_report"] for r in ivig.ok("followups", "raise")}
        assert ivig.ok("followups", "raise") == []  # nothing new the second time
    # The list of those raised says who was invited, as the worklist does.
    assert raised["reassess_2w"] == raised["reassess_1m"] == "invited"
    sent = mails(box)
    assert len(sent) == 2  # reassess_2w and reassess_1m (hba1c is not self-reported)
    assert all(r == ["pat@example.org"] for r in box.recipients)
    tokens = set()
    for message in sent:
        body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
        assert message["From"] == "clinic@example.org"
        assert "M1" not in body and "M1" not in str(message["Subject"])
        assert "IVIG" not in body.replace(CONTACT, "") and "vas" not in body.lower()
        match = LINK.search(body)
        assert match
        tokens.add(match.group(1))
        # Whom to call is the configured contact, and the message is dated (RFC 5322).
        assert "please call the IVIG nurses on 01234 567890." in body.replace("\n", " ")
        assert email.utils.parsedate_to_datetime(str(message["Date"])) is not None
    # Plain lines of at most 78 characters: no quoted-printable soft breaks ("=") in the
    # text a plain mail reader shows, the link whole on its line.
    assert all(m["Content-Transfer-Encoding"] in ("7bit", "8bit") for m in sent)
    assert all(LINK.search(raw.decode()) for raw in box.messages)
    assert len(tokens) == 2
    with transaction(engine_for(os.environ["IVIG_DATABASE_URL"])) as session:
        stored = set(session.scalars(select(Invitation.token_hash)))
        assert stored == {hash_token(t) for t in tokens}
        payloads = [
            r.payload for r in session.scalars(select(Reminder)) if r.kind == "patient_invitation"
        ]
        assert len(payloads) == 2
        assert all("/r/" not in str(p) for p in payloads)  # the link is not kept once sent


def test_nothing_is_sent_to_a_patient_not_enrolled(ivig: Ivig) -> None:
    with smtp_server() as (box, port):
        setup(ivig, port)
        ivig.ok("followups", "raise")
    assert box.messages == []
    with transaction(engine_for(os.environ["IVIG_DATABASE_URL"])) as session:
        assert session.scalars(select(Invitation)).all() == []


def test_letter_patients_get_no_e_mail_but_an_invitation_to_print(ivig: Ivig) -> None:
    with smtp_server() as (box, port):
        setup(ivig, port)
        enrol(ivig, "letter")
        raised = {r["kind"]: r["self_report"] for r in ivig.ok("followups", "raise")}
    assert box.messages == []
    assert raised["reassess_2w"] == "letter_to_print"
    with transaction(engine_for(os.environ["IVIG_DATABASE_URL"])) as session:
        channels = [i.channel for i in session.scalars(select(Invitation))]
        assert channels == ["letter", "letter"]


def test_one_reminder_after_the_policy_days_without_an_answer(ivig: Ivig) -> None:
    with smtp_server() as (box, port):
        setup(ivig, port)
        enrol(ivig)
        ivig.ok("followups", "raise")
        ivig.now("2026-11-26T15:00:00+00:00")  # 6 days on: not yet
        ivig.ok("followups", "raise")
        assert len(box.messages) == 2
        ivig.now("2026-11-27T15:00:00+00:00")  # 7 days on: one reminder each
        ivig.ok("followups", "raise")
        ivig.now("2026-11-30T15:00:00+00:00")
        ivig.ok("followups", "raise")
    sent = mails(box)
    assert len(sent) == 4
    reminders = [m.get_payload(decode=True).decode() for m in sent[2:]]  # type: ignore[union-attr]
    assert all("reminder" in body for body in reminders)


def test_the_worklist_shows_open_invitations_and_those_needing_a_call(ivig: Ivig) -> None:
    with smtp_server() as (_, port):
        setup(ivig, port)
        enrol(ivig)
        ivig.ok("followups", "raise")
    rows = {r["kind"]: r.get("self_report") for r in ivig.ok("followups", "list")}
    assert rows["reassess_2w"] == "invited" and rows["reassess_1m"] == "invited"
    assert rows.get("hba1c") is None
    ivig.now("2026-12-06T15:00:00+00:00")  # the 14-day window has passed
    rows = {r["kind"]: r.get("self_report") for r in ivig.ok("followups", "list")}
    assert rows["reassess_2w"] == "call"
    assert "phone" in ivig("followups", "list").out
