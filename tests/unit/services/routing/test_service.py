"""Routing's use cases on a real SQLite database: a created ticket becomes a queued task."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.routing.domain.tasks import Task, TaskStatus
from services.routing.service import tasks as service
from services.routing.subscriptions import SUBSCRIPTIONS
from switchboard import envelope
from switchboard.bus.handling import Applier
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.db.uow import UnitOfWork
from switchboard.events.v1.routing_events_pb2 import TaskCreated
from switchboard.settings import Settings
from tests.unit.builders import ROUTING_MIGRATIONS, OpenDb, as_event, rows, sealed, ticket_created, uow_factory

LEAK_TICKET = "0195a0c4-7d1e-7f00-8000-000000000001"
DRYER_TICKET = "0195a0c4-7d1e-7f00-8000-000000000002"


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    return open_db("routing", ROUTING_MIGRATIONS)


def _queue(db: Database, **ticket: object) -> None:
    with UnitOfWork(db) as uow:
        service.queue_ticket(uow, as_event(ticket_created(**ticket)))
        uow.commit()


def _list(db: Database, *, after_seq: int = 0, limit: int = 50, ticket_id: str = "") -> list[Task]:
    with UnitOfWork(db) as uow:
        return service.list_tasks(uow, after_seq=after_seq, limit=limit, ticket_id=ticket_id)


def test_a_created_ticket_becomes_one_queued_task(db: Database) -> None:
    _queue(db, ticket_id=LEAK_TICKET)

    (task,) = _list(db)
    assert task.status is TaskStatus.QUEUED
    assert (task.ticket_id, task.customer_id, task.seq) == (LEAK_TICKET, "C-1001", 1)


def test_the_task_asks_for_the_tickets_skills_language_and_priority(db: Database) -> None:
    _queue(db, required_skills=["washing-machines", "plumbing"], language="de", priority=2)

    (task,) = _list(db)
    assert task.required_skills == ("washing-machines", "plumbing")
    assert (task.language, task.priority) == ("de", 2)


def test_a_ticket_without_a_priority_becomes_a_p3_task(db: Database) -> None:
    _queue(db, priority=0)

    assert _list(db)[0].priority == 3


def test_queueing_a_ticket_emits_task_created_for_the_task(db: Database) -> None:
    _queue(db, ticket_id=LEAK_TICKET)

    (task,) = _list(db)
    (row,) = rows(db, outbox)
    event = envelope.decode(row.body, row.content_type)
    assert event.type == "task.created"
    assert event.envelope.customer_id == "C-1001"
    payload = event.payload
    assert isinstance(payload, TaskCreated)
    assert (payload.task_id, payload.ticket_id, payload.customer_id) == (task.task_id, LEAK_TICKET, "C-1001")
    assert list(payload.required_skills) == ["washing-machines", "plumbing"]
    assert (payload.priority, payload.language) == (2, "de")


def test_task_created_is_caused_by_the_ticket_created_event(
    db: Database, settings_factory: Callable[..., Settings]
) -> None:
    created = sealed(ticket_created(), correlation_id="corr-7f3a")
    (subscription,) = [s for s in SUBSCRIPTIONS if s.event_type == "ticket.created"]

    Applier("routing", uow_factory(db), settings_factory()).apply(
        subscription, envelope.to_json(created), envelope.JSON
    )

    (row,) = rows(db, outbox)
    caused = envelope.decode(row.body, row.content_type).envelope
    assert (caused.correlation_id, caused.causation_id) == ("corr-7f3a", created.event_id)


def test_a_redelivered_ticket_created_queues_one_task(db: Database, settings_factory: Callable[..., Settings]) -> None:
    applier = Applier("routing", uow_factory(db), settings_factory())
    (subscription,) = [s for s in SUBSCRIPTIONS if s.event_type == "ticket.created"]
    body = envelope.to_json(sealed(ticket_created()))

    applier.apply(subscription, body, envelope.JSON)
    applier.apply(subscription, body, envelope.JSON)

    assert len(_list(db)) == 1


def test_list_tasks_gives_tasks_in_the_order_they_were_queued(db: Database) -> None:
    for number in ("T-000001", "T-000002", "T-000003"):
        _queue(db, number=number, ticket_id=f"0195a0c4-7d1e-7f00-8000-00000000000{number[-1]}")

    assert [t.seq for t in _list(db)] == [1, 2, 3]


def test_list_tasks_pages_by_seq(db: Database) -> None:
    for n in range(1, 6):
        _queue(db, ticket_id=f"0195a0c4-7d1e-7f00-8000-00000000000{n}")

    first = _list(db, limit=2)
    second = _list(db, after_seq=first[-1].seq, limit=2)
    last = _list(db, after_seq=second[-1].seq, limit=2)

    assert [t.seq for t in first] == [1, 2]
    assert [t.seq for t in second] == [3, 4]
    assert [t.seq for t in last] == [5]


def test_list_tasks_filters_by_ticket(db: Database) -> None:
    _queue(db, ticket_id=LEAK_TICKET)
    _queue(db, ticket_id=DRYER_TICKET)
    _queue(db, ticket_id=LEAK_TICKET)

    assert [(t.seq, t.ticket_id) for t in _list(db, ticket_id=LEAK_TICKET)] == [(1, LEAK_TICKET), (3, LEAK_TICKET)]


def test_list_tasks_filters_by_ticket_and_pages(db: Database) -> None:
    for ticket_id in (LEAK_TICKET, DRYER_TICKET, LEAK_TICKET, DRYER_TICKET, LEAK_TICKET):
        _queue(db, ticket_id=ticket_id)

    assert [t.seq for t in _list(db, ticket_id=LEAK_TICKET, after_seq=1, limit=1)] == [3]


def test_list_tasks_of_a_ticket_without_tasks_is_empty(db: Database) -> None:
    _queue(db, ticket_id=LEAK_TICKET)

    assert _list(db, ticket_id=DRYER_TICKET) == []
