"""Routing's use cases, each inside a unit of work its caller commits."""

from __future__ import annotations

from services.routing.domain.tasks import Task, task_for_ticket
from services.routing.store import TaskStore
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event
from switchboard.events.v1.routing_events_pb2 import TaskCreated
from switchboard.events.v1.ticketing_events_pb2 import TicketCreated
from switchboard.ids import new_id
from switchboard.timestamps import timestamp


def queue_ticket(uow: UnitOfWork, event: Event) -> None:
    """A ticket was opened: it becomes a task waiting for the right person."""
    ticket = event.payload
    assert isinstance(ticket, TicketCreated)
    task = TaskStore(uow.session).add(
        task_for_ticket(
            task_id=new_id(),
            ticket_id=ticket.ticket_id,
            customer_id=ticket.customer_id,
            priority=ticket.priority or 3,
            skills=tuple(ticket.required_skills),
            language=ticket.language,
            now=utcnow(),
        )
    )
    uow.emit(
        TaskCreated(
            task_id=task.task_id,
            ticket_id=task.ticket_id,
            customer_id=task.customer_id,
            priority=task.priority,  # type: ignore[arg-type]
            required_skills=task.required_skills,
            language=task.language,
            created_at=timestamp(task.created_at),
        ),
        customer_id=task.customer_id,
    )


def list_tasks(uow: UnitOfWork, *, after_seq: int, limit: int, ticket_id: str = "") -> list[Task]:
    return TaskStore(uow.session).page(after_seq=after_seq, limit=limit, ticket_id=ticket_id)
