"""Timers on PostgreSQL: replicas share the due timers, a commit in another process wakes them, and an
SLA warning or breach is announced within a second of the moment it falls due."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.ticketing.domain.tickets import NewTicket
from services.ticketing.service import sla, tickets
from services.ticketing.store.sla import SlaStore
from services.ticketing.store.tickets import TicketStore
from switchboard import envelope, timers
from switchboard.common.v1 import common_pb2
from switchboard.composition import load_services
from switchboard.db import migrate
from switchboard.db.engine import Database, open_database
from switchboard.db.tables import outbox
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.events.v1 import ticketing_events_pb2 as events
from switchboard.runner import Suite
from switchboard.settings import Settings
from switchboard.ticketing.v1 import sla_pb2, sla_pb2_grpc
from switchboard.timers import Timer, TimerLoop
from tests import support

pytestmark = pytest.mark.integration


class Runs:
    """What the replicas ran, and when (wall clock, to compare with due times)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ran: list[tuple[str, str, float]] = []

    def handler(self, replica: str) -> Callable[[UnitOfWork, Timer], None]:
        def run(uow: UnitOfWork, timer: Timer) -> None:
            with self.lock:
                self.ran.append((replica, timer.key, time.time()))

        return run


@pytest.fixture
def databases(pg_url: str, settings_factory: Callable[..., Settings]) -> Iterator[Callable[[], Database]]:
    """Open the service's database as separate processes would: each its own engine."""
    settings = settings_factory(database_url=pg_url)
    opened: list[Database] = []

    def open_() -> Database:
        db = open_database(settings, "ticketing")
        migrate.upgrade(db, None)
        opened.append(db)
        return db

    yield open_
    for db in opened:
        db.dispose()


def test_two_replicas_run_each_timer_once_within_a_second_woken_by_another_process(
    databases: Callable[[], Database],
) -> None:
    runs = Runs()
    stop = threading.Event()
    replicas = []
    for name in ("replica-a", "replica-b"):
        db = databases()
        loop = TimerLoop(db, lambda db=db: UnitOfWork(db), {"reminder": runs.handler(name)})  # type: ignore[misc]
        thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
        thread.start()
        replicas.append((loop, thread))
    time.sleep(0.5)  # both asleep with nothing due: only a NOTIFY can wake them

    writer = databases()  # the API process: no loop of its own
    due = utcnow() + timedelta(seconds=1.5)
    with UnitOfWork(writer) as uow:
        for n in range(200):
            timers.schedule(uow, "reminder", f"T-{n:06d}", due + timedelta(milliseconds=n))
        uow.commit()

    try:
        support.wait_for(lambda: len(runs.ran) >= 200, timeout=15, what="200 timers run")
        time.sleep(0.3)  # a second run of any timer would show now
    finally:
        stop.set()
        for loop, thread in replicas:
            loop.stop()
            thread.join(timeout=10)

    keys = [key for _, key, _ in runs.ran]
    assert sorted(keys) == [f"T-{n:06d}" for n in range(200)]
    lateness = [ran - (due + timedelta(milliseconds=int(key[2:]))).timestamp() for _, key, ran in runs.ran]
    assert min(lateness) >= 0
    assert max(lateness) < 1.0, f"p100 {max(lateness):.3f}s"


def test_a_clock_timer_waits_for_a_change_in_progress_instead_of_deadlocking_with_it(
    pg_url: str, settings_factory: Callable[..., Settings]
) -> None:
    (ticketing,) = load_services(["ticketing"])
    runtime = ticketing.open(settings_factory(database_url=pg_url))
    try:
        with runtime.uow() as uow:
            ticket = tickets.create_ticket(
                uow, NewTicket(customer_id="C-1001", channel="phone", subject="Leak", created_by="alice")
            )
            uow.commit()
        with runtime.uow() as uow:
            (clock,) = [c for c in SlaStore(uow.session).clocks(ticket.ticket_id) if c.kind.value == "first_response"]
            timers.schedule(uow, sla.CLOCK_TIMER, clock.clock_id, utcnow(), {"ticket_id": ticket.ticket_id})
            uow.commit()
        loop = TimerLoop(runtime.db, runtime.uow, {sla.CLOCK_TIMER: sla.on_clock_timer})

        with runtime.uow() as change:  # an agent's change holds the ticket
            TicketStore(change.session).get(ticket.ticket_id, for_update=True)
            postponed = loop.fire_one()
            with runtime.db.sessions() as session:
                waiting = timers.pending(session, "ticketing", sla.CLOCK_TIMER, clock.clock_id)

        assert postponed is not None and waiting is not None
        assert waiting.attempts == 0 and waiting.due_at > postponed.due_at
        time.sleep(0.1)
        assert loop.fire_one() is not None
        with runtime.db.sessions() as session:
            assert timers.pending(session, "ticketing", sla.CLOCK_TIMER, clock.clock_id) is not None  # its next alarm
    finally:
        runtime.db.dispose()


