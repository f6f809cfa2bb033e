"""The bus on real RabbitMQ when things go wrong: nothing lost, nothing applied twice, reasons kept."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from switchboard.bus.broker import BrokerPublisher
from switchboard.bus.relay import OutgoingMessage, PublishesEach
from switchboard.bus.topology import Subscription
from switchboard.composition import ServiceDefinition
from switchboard.db.tables import inbox, outbox
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event, seal, to_json
from switchboard.events.v1.ticketing_events_pb2 import TicketCreated
from switchboard.runner import Suite
from switchboard.settings import Settings
from tests import support

pytestmark = pytest.mark.integration


def ticket_created(subject: str, number: str = "T-000042") -> bytes:
    return to_json(
        seal(
            TicketCreated(ticket_id=f"id-{number}", number=number, customer_id="C-1001", subject=subject),
            correlation_id="corr-1",
        )
    )


class Probe:
    """A service that records what it applied; fails on subjects containing 'boom'."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def remember_ticket(self, uow: UnitOfWork, event: Event) -> None:
        assert isinstance(event.payload, TicketCreated)
        with self.lock:
            self.calls.append(event.payload.subject)
        if "boom" in event.payload.subject:
            raise RuntimeError(f"cannot file {event.payload.number}")

    def definition(self) -> ServiceDefinition:
        return ServiceDefinition(
            name="probe",
            port_offset=20,
            migrations=None,
            api=lambda runtime: [],
            subscriptions=[Subscription("ticket.created", self.remember_ticket)],
        )


QUEUE = "evt-ticketing-ticket.created--probe.remember_ticket"


@pytest.fixture
def probe_suite(
    amqp_url: str,
    pg_url: str,
    settings_factory: Callable[..., Settings],
    start_suite: Callable[..., Suite],
) -> tuple[Probe, Suite]:
    probe = Probe()
    settings = settings_factory(broker_url=amqp_url, database_url=pg_url, handler_attempts=3)
    suite = start_suite(settings, roles=("consumer",), definitions=[probe.definition()])
    return probe, suite


def applied(suite: Suite) -> int:
    with suite.runtimes["probe"].db.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(inbox)).scalar_one())


def test_the_same_message_delivered_twice_has_one_effect(
    amqp_url: str,
    probe_suite: tuple[Probe, Suite],
) -> None:
    probe, suite = probe_suite
    body = ticket_created("Washing machine leaks")

    support.publish_raw(amqp_url, "ticketing.events", "ticket.created", body)
    support.publish_raw(amqp_url, "ticketing.events", "ticket.created", body)

    support.wait_for(
        lambda: support.queue_depth(amqp_url, QUEUE) == 0 and applied(suite) == 1, what="both deliveries consumed"
    )
    support.publish_raw(amqp_url, "ticketing.events", "ticket.created", ticket_created("Dryer is loud", "T-000043"))
    support.wait_for(lambda: applied(suite) == 2, what="the next event")
    assert probe.calls == ["Washing machine leaks", "Dryer is loud"]


def test_a_failing_handler_is_retried_then_dead_lettered_with_its_reason_and_consuming_goes_on(
    amqp_url: str,
    probe_suite: tuple[Probe, Suite],
) -> None:
    probe, suite = probe_suite

    support.publish_raw(
        amqp_url, "ticketing.events", "ticket.created", ticket_created("boom: dryer on fire", "T-000007")
    )
    support.publish_raw(amqp_url, "ticketing.events", "ticket.created", ticket_created("Oven door stuck", "T-000008"))

    support.wait_for(lambda: support.queue_depth(amqp_url, "probe.dead-letter") == 1, what="the dead letter")
    support.wait_for(lambda: applied(suite) == 1, what="the good event applied after the bad one")
    assert probe.calls.count("boom: dryer on fire") == 3  # handler_attempts
    assert "Oven door stuck" in probe.calls
    dead = support.get_message(amqp_url, "probe.dead-letter")
    assert "remember_ticket failed: RuntimeError: cannot file T-000007" in dead.headers["x-switchboard-reason"]
    assert dead.headers["x-switchboard-queue"] == QUEUE
    assert b"T-000007" in dead.body
    assert support.queue_depth(amqp_url, QUEUE) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"{not json", "application/json", "not a valid event envelope"),
        (b'{"eventId": "e-1", "type": "ticket.created"}', "application/json", "invalid envelope"),
        (b"<ticket/>", "application/xml", "unsupported content type"),
    ],
)
def test_a_malformed_message_is_dead_lettered_with_its_reason(
    amqp_url: str,
    probe_suite: tuple[Probe, Suite],
    body: bytes,
    content_type: str,
    reason: str,
) -> None:
    probe, suite = probe_suite

    support.publish_raw(amqp_url, "ticketing.events", "ticket.created", body, content_type=content_type)

    support.wait_for(lambda: support.queue_depth(amqp_url, "probe.dead-letter") == 1, what="the dead letter")
    dead = support.get_message(amqp_url, "probe.dead-letter")
    assert reason in dead.headers["x-switchboard-reason"]
    assert dead.body == body
    assert probe.calls == []
    assert applied(suite) == 0


