"""Queues: their policies, and the live statistics the matcher publishes."""

from __future__ import annotations

from datetime import datetime

from services.routing.domain.policy import compile_queue
from services.routing.domain.queues import DEFAULT_QUEUE, Queue
from services.routing.domain.stats import QueueStats
from services.routing.store.changes import QUEUES, changed
from services.routing.store.queues import QueueStore
from services.routing.store.stats import StatsStore
from switchboard import errors
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork

# Signalled whenever the matcher publishes new statistics (WatchQueueStats).
STATS_CHANNEL = "routing_stats"


def list_queues(uow: UnitOfWork) -> list[Queue]:
    """Every queue in the order tasks try them; the default queue, which takes what no other does, is
    always there (as stored once a supervisor changed it)."""
    stored = QueueStore(uow.session).all()
    if all(q.queue_id != DEFAULT_QUEUE.queue_id for q in stored):
        stored.append(DEFAULT_QUEUE)
    return sorted(stored, key=lambda q: (q.order, q.queue_id))


def put_queue(uow: UnitOfWork, queue: Queue, *, expected_version: int, actor: str) -> Queue:
    store = QueueStore(uow.session)
    known = {q.queue_id for q in list_queues(uow)} | {queue.queue_id}
    try:
        compile_queue(queue, known)
    except errors.InvalidArgument as invalid:
        raise errors.InvalidArgument(
            [errors.FieldViolation(f"queue.{v.field}", v.description) for v in invalid.violations]
        ) from None
    now = utcnow()
    current = store.get(queue.queue_id)
    if expected_version == 0:
        if current is not None:
            raise errors.AlreadyExists(f"queue {queue.queue_id} already exists: pass the version you read to change it")
        store.add(queue, now)
    elif current is None:
        raise errors.NotFound("queue", queue.queue_id)
    elif not store.replace(queue, expected_version=expected_version, now=now):
        raise errors.Aborted(
            f"queue {queue.queue_id} is at version {current.version}, not {expected_version}: read it again"
        )
    changed(uow, QUEUES)
    saved = store.get(queue.queue_id)
    assert saved is not None
    return saved


def queue_stats(uow: UnitOfWork, queue_id: str = "") -> tuple[list[QueueStats], datetime]:
    """The figures the matcher last published (it refreshes them at least once a second while it runs)."""
    if queue_id and queue_id not in {q.queue_id for q in list_queues(uow)}:
        raise errors.NotFound("queue", queue_id)
    rows = StatsStore(uow.session).get(queue_id)
    as_of = max((at for _, _, at in rows), default=utcnow())
    return [QueueStats(**figures) for _, figures, _ in rows], as_of
