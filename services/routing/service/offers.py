"""Offers: a worker accepts or rejects what it was offered.

Exactly one acceptance wins because acceptance is a conditional update of the offer (pending and not
yet expired) and of its task (still waiting), and the database refuses a second accepted offer for one
task (a partial unique index). The slot an offer holds on the worker's channel becomes the task's
when it is accepted, and comes back when the offer closes any other way.
"""

from __future__ import annotations

from datetime import datetime

from services.routing.domain.offers import Offer, OfferStatus
from services.routing.domain.tasks import Task, TaskStatus
from services.routing.service.views import OfferView
from services.routing.store.changes import OFFER, changed
from services.routing.store.offers import OfferStore
from services.routing.store.tasks import TaskStore
from services.routing.store.workers import WorkerStore
from switchboard import errors, signals
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.events.v1.routing_events_pb2 import OfferAccepted, OfferRejected, TaskAssigned
from switchboard.timestamps import timestamp

# Signalled with the worker id whenever one of a worker's offers appears or changes (WatchOffers).
OFFERS_CHANNEL = "routing_offers"


def offers_changed(uow: UnitOfWork, worker_id: str) -> None:
    signals.notify_on_commit(uow, OFFERS_CHANNEL, worker_id)


def close(uow: UnitOfWork, offer_id: str, status: OfferStatus, *, at: datetime, reason: str = "") -> Offer | None:
    """Close a pending offer other than by acceptance and give its slot back; None if it was not pending."""
    closed = OfferStore(uow.session).close(offer_id, status, at=at, reason=reason)
    if closed is not None:
        WorkerStore(uow.session).release(closed.worker_id, closed.channel)
        offers_changed(uow, closed.worker_id)
    return closed


def _own(uow: UnitOfWork, offer_id: str, worker_id: str, supervisor: bool) -> Offer:
    offer = OfferStore(uow.session).get(offer_id)
    if offer is None or (offer.worker_id != worker_id and not supervisor):
        # Another worker's offer is as invisible as one that does not exist.
        raise errors.NotFound("offer", offer_id)
    return offer


def accept_offer(uow: UnitOfWork, offer_id: str, *, worker_id: str, supervisor: bool) -> tuple[Offer, Task]:
    offer = _own(uow, offer_id, worker_id, supervisor)
    now = utcnow()
    accepted = OfferStore(uow.session).close(offer_id, OfferStatus.ACCEPTED, at=now, unexpired=True)
    if accepted is None:
        current = OfferStore(uow.session).get(offer_id)
        state = current.status.value if current else "gone"
        if current is not None and current.status is OfferStatus.PENDING:
            state = "expired"
        raise errors.FailedPrecondition(f"offer {offer_id} is {state}: it can no longer be accepted")
    tasks = TaskStore(uow.session)
    if not tasks.move(
        offer.task_id,
        to=TaskStatus.ASSIGNED,
        among=(TaskStatus.QUEUED, TaskStatus.OFFERED),
        assignee=offer.worker_id,
        assigned_at=now,
        waiting=None,
    ):
        raise errors.FailedPrecondition(f"the task of offer {offer_id} is no longer waiting")
    for sibling in OfferStore(uow.session).of_task(offer.task_id, pending_only=True):
        close(uow, sibling.offer_id, OfferStatus.WITHDRAWN, at=now, reason=f"accepted by {offer.worker_id}")
    task = tasks.get(offer.task_id)
    assert task is not None
    tasks.served(task.customer_id, offer.worker_id, now)
    found = WorkerStore(uow.session).get(offer.worker_id)
    teams = sorted(found[0].teams) if found else []
    team = task.team if task.team in teams or not teams else teams[0]
    changed(uow, OFFER, offer_id)
    offers_changed(uow, offer.worker_id)
    uow.emit(
        OfferAccepted(
            offer_id=offer_id,
            task_id=task.task_id,
            ticket_id=task.ticket_id,
            customer_id=task.customer_id,
            assignee=offer.worker_id,
            team=team,
            accepted_at=timestamp(now),
        ),
        customer_id=task.customer_id,
    )
    uow.emit(
        TaskAssigned(
            task_id=task.task_id,
            ticket_id=task.ticket_id,
            customer_id=task.customer_id,
            worker_id=offer.worker_id,
            queue_id=task.queue_id,
            created_at=timestamp(task.created_at),
            assigned_at=timestamp(now),
            waited_seconds=(now - task.created_at).total_seconds(),
        ),
        customer_id=task.customer_id,
    )
    return accepted, task


def reject_offer(uow: UnitOfWork, offer_id: str, *, worker_id: str, reason: str, supervisor: bool) -> Offer:
    offer = _own(uow, offer_id, worker_id, supervisor)
    now = utcnow()
    rejected = close(uow, offer_id, OfferStatus.REJECTED, at=now, reason=reason)
    if rejected is None:
        current = OfferStore(uow.session).get(offer_id)
        raise errors.FailedPrecondition(
            f"offer {offer_id} is {current.status.value if current else 'gone'}: only a pending offer can be rejected"
        )
    tasks = TaskStore(uow.session)
    task = tasks.get(offer.task_id, lock=True)
    assert task is not None
    tasks.set(task.task_id, avoid=sorted(task.avoid | {offer.worker_id}))
    if not OfferStore(uow.session).of_task(task.task_id, pending_only=True):
        tasks.move(task.task_id, to=TaskStatus.QUEUED, among=(TaskStatus.OFFERED,))
    changed(uow, OFFER, offer_id)
    uow.emit(
        OfferRejected(
            offer_id=offer_id,
            task_id=task.task_id,
            ticket_id=task.ticket_id,
            customer_id=task.customer_id,
            worker_id=offer.worker_id,
            reason=reason,
            rejected_at=timestamp(now),
        ),
        customer_id=task.customer_id,
    )
    return rejected


def offers_for(uow: UnitOfWork, worker_id: str, *, pending_only: bool = True) -> list[OfferView]:
    tasks = TaskStore(uow.session)
    views = []
    for offer in OfferStore(uow.session).of_worker(worker_id, pending_only=pending_only):
        task = tasks.get(offer.task_id)
        if task is not None:
            views.append(OfferView(offer, task))
    return views