@pytest.fixture
def suite(
    pg_url: str, settings_factory: Callable[..., Settings], start_suite: Callable[..., Suite]
) -> tuple[Suite, Settings]:
    settings = settings_factory(database_url=pg_url)
    return start_suite(settings, services=["ticketing"]), settings


def test_sla_warnings_and_breaches_are_announced_within_a_second_of_falling_due(
    suite: tuple[Suite, Settings], api_factory: Callable[..., support.Api]
) -> None:
    running, settings = suite
    supervisor = api_factory(settings, "supervisor")
    sla_api = sla_pb2_grpc.SlaServiceStub(supervisor.channel(0))
    (p1,) = [
        p
        for p in sla_api.ListPolicies(sla_pb2.ListPoliciesRequest(), metadata=supervisor.metadata, timeout=5).policies
        if p.policy_id == "p1-critical"
    ]
    quick = sla_pb2.SlaPolicy()
    quick.CopyFrom(p1)
    quick.first_response_seconds, quick.resolution_seconds = 2, 3
    del quick.warn_percents[:]
    quick.warn_percents.append(50)
    sla_api.PutPolicy(
        sla_pb2.PutPolicyRequest(idempotency_key="quick-p1-0001", policy=quick, expected_revision=p1.revision),
        metadata=supervisor.metadata,
        timeout=5,
    )
    agent = api_factory(settings, "agent")
    request = support.create_ticket_request
    created = []
    for n in range(5):
        ask = request(f"sla-timer-{n:04d}")
        ask.priority = common_pb2.PRIORITY_P1
        created.append(agent.ticketing.CreateTicket(ask, metadata=agent.metadata, timeout=5).ticket)
        time.sleep(0.15)

    db = running.runtimes["ticketing"].db

    def announced() -> list[tuple[str, datetime, datetime | None, object]]:
        with db.engine.connect() as connection:
            found = connection.execute(
                select(outbox.c.routing_key, outbox.c.body, outbox.c.content_type, outbox.c.published_at).where(
                    outbox.c.routing_key.in_(["ticket.sla_warning", "ticket.sla_breached"])
                )
            ).all()
        return [(r.routing_key, r.published_at, envelope.decode(r.body, r.content_type).payload) for r in found]

    # Per ticket: first-response warning at 1 s and breach at 2 s (P1 stays P1), resolution warning at
    # 2 s and breach at 3 s: each warning falls one second before its clock's due time.
    support.wait_for(lambda: len(announced()) >= 20, timeout=20, what="20 warnings and breaches")
    support.wait_for(lambda: all(published for _, published, _ in announced()), timeout=5, what="all published")
    delays = []
    for routing_key, published, payload in announced():
        due = payload.due_at.ToDatetime(tzinfo=UTC)  # type: ignore[attr-defined]
        if routing_key == "ticket.sla_warning":
            due -= timedelta(seconds=1)
        fired = payload.fired_at.ToDatetime(tzinfo=UTC)  # type: ignore[attr-defined]
        delays.append(((fired - due).total_seconds(), (published - due).total_seconds()))
    assert all(0 <= fired < 1.0 for fired, _ in delays), delays
    assert all(0 <= published < 1.0 for _, published in delays), delays
    kinds = [(key, payload.clock) for key, _, payload in announced()]  # type: ignore[attr-defined]
    for kind in (events.SLA_CLOCK_KIND_FIRST_RESPONSE, events.SLA_CLOCK_KIND_RESOLUTION):
        assert kinds.count(("ticket.sla_warning", kind)) == kinds.count(("ticket.sla_breached", kind)) == 5
    for ticket in created:
        state = sla_api.GetSlaState(
            sla_pb2.GetSlaStateRequest(ticket_id=ticket.ticket_id), metadata=supervisor.metadata, timeout=5
        )
        assert state.agree and state.sla_state == "breached"


def test_the_services_declare_their_timer_kinds() -> None:
    (ticketing,) = load_services(["ticketing"])

    assert "sla_clock" in ticketing.timers
