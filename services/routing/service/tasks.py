"""Tasks: where they come from (ticket events, the API), and how they end.

Every change commits with a row in the matcher's change feed (store/changes.py), so the engine, which
the matcher runs, learns about it in its next pass; the database's conditional updates keep the
invariants meanwhile.
"""

from __future__ import annotations

from dataclasses import replace

from services.routing.domain.offers import OfferStatus, Waiting
from services.routing.domain.tasks import Requirement, Task, TaskStatus
from services.routing.service import offers
from services.routing.service.views import DecisionRecord, TaskView
from services.routing.store.changes import TASK, changed
from services.routing.store.offers import DecisionStore, OfferStore
from services.routing.store.tasks import TaskStore
from services.routing.store.workers import WorkerStore
from switchboard import errors
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.enums import channel_name, channel_value, tier_name, tier_value
from switchboard.envelope import Event
from switchboard.events.v1.routing_events_pb2 import TaskCreated, TaskEscalated
from switchboard.events.v1.ticketing_events_pb2 import (
    TicketAssigned,
    TicketClosed,
    TicketCreated,
    TicketReopened,
    TicketResolved,
    TicketSlaBreached,
)
from switchboard.ids import new_id
from switchboard.timestamps import timestamp

_WAITING = (TaskStatus.QUEUED, TaskStatus.OFFERED)


def create_task(uow: UnitOfWork, task: Task, *, origin: str = "api") -> Task:
    """A request to route enters: it waits for the matcher, which offers it as soon as someone fits."""
    task = TaskStore(uow.session).add(replace(task, status=TaskStatus.QUEUED), origin=origin)
    changed(uow, TASK, task.task_id)
    uow.emit(
        TaskCreated(
            task_id=task.task_id,
            ticket_id=task.ticket_id,
            customer_id=task.customer_id,
            priority=task.priority,  # type: ignore[arg-type]
            required_skills=task.required_skills,
            language=task.language,
            created_at=timestamp(task.created_at),
            channel=channel_value(task.channel),
            tier=tier_value(task.tier),
            queue_id=task.queue_id,
            origin=origin,
        ),
        customer_id=task.customer_id,
    )
    return task


def queue_ticket(uow: UnitOfWork, event: Event) -> None:
    """ticket.created: the ticket becomes a task waiting for the right person."""
    ticket = event.payload
    assert isinstance(ticket, TicketCreated)
    create_task(
        uow,
        Task(
            task_id=new_id(),
            ticket_id=ticket.ticket_id,
            customer_id=ticket.customer_id,
            created_at=utcnow(),
            channel=channel_name(ticket.channel) if ticket.channel else "web",
            priority=ticket.priority or 3,
            tier=tier_name(ticket.customer_tier) or "standard",
            requirements=tuple(Requirement(skill) for skill in ticket.required_skills),
            language=ticket.language,
            team=ticket.team,
        ),
        origin="ticket.created",
    )


def requeue_reopened(uow: UnitOfWork, event: Event) -> None:
    """ticket.reopened: the ticket needs someone again, preferably whoever had it."""
    reopened = event.payload
    assert isinstance(reopened, TicketReopened)
    store = TaskStore(uow.session)
    if store.of_ticket(reopened.ticket_id, open_only=True):
        return  # still routed or held: nothing to add
    earlier = store.of_ticket(reopened.ticket_id)
    if not earlier:
        return  # a ticket routing never saw (created before routing ran): nothing to route it by
    last = earlier[-1]
    create_task(
        uow,
        replace(
            last,
            task_id=new_id(),
            created_at=utcnow(),
            status=TaskStatus.QUEUED,
            assignee="",
            last_agent=reopened.assignee or last.assignee,
            queue_id="",
            escalated=False,
            seq=0,
        ),
        origin="ticket.reopened",
    )


def escalate(uow: UnitOfWork, event: Event) -> None:
    """ticket.sla_breached: the ticket's waiting task moves to the escalation queue at its new priority;
    a ticket already held by someone gets a new task there, so a supervisor's queue sees it."""
    breach = event.payload
    assert isinstance(breach, TicketSlaBreached)
    if not breach.escalation_queue:
        return
    store = TaskStore(uow.session)
    waiting = [t for t in store.of_ticket(breach.ticket_id, open_only=True) if t.status in _WAITING]
    if waiting:
        task = waiting[0]
        store.set(
            task.task_id, queue_id=breach.escalation_queue, priority=breach.priority or task.priority, escalated=True
        )
        changed(uow, TASK, task.task_id)
    else:
        earlier = store.of_ticket(breach.ticket_id)
        template = earlier[-1] if earlier else None
        task = create_task(
            uow,
            Task(
                task_id=new_id(),
                ticket_id=breach.ticket_id,
                customer_id=breach.customer_id,
                created_at=utcnow(),
                channel=template.channel if template else "web",
                priority=breach.priority or 1,
                tier=template.tier if template else "standard",
                requirements=tuple(Requirement(skill) for skill in breach.required_skills),
                language=breach.language,
                team=breach.team,
                queue_id=breach.escalation_queue,
                # Whoever holds it breached: the escalation goes to someone else.
                avoid=frozenset({breach.assignee}) if breach.assignee else frozenset(),
                escalated=True,
            ),
            origin="ticket.sla_breached",
        )
    uow.emit(
        TaskEscalated(
            task_id=task.task_id,
            ticket_id=task.ticket_id,
            customer_id=task.customer_id,
            from_queue=task.queue_id if waiting else "",
            to_queue=breach.escalation_queue,
            priority=breach.priority,
            escalated_at=timestamp(utcnow()),
        ),
        customer_id=task.customer_id,
    )


