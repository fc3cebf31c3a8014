"""Delivery: every reminder reaches every channel once; failures retry with back-off."""

from __future__ import annotations

import email
import threading
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest

from schedules import delivery
from schedules.delivery import deliver_due
from schedules.raising import raise_due
from tests.conftest import Ivig
from tests.schedules.conftest import NOW, TODAY, Sink, clock_at, seed_due
from tests.schedules.servers import smtp_server, webhook_server
from workflow.db import engine_for, make_engine

PAYLOAD_KEYS = {
    "followup_id",
    "kind",
    "mrn",
    "course_id",
    "due_date",
    "sent_at",
    "reminder",
    "message_id",
}


def _reminders(ivig: Ivig) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ivig.ok("reminders", "list")
    return rows


def test_file_sink_gets_one_line_per_followup_with_the_contract_fields(
    db_url: str, sink: Sink
) -> None:
    ids = seed_due(db_url, 5)
    engine = engine_for(db_url)
    raise_due(engine, as_of=TODAY, now=NOW, channels=[sink.url])

    first = deliver_due(engine, clock=clock_at(), configured=[sink.url])
    again = deliver_due(engine, clock=clock_at(NOW + timedelta(hours=2)), configured=[sink.url])

    assert len(first.sent) == 5 and again.sent == []
    lines = sink.lines()
    assert sorted(line["followup_id"] for line in lines) == ids
    assert all(set(line) == PAYLOAD_KEYS for line in lines)
    assert lines[0]["kind"] == "hba1c" and lines[0]["reminder"] == "reminder"
    assert lines[0]["sent_at"] == NOW.isoformat()
    assert lines[0]["due_date"] == "2026-11-18" and lines[0]["course_id"] is None


def test_smtp_delivers_to_a_real_server_without_patient_names(db_url: str) -> None:
    [fid] = seed_due(db_url, 1)
    engine = engine_for(db_url)
    with smtp_server() as (box, port):
        url = f"smtp://127.0.0.1:{port}?to=coordinator@clinic.example&from=ivig@clinic.example"
        raise_due(engine, as_of=TODAY, now=NOW, channels=[url])
        report = deliver_due(engine, clock=clock_at(), configured=[url])
    assert len(report.sent) == 1
    [raw] = box.messages
    message: Message = email.message_from_bytes(raw)
    assert "S000000" in message["Subject"]
    assert message["X-Ivig-Followup-Id"] == str(fid)
    assert box.recipients == [["coordinator@clinic.example"]]
    assert b"Seeded Patient" not in raw  # the name never leaves the database


@pytest.mark.slow
def test_a_failing_webhook_is_retried_with_backoff_while_others_deliver(
    ivig: Ivig, db_url: str, sink: Sink
) -> None:
    ids = seed_due(db_url, 3)
    engine = engine_for(db_url)
    with webhook_server() as hook:
        hook.failing.add("/down")
        good, bad = hook.url("/ok"), hook.url("/down")
        configured = [good, bad, sink.url]
        raise_due(engine, as_of=TODAY, now=NOW, channels=configured)

        first = deliver_due(engine, clock=clock_at(), configured=configured)
        assert len(first.sent) == 6 and len(first.failed) == 3
        assert sorted(b["followup_id"] for b in hook.bodies("/ok")) == ids
        assert len(sink.lines()) == 3

        failed = [r for r in _reminders(ivig) if r["channel"] == bad]
        assert {r["status"] for r in failed} == {"pending"}
        assert {r["last_error"] for r in failed} == {"HTTP 500 from the webhook"}
        assert {r["attempts"] for r in failed} == {1}
        assert {r["next_attempt_at"] for r in failed} == {"2026-11-20T15:01:00Z"}
        human = ivig("reminders", "list", "--status", "pending")
        assert human.code == 0 and "HTTP 500" in human.out

        # Before the back-off has passed nothing is tried; after it, once more.
        early = deliver_due(
            engine, clock=clock_at(NOW + timedelta(seconds=30)), configured=configured
        )
        assert early.sent == [] and early.failed == []
        second = deliver_due(
            engine, clock=clock_at(NOW + timedelta(minutes=1)), configured=configured
        )
        assert len(second.failed) == 3
        retried = [r for r in _reminders(ivig) if r["channel"] == bad]
        assert {r["attempts"] for r in retried} == {2}
        assert {r["next_attempt_at"] for r in retried} == {"2026-11-20T15:03:00Z"}

        hook.failing.clear()
        third = deliver_due(
            engine, clock=clock_at(NOW + timedelta(minutes=3)), configured=configured
        )
        assert len(third.sent) == 3
        assert sorted(b["followup_id"] for b in hook.bodies("/down")[-3:]) == ids
    sent = [r for r in _reminders(ivig) if r["channel"] == bad]
    assert {r["status"] for r in sent} == {"sent"} and {r["last_error"] for r in sent} == {None}
    assert len(hook.bodies("/ok")) == 3  # the good channel never got a repeat


