"""Two routing processes at once against one RabbitMQ and one PostgreSQL: every ticket becomes one task,
every task is assigned exactly once, no worker ever holds more than its capacity, and when the process
that runs the matcher stops, the other takes over and nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import func, select

from services.routing.domain.offers import OfferStatus
from services.routing.domain.queues import DEFAULT_QUEUE
from services.routing.domain.tasks import TaskStatus
from services.routing.domain.workers import Presence, Worker
from services.routing.service import offers, queues, tasks, workers
from services.routing.store.schema import offers as offers_table
from services.routing.store.schema import tasks as tasks_table
from services.routing.store.schema import worker_channels
from switchboard import envelope, errors
from switchboard.composition import Runtime, load_services
from switchboard.db.engine import open_database
from switchboard.runner import Suite
from switchboard.settings import Settings
from tests import support
from tests.unit.builders import sealed, ticket_created

TICKETS = 24
AGENTS = {"anna": 2, "bert": 1, "cora": 2}


def _publish_tickets(url: str, first: int, count: int) -> None:
    for number in range(first, first + count):
        created = ticket_created(
            ticket_id=f"0195a0c4-7d1e-7f00-8000-{number:012d}", number=f"T-{number:06d}", channel=4, priority=3
        )
        support.publish_raw(url, "ticketing.events", "ticket.created", envelope.to_json(sealed(created)))


def _agents_at_work(runtime: Runtime, stop: threading.Event, overruns: list[str]) -> None:
    """Each agent takes whatever it is offered and finishes it a moment later, while we watch capacity."""
    while not stop.is_set():
        with runtime.db.engine.connect() as connection:
            for row in connection.execute(select(worker_channels)):
                if row.used > row.capacity:
                    overruns.append(f"{row.worker_id} holds {row.used} of {row.capacity}")
        for agent in AGENTS:
            with runtime.reader() as uow:
                pending = offers.offers_for(uow, agent)
            for view in pending:
                try:
                    with runtime.uow() as uow:
                        offers.accept_offer(uow, view.offer.offer_id, worker_id=agent, supervisor=False)
                        uow.commit()
                    with runtime.uow() as uow:
                        tasks.complete_task(uow, view.task.task_id, actor=agent, supervisor=False)
                        uow.commit()
                except errors.FailedPrecondition:
                    pass  # expired or withdrawn meanwhile: the task went elsewhere
        stop.wait(0.05)


def test_two_routing_processes_assign_every_task_exactly_once_and_survive_losing_the_matcher(
    pg_url: str, amqp_url: str, settings_factory: Callable[..., Settings], start_suite: Callable[..., Suite]
) -> None:
    settings = settings_factory(database_url=pg_url, broker_url=amqp_url, matcher_lease_seconds=1.5)
    definitions = load_services(["routing"])
    first = start_suite(settings, roles=("consumer", "relay"), definitions=definitions)
    second = start_suite(settings, roles=("consumer", "relay"), definitions=definitions)
    # The agents' and the test's own connection, independent of either routing process.
    runtime = Runtime(settings=settings, db=open_database(settings, "routing"))
    with runtime.uow() as uow:
        # Offers go out at once and agents take the next task without a wrap-up pause: the test is about
        # who gets what, not about waiting.
        queues.put_queue(
            uow,
            replace(DEFAULT_QUEUE, wrap_up_seconds=0, sticky_seconds=0),
            expected_version=0,
            actor="sue",
        )
        uow.commit()
    for agent, web in AGENTS.items():
        with runtime.uow() as uow:
            workers.put_worker(
                uow,
                Worker(
                    worker_id=agent,
                    name=agent.title(),
                    skills={"washing-machines": 3, "plumbing": 3},
                    languages=frozenset({"de"}),
                    capacity={"web": web},
                ),
                expected_version=0,
                actor="sue",
            )
            workers.set_presence(uow, agent, Presence.AVAILABLE, until=None, reason="", actor=agent)
            uow.commit()
    stop, overruns = threading.Event(), list[str]()
    agents = threading.Thread(target=_agents_at_work, args=(runtime, stop, overruns), daemon=True)
    agents.start()
    try:
        _publish_tickets(amqp_url, 1, TICKETS // 2)
        support.wait_for(lambda: _count(runtime, TaskStatus.COMPLETED) >= 3, timeout=30, what="the first tasks done")
        holder = next(s for s in (first, second) if getattr(s.loops["routing-matcher"], "epoch", None) is not None)
        holder.stop()  # the matcher's process goes away mid-stream
        _publish_tickets(amqp_url, TICKETS // 2 + 1, TICKETS - TICKETS // 2)
        support.wait_for(
            lambda: _count(runtime, TaskStatus.COMPLETED) == TICKETS,
            timeout=90,
            interval=0.2,
            what=f"all {TICKETS} tasks completed",
        )
    finally:
        stop.set()
        agents.join(10)

    with runtime.db.engine.connect() as connection:
        per_ticket = connection.execute(
            select(tasks_table.c.ticket_id, func.count()).group_by(tasks_table.c.ticket_id)
        ).all()
        accepted = connection.execute(
            select(offers_table.c.task_id, func.count())
            .where(offers_table.c.status == OfferStatus.ACCEPTED.value)
            .group_by(offers_table.c.task_id)
        ).all()
        used = connection.execute(select(func.sum(worker_channels.c.used))).scalar()
    assert len(per_ticket) == TICKETS and all(n == 1 for _, n in per_ticket)
    assert len(accepted) == TICKETS and all(n == 1 for _, n in accepted)
    assert overruns == []
    assert used == 0
    runtime.db.dispose()


def _count(runtime: Runtime, status: TaskStatus) -> int:
    with runtime.db.engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(tasks_table).where(tasks_table.c.status == status.value)
        ).scalar_one()
