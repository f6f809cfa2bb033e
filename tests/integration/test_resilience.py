"""Crashes and restarts: no event is lost and none is applied twice."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select

from switchboard.bus.embedded import EmbeddedBus
from switchboard.bus.handling import Applier
from switchboard.bus.relay import OutgoingMessage, PublishesEach, Relay
from switchboard.composition import load_services
from switchboard.runner import Suite
from switchboard.settings import Settings
from tests import support
from tests.conftest import token_for
from tests.e2e.running import READY_LINE, Running, environment


def task_count_per_ticket(engine: Engine) -> dict[str, int]:
    from services.routing.store.schema import tasks

    with engine.connect() as connection:
        rows = connection.execute(select(tasks.c.ticket_id, func.count()).group_by(tasks.c.ticket_id)).all()
    return {ticket_id: count for ticket_id, count in rows}


def create_tickets(api: support.Api, prefix: str, count: int) -> list[str]:
    return [
        api.ticketing.CreateTicket(
            support.create_ticket_request(f"{prefix}-{i:04d}"), metadata=api.metadata, timeout=10
        ).ticket.ticket_id
        for i in range(count)
    ]


class DiesAfterDelivering(PublishesEach):
    """The embedded bus applies the event, then the process dies before the row is marked."""

    def __init__(self, bus: EmbeddedBus) -> None:
        self.bus, self.died = bus, False

    def publish(self, message: OutgoingMessage) -> None:
        self.bus.publish(message)
        if not self.died:
            self.died = True
            raise SystemError("killed mid-delivery")


def test_the_embedded_bus_killed_mid_delivery_redelivers_and_applies_once(
    settings_factory: Callable[..., Settings],
) -> None:
    from services.routing.subscriptions import SUBSCRIPTIONS
    from services.ticketing.domain.tickets import NewTicket
    from services.ticketing.service import tickets as ticketing_service

    settings = settings_factory()
    ticketing, routing = (d.open(settings) for d in load_services(["ticketing", "routing"]))
    try:
        ticket_ids = []
        for n in range(3):
            with ticketing.uow() as uow:
                new = NewTicket(customer_id="C-1001", channel="phone", subject=f"Leak {n}", created_by="alice")
                ticket_ids.append(ticketing_service.create_ticket(uow, new).ticket_id)
                uow.commit()
        bus = EmbeddedBus()
        bus.subscribe(Applier("routing", routing.uow, settings), routing.db, SUBSCRIPTIONS)
        relay = Relay(ticketing.db, DiesAfterDelivering(bus), batch=10, poll=0.05)

        with pytest.raises(SystemError):
            relay.relay_once()
        relay.relay_once()

        assert task_count_per_ticket(routing.db.engine) == dict.fromkeys(ticket_ids, 1)
    finally:
        ticketing.db.dispose()
        routing.db.dispose()


def test_the_embedded_suite_killed_outright_loses_nothing_and_applies_once(tmp_path: Path) -> None:
    env = environment(data_dir=str(tmp_path / "var"), base_port=str(support.free_base_port()))
    first = Running(["python", "-m", "switchboard", "up"], env)
    try:
        first.wait_for_line(READY_LINE, timeout=120)
        settings = Settings(data_dir=tmp_path / "var", base_port=int(env["SWITCHBOARD_BASE_PORT"]))
        api = support.Api(settings.host, settings.base_port, token_for(settings, "agent"))
        ticket_ids = create_tickets(api, "killed", 25)
        api.close()
    finally:
        first.kill()  # SIGKILL: no shutdown, whatever was in flight stays in flight
    second = Running(["python", "-m", "switchboard", "up"], env)
    try:
        second.wait_for_line(READY_LINE, timeout=120)
        routing_db = create_engine(f"sqlite:///{tmp_path / 'var' / 'routing.db'}")
        counts = support.wait_for(
            lambda: len(c := task_count_per_ticket(routing_db)) == 25 and c, timeout=60, what="a task per ticket"
        )
        routing_db.dispose()
        assert counts == dict.fromkeys(ticket_ids, 1)
        assert second.interrupt() == 0
    finally:
        second.kill()


class Broker:
    """Stops and starts RabbitMQ's application on this node; vhosts and quorum queues persist."""

    def __init__(self) -> None:
        self.stopped = False

    def stop(self) -> None:
        support.rabbitmqctl("stop_app")
        self.stopped = True

    def start(self) -> None:
        support.rabbitmqctl("start_app")
        support.rabbitmqctl("await_startup", "--timeout", "120")
        self.stopped = False


@pytest.fixture
def broker() -> Iterator[Broker]:
    handle = Broker()
    yield handle
    if handle.stopped:  # never leave the machine's broker down, whatever the test did
        handle.start()


@pytest.mark.integration
def test_rabbitmq_restarted_while_relay_and_consumers_run_loses_nothing(
    pg_url: str,
    amqp_url: str,
    settings_factory: Callable[..., Settings],
    start_suite: Callable[..., Suite],
    api_factory: Callable[..., support.Api],
    broker: Broker,
) -> None:
    settings = settings_factory(broker_url=amqp_url, database_url=pg_url)
    suite = start_suite(settings, services=["ticketing", "routing"])
    api = api_factory(settings, "agent")
    before = create_tickets(api, "before", 5)
    support.wait_for(
        lambda: len(task_count_per_ticket(suite.runtimes["routing"].db.engine)) == 5, what="tasks before the restart"
    )

    broker.stop()
    during = create_tickets(api, "during", 5)  # the API keeps working: events wait in the outbox
    broker.start()
    after = create_tickets(api, "after", 5)

    counts = support.wait_for(
        lambda: len(c := task_count_per_ticket(suite.runtimes["routing"].db.engine)) == 15 and c,
        timeout=90,
        what="a task for every ticket",
    )
    assert counts == dict.fromkeys(before + during + after, 1)