def test_one_bad_row_does_not_stop_the_rest(db_url: str) -> None:
    ids = seed_due(db_url, 4)
    engine = engine_for(db_url)
    raise_due(engine, as_of=TODAY, now=NOW, channels=["log"])
    delivered: list[int] = []

    def send(url: str, body: dict[str, Any]) -> None:
        if body["followup_id"] == ids[1]:
            raise ValueError("a broken payload")
        delivered.append(body["followup_id"])

    report = deliver_due(engine, clock=clock_at(), configured=[], send=send)
    assert delivered == [ids[0], ids[2], ids[3]]
    assert len(report.failed) == 1


def test_a_crash_between_claim_and_delivery_loses_nothing(db_url: str, sink: Sink) -> None:
    """The raise committed its outbox, then the process died before delivering."""
    ids = seed_due(db_url, 2)
    raise_due(engine_for(db_url), as_of=TODAY, now=NOW, channels=[sink.url])
    assert sink.lines() == []  # nothing sent yet: the "crash"

    restarted = make_engine(db_url)
    try:
        report = deliver_due(restarted, clock=clock_at(NOW + timedelta(hours=8)), configured=[])
    finally:
        restarted.dispose()
    assert len(report.sent) == 2
    assert sorted(line["followup_id"] for line in sink.lines()) == ids


def test_a_crash_mid_send_is_resent_after_the_lease(db_url: str, sink: Sink) -> None:
    [fid] = seed_due(db_url, 1)
    engine = engine_for(db_url)
    raise_due(engine, as_of=TODAY, now=NOW, channels=[sink.url])
    with pytest.raises(_Crash):
        deliver_due(engine, clock=clock_at(), configured=[], send=_crash_while_sending)

    # The claim is held for the lease: another deliverer leaves it alone meanwhile.
    held = deliver_due(engine, clock=clock_at(NOW + timedelta(minutes=5)), configured=[])
    assert held.sent == [] and held.failed == []
    after = deliver_due(engine, clock=clock_at(NOW + delivery.LEASE), configured=[])
    assert len(after.sent) == 1
    assert [line["followup_id"] for line in sink.lines()] == [fid]


class _Crash(BaseException):
    """Stands for the process dying mid-send: not an Exception, so nothing records it."""


def _crash_while_sending(url: str, body: dict[str, Any]) -> None:
    raise _Crash


def test_two_deliverers_send_each_reminder_once(db_url: str, sink: Sink) -> None:
    ids = seed_due(db_url, 40)
    raise_due(engine_for(db_url), as_of=TODAY, now=NOW, channels=[sink.url])
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def deliverer() -> None:
        engine = make_engine(db_url)
        try:
            start.wait()
            deliver_due(engine, clock=clock_at(), configured=[sink.url])
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=deliverer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(line["followup_id"] for line in sink.lines()) == ids