def test_an_event_of_a_type_nobody_knows_is_dead_lettered_by_the_screen_and_known_ones_pass(
    amqp_url: str, pg_url: str, settings_factory: Callable[..., Settings], start_suite: Callable[..., Suite]
) -> None:
    probe = Probe()
    screening = dataclasses.replace(probe.definition(), screens=("ticketing",))
    settings = settings_factory(broker_url=amqp_url, database_url=pg_url)
    start_suite(settings, roles=("consumer",), definitions=[screening])
    unknown = b'{"eventId": "e-9", "type": "ticket.teleported"}'

    support.publish_raw(amqp_url, "ticketing.events", "ticket.teleported", unknown)
    support.publish_raw(amqp_url, "ticketing.events", "ticket.created", ticket_created("Dryer hums"))

    support.wait_for(lambda: probe.calls == ["Dryer hums"], what="the known event applied")
    support.wait_for(lambda: support.queue_depth(amqp_url, "probe.dead-letter") == 1, what="the dead letter")
    dead = support.get_message(amqp_url, "probe.dead-letter")
    assert dead is not None
    assert dead.body == unknown
    assert dead.headers["x-switchboard-reason"].startswith("unknown event type 'ticket.teleported'")
    assert dead.headers["x-switchboard-queue"] == "evt-ticketing-unknown--probe.screen"
    time.sleep(0.3)
    assert support.queue_depth(amqp_url, "probe.dead-letter") == 0


class CrashAfterPublish(PublishesEach):
    """Publishes for real, then dies before the relay can mark the row (the first time only)."""

    def __init__(self, url: str) -> None:
        self.real = BrokerPublisher(url)
        self.crashed = False

    def publish(self, message: OutgoingMessage) -> None:
        self.real.publish(message)
        if not self.crashed:
            self.crashed = True
            raise ConnectionError("relay process died between publish and mark")


def test_a_relay_that_dies_after_publishing_publishes_again_and_the_effect_happens_once(
    amqp_url: str,
    pg_url: str,
    settings_factory: Callable[..., Settings],
    start_suite: Callable[..., Suite],
) -> None:
    from switchboard.bus.relay import Relay

    probe = Probe()
    settings = settings_factory(broker_url=amqp_url, database_url=pg_url)
    consumer = start_suite(settings, roles=("consumer",), definitions=[probe.definition()])
    producer = start_suite(settings, services=["ticketing"], roles=("api",))
    runtime = producer.runtimes["ticketing"]
    with runtime.uow() as uow:
        uow.emit(TicketCreated(ticket_id="t-1", number="T-000001", customer_id="C-1001", subject="Fridge is warm"))
        uow.commit()
    publisher = CrashAfterPublish(amqp_url)
    relay = Relay(runtime.db, publisher, batch=10, poll=0.05)

    with pytest.raises(ConnectionError):
        relay.relay_once()
    assert relay.relay_once() == 1

    support.wait_for(
        lambda: applied(consumer) == 1 and support.queue_depth(amqp_url, QUEUE) == 0, what="both copies consumed"
    )
    assert probe.calls == ["Fridge is warm"]
    with runtime.db.engine.connect() as connection:
        row = connection.execute(select(outbox.c.published_at, outbox.c.attempts)).one()
    assert row.published_at is not None and row.attempts == 1
    publisher.real.close()


def test_a_batch_is_published_whole_and_confirmed_together(amqp_url: str) -> None:
    from kombu import Connection, Queue

    from switchboard.bus.broker import events_exchange

    with Connection(amqp_url) as connection:
        Queue("batch-probe", events_exchange("ticketing"), routing_key="ticket.created", durable=True)(
            connection.default_channel
        ).declare()
    messages = [
        OutgoingMessage(f"e-{n}", "ticketing.events", "ticket.created", "application/json", ticket_created(f"n{n}"), {})
        for n in range(300)
    ]
    publisher = BrokerPublisher(amqp_url)
    try:
        assert publisher.publish_all(messages) == (300, None)
        assert publisher.publish_all(messages[:5]) == (5, None)  # tags go on counting on one channel
    finally:
        publisher.close()

    support.wait_for(lambda: support.queue_depth(amqp_url, "batch-probe") == 305, what="305 messages queued")


def test_a_batch_cut_short_by_a_lost_connection_reports_how_many_were_confirmed(amqp_url: str) -> None:
    messages = [
        OutgoingMessage(f"e-{n}", "ticketing.events", "ticket.created", "application/json", ticket_created(f"n{n}"), {})
        for n in range(3)
    ]
    publisher = BrokerPublisher(amqp_url)
    assert publisher.publish_all(messages[:1]) == (1, None)
    support.rabbitmqctl("close_all_connections", "-p", amqp_url.rsplit("/", 1)[1], "test: broker restart")
    time.sleep(0.5)  # let the close reach the publisher's socket

    delivered, error = publisher.publish_all(messages)

    assert delivered == 0
    assert error is not None
    assert publisher.publish_all(messages) == (3, None)  # the next batch reconnects
    publisher.close()
