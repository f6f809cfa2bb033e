"""Several relays share one outbox; a call's correlation id reaches its log line and its events."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select

from switchboard.bus.relay import OutgoingMessage, PublishesEach, Relay
from switchboard.composition import load_services
from switchboard.db.tables import outbox
from switchboard.events.v1.ticketing_events_pb2 import TicketCreated
from switchboard.runner import Suite
from switchboard.settings import Settings
from tests import support


class Recorder(PublishesEach):
    def __init__(self) -> None:
        self.published: list[str] = []
        self.lock = threading.Lock()

    def publish(self, message: OutgoingMessage) -> None:
        with self.lock:
            self.published.append(message.event_id)


@pytest.mark.integration
def test_three_relays_on_one_postgresql_outbox_publish_each_event_once(
    pg_url: str, settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory(database_url=pg_url)
    (ticketing,) = load_services(["ticketing"])
    runtime = ticketing.open(settings)
    try:
        for n in range(300):
            with runtime.uow() as uow:
                uow.emit(TicketCreated(ticket_id=f"t-{n}", number=f"T-{n:06d}", customer_id="C-1001", subject="Leak"))
                uow.commit()
        recorder = Recorder()
        relays = [Relay(runtime.db, recorder, batch=7, poll=0.01) for _ in range(3)]
        stop = threading.Event()
        threads = [threading.Thread(target=relay.run, args=(stop,)) for relay in relays]
        for thread in threads:
            thread.start()

        support.wait_for(lambda: len(recorder.published) >= 300, timeout=30, what="300 events published")
        stop.set()
        for relay in relays:
            relay.wake.set()
        for thread in threads:
            thread.join(timeout=10)

        assert len(recorder.published) == 300
        assert len(set(recorder.published)) == 300
        with runtime.db.engine.connect() as connection:
            assert connection.execute(select(outbox.c.id).where(outbox.c.published_at.is_(None))).first() is None
    finally:
        runtime.db.dispose()


def test_the_callers_correlation_id_reaches_the_log_line_and_the_event(
    settings_factory: Callable[..., Settings],
    start_suite: Callable[..., Suite],
    api_factory: Callable[..., support.Api],
    capfd: pytest.CaptureFixture[str],
) -> None:
    settings = settings_factory(log_level="INFO")
    suite = start_suite(settings, services=["ticketing"])
    api = api_factory(settings, "agent")

    api.ticketing.CreateTicket(
        support.create_ticket_request("corr-key-001"),
        metadata=(*api.metadata, ("x-correlation-id", "call-7f3a")),
        timeout=5,
    )

    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    calls = [line for line in lines if line.get("event") == "rpc.call"]
    assert calls == [
        {
            **calls[0],
            "method": "/switchboard.ticketing.v1.TicketingService/CreateTicket",
            "code": "OK",
            "caller": "alice",
            "correlation_id": "call-7f3a",
        }
    ]
    with suite.runtimes["ticketing"].db.engine.connect() as connection:
        body = connection.execute(select(outbox.c.body)).scalar_one()
    assert json.loads(body)["correlationId"] == "call-7f3a"
