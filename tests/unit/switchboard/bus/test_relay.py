"""The outbox relay publishes committed events in order, marks them, and stops a batch at a failure."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from switchboard import envelope
from switchboard.bus.relay import OutgoingMessage, PublishesEach, Relay
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.db.uow import UnitOfWork
from switchboard.events.v1.envelope_pb2 import Envelope
from tests import support
from tests.unit.builders import rows, ticket_created


class RecordingPublisher(PublishesEach):
    """Keeps what it was given; the ``fail_on``-th publish call fails as a lost broker connection would."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.sent: list[OutgoingMessage] = []
        self.calls = 0
        self.fail_on = fail_on

    def publish(self, message: OutgoingMessage) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            raise ConnectionError("broker connection lost")
        self.sent.append(message)

    @property
    def numbers(self) -> list[str]:
        return [envelope.decode(m.body, m.content_type).payload.number for m in self.sent]  # type: ignore[attr-defined]


def _commit_tickets(db: Database, *numbers: str) -> list[Envelope]:
    with UnitOfWork(db) as uow:
        emitted = [uow.emit(ticket_created(number=n), customer_id="C-1001") for n in numbers]
        uow.commit()
    return emitted


FIVE = ("T-000001", "T-000002", "T-000003", "T-000004", "T-000005")


def test_relay_publishes_pending_rows_in_the_order_they_were_committed(chassis_db: Database) -> None:
    _commit_tickets(chassis_db, *FIVE)
    publisher = RecordingPublisher()

    sent = Relay(chassis_db, publisher, batch=200, poll=0.01).relay_once()

    assert sent == 5
    assert publisher.numbers == list(FIVE)


def test_relay_marks_published_rows(chassis_db: Database) -> None:
    _commit_tickets(chassis_db, "T-000001", "T-000002")

    Relay(chassis_db, RecordingPublisher(), batch=200, poll=0.01).relay_once()

    assert all(row.published_at is not None for row in rows(chassis_db, outbox))


def test_relay_publishes_each_row_as_it_was_stored(chassis_db: Database) -> None:
    (emitted,) = _commit_tickets(chassis_db, "T-000001")
    publisher = RecordingPublisher()

    Relay(chassis_db, publisher, batch=200, poll=0.01).relay_once()

    (message,) = publisher.sent
    assert (message.event_id, message.exchange, message.routing_key, message.content_type) == (
        emitted.event_id,
        "ticketing.events",
        "ticket.created",
        "application/json",
    )
    assert message.headers == {"correlation_id": emitted.correlation_id, "causation_id": ""}
    assert envelope.decode(message.body, message.content_type).envelope == emitted


def test_a_second_relay_pass_publishes_nothing(chassis_db: Database) -> None:
    _commit_tickets(chassis_db, *FIVE)
    publisher = RecordingPublisher()
    relay = Relay(chassis_db, publisher, batch=200, poll=0.01)
    relay.relay_once()

    assert relay.relay_once() == 0
    assert len(publisher.sent) == 5


def test_relay_publishes_at_most_one_batch_per_pass(chassis_db: Database) -> None:
    _commit_tickets(chassis_db, *FIVE)
    publisher = RecordingPublisher()
    relay = Relay(chassis_db, publisher, batch=2, poll=0.01)

    assert relay.relay_once() == 2
    assert relay.relay_once() == 2
    assert publisher.numbers == ["T-000001", "T-000002", "T-000003", "T-000004"]


def test_an_uncommitted_event_is_not_published(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db) as uow:
        uow.emit(ticket_created())
    publisher = RecordingPublisher()

    assert Relay(chassis_db, publisher, batch=200, poll=0.01).relay_once() == 0
    assert publisher.sent == []


def test_a_failed_publish_raises_and_keeps_the_rows_before_it_published(chassis_db: Database) -> None:
    _commit_tickets(chassis_db, *FIVE)
    relay = Relay(chassis_db, RecordingPublisher(fail_on=3), batch=200, poll=0.01)

    with pytest.raises(ConnectionError, match="broker connection lost"):
        relay.relay_once()

    first, second, third, fourth, fifth = rows(chassis_db, outbox)
    assert first.published_at is not None and second.published_at is not None
    assert (first.attempts, second.attempts) == (0, 0)
    assert third.published_at is None
    assert third.attempts == 1
    assert third.last_error == "ConnectionError('broker connection lost')"
    assert (fourth.published_at, fourth.attempts, fifth.published_at, fifth.attempts) == (None, 0, None, 0)


def test_after_a_failed_publish_the_next_pass_resumes_at_the_failed_row(chassis_db: Database) -> None:
    _commit_tickets(chassis_db, *FIVE)
    publisher = RecordingPublisher(fail_on=3)
    relay = Relay(chassis_db, publisher, batch=200, poll=0.01)
    with pytest.raises(ConnectionError):
        relay.relay_once()

    publisher.fail_on = None  # the broker is back
    sent = relay.relay_once()

    assert sent == 3
    assert publisher.numbers == list(FIVE)
    assert all(row.published_at is not None for row in rows(chassis_db, outbox))


def test_each_failed_publish_of_a_row_counts_an_attempt(chassis_db: Database) -> None:
    _commit_tickets(chassis_db, "T-000001")
    relay = Relay(chassis_db, RecordingPublisher(fail_on=1), batch=200, poll=0.01)
    with pytest.raises(ConnectionError):
        relay.relay_once()
    relay.publisher = RecordingPublisher(fail_on=1)

    with pytest.raises(ConnectionError):
        relay.relay_once()

    (row,) = rows(chassis_db, outbox)
    assert (row.attempts, row.published_at) == (2, None)


def test_a_running_relay_publishes_events_as_they_are_committed_and_stops_when_asked(chassis_db: Database) -> None:
    publisher = RecordingPublisher()
    relay = Relay(chassis_db, publisher, batch=200, poll=5.0)
    stop = threading.Event()
    runner = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    runner.start()
    try:
        with UnitOfWork(chassis_db, on_commit=relay.wake.set) as uow:
            uow.emit(ticket_created(number="T-000001"))
            uow.commit()

        support.wait_for(lambda: publisher.sent, timeout=2.0, what="the relay to publish T-000001")
    finally:
        stop.set()
        relay.wake.set()
        runner.join(timeout=2.0)

    assert not runner.is_alive()
    assert publisher.numbers == ["T-000001"]
    with chassis_db.engine.connect() as connection:
        assert connection.execute(select(outbox.c.published_at)).scalar_one() is not None


class Unreachable(PublishesEach):
    def publish_all(self, messages: Sequence[OutgoingMessage]) -> tuple[int, Exception | None]:
        raise AssertionError("an idle relay reached for the broker")


def test_an_idle_relay_does_not_reach_for_the_broker(chassis_db: Database) -> None:
    relay = Relay(chassis_db, Unreachable(), batch=10, poll=0.05)

    assert relay.relay_once() == 0
