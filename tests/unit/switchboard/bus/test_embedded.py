"""The embedded bus hands each message to every subscriber; one that cannot apply it dead-letters it alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest

from switchboard import envelope
from switchboard.bus.embedded import EmbeddedBus
from switchboard.bus.handling import Applier
from switchboard.bus.relay import Relay
from switchboard.bus.topology import Subscription
from switchboard.db.engine import Database
from switchboard.db.tables import dead_letters, inbox
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event
from switchboard.settings import Settings
from tests.unit.builders import OpenDb, count, device_fault, message_of, rows, sealed, uow_factory


@dataclass
class Recorder:
    fault_codes: list[str] = field(default_factory=list)

    def open_ticket(self, uow: UnitOfWork, event: Event) -> None:
        self.fault_codes.append(event.payload.fault_code)  # type: ignore[attr-defined]


def always_fails(uow: UnitOfWork, event: Event) -> None:
    raise ConnectionError("CRM timed out")


@dataclass
class Services:
    bus: EmbeddedBus
    ticketing: Database
    customer360: Database
    recorder: Recorder


@pytest.fixture
def services(open_db: OpenDb, settings_factory: Callable[..., Settings]) -> Services:
    """ticketing applies device faults; customer360's handler for them always fails."""
    settings = settings_factory(handler_attempts=2, handler_backoff=0.001, handler_backoff_max=0.001)
    ticketing, customer360 = open_db("ticketing"), open_db("customer360")
    recorder = Recorder()
    bus = EmbeddedBus()
    bus.subscribe(
        Applier("customer360", uow_factory(customer360), settings),
        customer360,
        [Subscription("device.fault_reported", always_fails)],
    )
    bus.subscribe(
        Applier("ticketing", uow_factory(ticketing), settings),
        ticketing,
        [Subscription("device.fault_reported", recorder.open_ticket)],
    )
    return Services(bus, ticketing, customer360, recorder)


def test_a_message_is_applied_by_each_subscriber(services: Services) -> None:
    services.bus.publish(message_of(sealed(device_fault())))

    assert services.recorder.fault_codes == ["E21"]
    assert count(services.ticketing, inbox) == 1


def test_a_message_a_subscriber_cannot_apply_lands_in_its_dead_letters_with_the_reason(services: Services) -> None:
    env = sealed(device_fault())

    services.bus.publish(message_of(env))

    (dead,) = rows(services.customer360, dead_letters)
    assert dead.consumer == "evt-integration-device.fault_reported--customer360.always_fails"
    assert dead.event_id == env.event_id
    assert (dead.exchange, dead.routing_key, dead.content_type) == (
        "integration.events",
        "device.fault_reported",
        "application/json",
    )
    assert dead.body == envelope.to_json(env)
    assert dead.reason == "always_fails failed: ConnectionError: CRM timed out"
    assert dead.failed_at is not None


def test_other_subscribers_still_apply_a_message_one_subscriber_dead_lettered(services: Services) -> None:
    services.bus.publish(message_of(sealed(device_fault())))

    assert services.recorder.fault_codes == ["E21"]
    assert count(services.ticketing, dead_letters) == 0


def test_a_malformed_message_is_dead_lettered_by_every_subscriber(services: Services) -> None:
    message = message_of(sealed(device_fault(fault_code="")))

    services.bus.publish(message)

    assert services.recorder.fault_codes == []
    for db in (services.ticketing, services.customer360):
        (dead,) = rows(db, dead_letters)
        assert dead.reason.startswith("invalid payload: fault_code:")


def test_a_message_nobody_subscribed_to_is_dropped(services: Services) -> None:
    message = message_of(sealed(device_fault()))

    services.bus.publish(replace(message, routing_key="device.rebooted"))

    assert services.recorder.fault_codes == []
    assert count(services.customer360, dead_letters) == 0


def test_a_redelivered_message_is_applied_once(services: Services) -> None:
    message = message_of(sealed(device_fault()))

    services.bus.publish(message)
    services.bus.publish(message)

    assert services.recorder.fault_codes == ["E21"]


def test_the_relay_feeds_the_embedded_bus_from_a_services_outbox(services: Services, open_db: OpenDb) -> None:
    integration = open_db("integration")
    with UnitOfWork(integration) as uow:
        uow.emit(device_fault(fault_code="E21"), customer_id="C-1001")
        uow.emit(device_fault(fault_code="F07"), customer_id="C-1001")
        uow.commit()

    sent = Relay(integration, services.bus, batch=200, poll=0.01).relay_once()

    assert sent == 2
    assert services.recorder.fault_codes == ["E21", "F07"]


def test_a_binary_message_with_a_corrupt_payload_is_dead_lettered(services: Services) -> None:
    env = sealed(device_fault())
    message = message_of(env)
    env.payload.value = b"\xff\xff\xff"
    corrupt = replace(message, content_type=envelope.PROTOBUF, body=env.SerializeToString())

    services.bus.publish(corrupt)

    assert count(services.ticketing, dead_letters) == 1