def ticket_assigned(uow: UnitOfWork, event: Event) -> None:
    """ticket.assigned: someone took the ticket in ticketing. If it was not through one of our offers (a
    supervisor assigned it by hand), its waiting task is done: no offer should chase it any more."""
    assigned = event.payload
    assert isinstance(assigned, TicketAssigned)
    store = TaskStore(uow.session)
    now = utcnow()
    if assigned.assignee:
        store.served(assigned.customer_id, assigned.assignee, now)
    for task in store.of_ticket(assigned.ticket_id, open_only=True):
        if task.status in _WAITING and task.assignee != assigned.assignee:
            _end_waiting(uow, task, reason=f"assigned in ticketing to {assigned.assignee or 'nobody'}")


def ticket_finished(uow: UnitOfWork, event: Event) -> None:
    """ticket.resolved or ticket.closed: its held task is complete (the worker's capacity comes back) and
    a task still waiting is withdrawn."""
    finished = event.payload
    assert isinstance(finished, TicketResolved | TicketClosed)
    for task in TaskStore(uow.session).of_ticket(finished.ticket_id, open_only=True):
        if task.status is TaskStatus.ASSIGNED:
            _complete(uow, task)
        else:
            _end_waiting(uow, task, reason=f"ticket {event.type.removeprefix('ticket.')}")


def get_task(uow: UnitOfWork, task_id: str) -> TaskView:
    found = TaskStore(uow.session).detail(task_id)
    if found is None:
        raise errors.NotFound("task", task_id)
    task, stored, assigned_at = found
    waiting = None
    if stored and task.status is TaskStatus.QUEUED:
        waiting = Waiting(
            task_id=task_id,
            queue_id=stored["queue_id"],
            step=stored["step"],
            waited_seconds=(utcnow() - task.created_at).total_seconds(),
            explanation=stored["explanation"],
            next_step_in_seconds=stored.get("next_step_in_seconds"),
        )
    return TaskView(
        task=task,
        offers=OfferStore(uow.session).of_task(task_id),
        decisions=[
            DecisionRecord(decision_id, task_id, decided_at, reason, offered_to)
            for decision_id, decided_at, reason, offered_to in DecisionStore(uow.session).of_task(task_id)
        ],
        waiting=waiting,
        assigned_at=assigned_at,
    )


def list_tasks(
    uow: UnitOfWork, *, after_seq: int, limit: int, ticket_id: str = "", status: TaskStatus | None = None
) -> list[Task]:
    return TaskStore(uow.session).page(
        after_seq=after_seq, limit=limit, ticket_id=ticket_id, status=status.value if status else ""
    )


def cancel_task(uow: UnitOfWork, task_id: str, *, reason: str, actor: str) -> Task:
    """The caller hung up, or the request went away, before anyone took it."""
    store = TaskStore(uow.session)
    task = store.get(task_id, lock=True)
    if task is None:
        raise errors.NotFound("task", task_id)
    if task.status not in _WAITING:
        raise errors.FailedPrecondition(
            f"task {task_id} is {task.status.value}: only a waiting task can be cancelled"
            + ("; complete it instead" if task.status is TaskStatus.ASSIGNED else "")
        )
    _end_waiting(uow, task, reason=reason or f"cancelled by {actor}")
    return _reloaded(store, task_id)


def complete_task(uow: UnitOfWork, task_id: str, *, actor: str, supervisor: bool) -> Task:
    """The work is done: the worker's slot comes back, after the queue's wrap-up time."""
    store = TaskStore(uow.session)
    task = store.get(task_id, lock=True)
    if task is None:
        raise errors.NotFound("task", task_id)
    if task.status is not TaskStatus.ASSIGNED:
        raise errors.FailedPrecondition(f"task {task_id} is {task.status.value}: only an assigned task can complete")
    if task.assignee != actor and not supervisor:
        raise errors.PermissionDenied(f"task {task_id} is {task.assignee}'s; only they or a supervisor complete it")
    _complete(uow, task)
    return _reloaded(store, task_id)


def _reloaded(store: TaskStore, task_id: str) -> Task:
    task = store.get(task_id)
    assert task is not None
    return task


def _complete(uow: UnitOfWork, task: Task) -> None:
    if TaskStore(uow.session).move(
        task.task_id, to=TaskStatus.COMPLETED, among=(TaskStatus.ASSIGNED,), closed_at=utcnow()
    ):
        WorkerStore(uow.session).release(task.assignee, task.channel)
        changed(uow, TASK, task.task_id)


def _end_waiting(uow: UnitOfWork, task: Task, *, reason: str) -> None:
    now = utcnow()
    if not TaskStore(uow.session).move(task.task_id, to=TaskStatus.CANCELLED, among=_WAITING, closed_at=now):
        return
    for offer in OfferStore(uow.session).of_task(task.task_id, pending_only=True):
        offers.close(uow, offer.offer_id, OfferStatus.WITHDRAWN, at=now, reason=reason)
    changed(uow, TASK, task.task_id)
