"""The outbox carries every message, each with its own id, stable across retries."""

from __future__ import annotations

import email
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from schedules.delivery import deliver_due
from schedules.raising import escalate_overdue, raise_due
from tests.schedules.conftest import NOW, TODAY, Sink, clock_at, seed_due
from tests.schedules.servers import smtp_server, webhook_server
from workflow import outbox
from workflow.db import engine_for, transaction
from workflow.errors import InvalidInput
from workflow.models import Reminder


def test_a_reminder_and_its_escalation_are_two_messages(db_url: str, sink: Sink) -> None:
    [fid] = seed_due(db_url, 1, due=TODAY - timedelta(days=10))
    engine = engine_for(db_url)
    raise_due(engine, as_of=TODAY, now=NOW, channels=[sink.url])
    escalate_overdue(engine, as_of=TODAY, now=NOW, channels=[sink.url])
    deliver_due(engine, clock=clock_at(), configured=[sink.url])

    lines = sink.lines()
    assert [(line["reminder"], line["message_id"]) for line in lines] == [
        ("reminder", f"followup-{fid}-reminder"),
        ("escalation", f"followup-{fid}-escalation"),
    ]
    assert {line["followup_id"] for line in lines} == {fid}


def test_enqueue_writes_one_row_per_channel_once_per_dedupe_key(db_url: str, sink: Sink) -> None:
    engine = engine_for(db_url)
    with webhook_server() as hook:
        configured = [sink.url, hook.url("/in")]
        for _ in range(2):
            with transaction(engine) as session:
                mid = outbox.enqueue(
                    session,
                    kind=outbox.ADVERSE_EVENT,
                    payload={"mrn": "P001", "course_id": None, "grade": 3},
                    dedupe_key="ae-7",
                    now=NOW,
                    channels=configured,
                )
        assert mid == "adverse_event-ae-7"
        report = deliver_due(engine, clock=clock_at(), configured=configured)
        assert len(report.sent) == 2
        [body] = hook.bodies("/in")
        assert hook.headers[0]["X-Ivig-Message-Id"] == mid
        assert "X-Ivig-Followup-Id" not in hook.headers[0]
    [line] = sink.lines()
    for record in (line, body):
        assert record["message_id"] == mid and record["reminder"] == "adverse_event"
        assert record["grade"] == 3 and record["sent_at"] == NOW.isoformat()
    with engine.connect() as conn:
        rows = conn.execute(select(Reminder.followup_id, Reminder.message_id)).all()
    assert rows == [(None, mid), (None, mid)]


def test_without_a_dedupe_key_every_message_is_new(db_url: str) -> None:
    engine = engine_for(db_url)
    with transaction(engine) as session:
        ids = {
            outbox.enqueue(
                session, kind=outbox.REVIEW_QUESTION, payload={}, now=NOW, channels=["log"]
            )
            for _ in range(3)
        }
    assert len(ids) == 3


def test_a_rolled_back_transaction_leaves_no_message(db_url: str) -> None:
    engine = engine_for(db_url)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        outbox.enqueue(session, kind=outbox.REVIEW_DECISION, payload={}, now=NOW, channels=[])
        raise RuntimeError("the service failed after enqueueing")
    with engine.connect() as conn:
        assert conn.execute(select(Reminder.id)).all() == []


def test_an_unknown_kind_or_bad_channel_is_refused(db_url: str) -> None:
    engine = engine_for(db_url)
    with pytest.raises(ValueError), transaction(engine) as session:
        outbox.enqueue(session, kind="gossip", payload={}, now=NOW, channels=["log"])
    with pytest.raises(InvalidInput, match="IVIG_NOTIFY"), transaction(engine) as session:
        outbox.enqueue(
            session, kind=outbox.REMINDER, payload={}, now=NOW, channels=["smtp://h:99999?to=a@b"]
        )


def test_the_email_message_id_is_the_same_on_every_retry(db_url: str) -> None:
    [fid] = seed_due(db_url, 1)
    engine = engine_for(db_url)
    with smtp_server() as (box, port):
        url = f"smtp://127.0.0.1:{port}?to=c@clinic.example&from=ivig@clinic.example"
        raise_due(engine, as_of=TODAY, now=NOW, channels=[url])
        deliver_due(engine, clock=clock_at(), configured=[url])
        # Force a second send of the same row, as a lease takeover after a crash would.
        with engine.begin() as conn:
            conn.execute(Reminder.__table__.update().values(status="pending", next_attempt_at=NOW))
        deliver_due(engine, clock=clock_at(NOW + timedelta(minutes=1)), configured=[url])
    first, second = (email.message_from_bytes(raw) for raw in box.messages)
    assert (
        first["Message-ID"] == second["Message-ID"] == (f"<followup-{fid}-reminder@clinic.example>")
    )
    assert first["X-Ivig-Message-Id"] == f"followup-{fid}-reminder"


def test_the_patient_invitation_goes_to_its_own_address(db_url: str) -> None:
    engine = engine_for(db_url)
    with smtp_server() as (box, port):
        url = f"smtp://127.0.0.1:{port}?to=c@clinic.example&from=ivig@clinic.example"
        with transaction(engine) as session:
            outbox.enqueue(
                session,
                kind=outbox.PATIENT_INVITATION,
                payload={"link": "https://ivig.example/r/abc"},
                now=NOW,
                channels=[url],
                subject="Your questionnaire",
                email_to=["patient@example.org"],
            )
        deliver_due(engine, clock=clock_at(), configured=[url])
    [raw] = box.messages
    message = email.message_from_bytes(raw)
    assert box.recipients == [["patient@example.org"]]
    assert message["Subject"] == "Your questionnaire"
    assert b"_envelope" not in raw


@pytest.mark.slow
def test_the_migration_gives_existing_reminders_their_message_ids(tmp_path: Path) -> None:
    from alembic import command

    from workflow.db import alembic_config, make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    config = alembic_config(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        conn.exec_driver_sql(
            "INSERT INTO patients (id, mrn, name, birth_date, sex, weight_kg, diabetes,"
            " created_at) VALUES (1, 'P1', 'N', '1960-01-01', 'male', 80, 'type2', '2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO followups (id, patient_id, kind, due_date, status, created_at)"
            " VALUES (5, 1, 'hba1c', '2026-02-01', 'raised', '2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO reminders (followup_id, channel, kind, payload, status, attempts,"
            " next_attempt_at, created_at) VALUES (5, 'log', 'escalation', '{}', 'pending', 0,"
            " '2026-01-01', '2026-01-01')"
        )
    upgrade(engine)  # as `ivig db upgrade` does it, on a database holding records
    with engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT message_id, patient_id, course_id FROM reminders").one()
    engine.dispose()
    assert tuple(row) == ("followup-5-escalation", 1, None)
