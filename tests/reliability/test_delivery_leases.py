"""Attack: a slow receiver and two deliverers over more than one lease period.

Before the fix a run read the clock once and leased every claim from that instant:
after ten minutes of slow sends each new claim was born expired and a second
deliverer sent the same messages again. Time here is a clock the fake receiver moves
forward on every send, so nothing sleeps.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from schedules import channels, delivery
from schedules.delivery import deliver_due
from schedules.raising import raise_due
from tests.schedules.conftest import NOW, TODAY, FixedClock, clock_at, seed_due
from workflow.db import engine_for, make_engine, transaction
from workflow.models import Reminder


class SlowReceiver:
    """Every send takes ``seconds`` of (fake) time."""

    def __init__(self, clock: FixedClock, seconds: float) -> None:
        self.clock, self.seconds = clock, seconds
        self.received: Counter[str] = Counter()

    def send(self, url: str, body: dict[str, Any]) -> None:
        self.received[body["message_id"]] += 1
        self.clock.instant += timedelta(seconds=self.seconds)


def test_a_slow_receiver_and_two_deliverers_send_each_message_once(db_url: str) -> None:
    """A first deliverer sends 91 messages at 9 s each (13 minutes: over one lease).
    Once it has been running longer than a lease, a second deliverer (a cron
    ``followups raise``) runs a whole pass while the first is in the middle of a send."""
    n = 91
    seed_due(db_url, n)
    engine = engine_for(db_url)
    raise_due(engine, as_of=TODAY, now=NOW, channels=["log"])
    clock = clock_at(NOW)
    receiver = SlowReceiver(clock, seconds=9)
    second = make_engine(db_url)
    second_ran: list[int] = []

    def first_sender(url: str, body: dict[str, Any]) -> None:
        receiver.send(url, body)
        if not second_ran and clock.instant - NOW > delivery.LEASE:
            fast = lambda u, b: receiver.received.update([b["message_id"]])  # noqa: E731
            second_ran.append(len(deliver_due(second, clock=clock, configured=[], send=fast).sent))

    deliver_due(engine, clock=clock, configured=[], send=first_sender)
    second.dispose()

    assert second_ran and second_ran[0] > 0  # the second deliverer did send some
    assert len(receiver.received) == n
    assert set(receiver.received.values()) == {1}
    with engine.connect() as conn:
        assert set(conn.scalars(select(Reminder.status))) == {"sent"}


def test_a_send_that_outlived_its_lease_does_not_overwrite_the_newer_claim(
    db_url: str,
) -> None:
    """A deliverer whose send failed after its lease ran out (and another claimed the
    row and sent it) records nothing: the row stays sent, not pending for a retry."""
    seed_due(db_url, 1)
    engine = engine_for(db_url)
    raise_due(engine, as_of=TODAY, now=NOW, channels=["log"])
    clock = clock_at(NOW)
    sends: list[str] = []

    def stalled(url: str, body: dict[str, Any]) -> None:
        sends.append("first")
        clock.instant += delivery.LEASE + timedelta(minutes=1)  # stuck past its lease
        deliver_due(engine, clock=clock, configured=[], send=lambda u, b: sends.append("2nd"))
        raise channels.ChannelError("timed out at last")

    report = deliver_due(engine, clock=clock, configured=[], send=stalled)
    assert sends == ["first", "2nd"] and len(report.failed) == 1
    with transaction(engine) as session:
        row = session.scalars(select(Reminder)).one()
        assert (row.status, row.last_error, row.attempts) == ("sent", None, 2)


@contextmanager
def trickling_server(kind: str) -> Iterator[int]:
    """A server that accepts and then answers one byte at a time, forever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    def trickle(conn: socket.socket) -> None:
        opening = b"HTTP/1.1 200 OK\r\nX-Slow: " if kind == "http" else b"220-slow\r\n220-"
        try:
            conn.sendall(opening)
            while not stop.wait(0.02):
                conn.sendall(b"a")
        except OSError:
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        listener.close()


@pytest.mark.parametrize("kind", ["http", "smtp"])
def test_a_trickling_receiver_cannot_stretch_a_send_past_its_deadline(kind: str) -> None:
    """Each byte comes well within the per-read timeout; the total deadline still ends
    the send, with a reason naming it."""
    with trickling_server(kind) as port:
        url = (
            f"http://127.0.0.1:{port}/hook"
            if kind == "http"
            else f"smtp://127.0.0.1:{port}?to=a@clinic.example"
        )
        body = {"message_id": "m-1", "reminder": "reminder", "followup_id": 1, "mrn": "P1"}
        with pytest.raises(channels.ChannelError, match="longer than 0.3 s"):
            channels.send(url, body, timeout=5, deadline=0.3)


def test_the_send_deadline_is_well_inside_the_lease() -> None:
    assert delivery.SEND_DEADLINE * 5 <= delivery.LEASE
