"""Workers: their profiles, and the presence they set."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.routing.domain.workers import Presence, Worker, WorkerKind
from services.routing.service.views import WorkerView
from services.routing.store.changes import WORKER, changed
from services.routing.store.workers import WorkerStore
from switchboard import errors
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.events.v1.routing_events_pb2 import WorkerStateChanged
from switchboard.timestamps import timestamp


def get_worker(uow: UnitOfWork, worker_id: str) -> WorkerView:
    found = WorkerStore(uow.session).get(worker_id)
    if found is None:
        raise errors.NotFound("worker", worker_id)
    return WorkerView(*found)


def list_workers(
    uow: UnitOfWork,
    *,
    after: str,
    limit: int,
    team: str = "",
    kind: WorkerKind | None = None,
    presence: Presence | None = None,
) -> list[WorkerView]:
    rows = WorkerStore(uow.session).page(
        after=after,
        limit=limit,
        team=team,
        kind=kind.value if kind else "",
        presence=presence.value if presence else "",
    )
    return [WorkerView(worker, load) for worker, load in rows]


def put_worker(uow: UnitOfWork, worker: Worker, *, expected_version: int, actor: str) -> WorkerView:
    """Add a worker (expected_version 0; it starts offline) or replace its profile; presence is SetPresence's."""
    store = WorkerStore(uow.session)
    now = utcnow()
    if expected_version == 0:
        if store.get(worker.worker_id) is not None:
            raise errors.AlreadyExists(
                f"worker {worker.worker_id} already exists: pass the version you read to change it"
            )
        store.add(replace(worker, presence=Presence.OFFLINE, presence_until=None, paused_until=None), now)
    elif not store.replace(worker, expected_version=expected_version, now=now):
        current = store.get(worker.worker_id)
        if current is None:
            raise errors.NotFound("worker", worker.worker_id)
        raise errors.Aborted(
            f"worker {worker.worker_id} is at version {current[0].version}, not {expected_version}: read it again"
        )
    changed(uow, WORKER, worker.worker_id)
    return get_worker(uow, worker.worker_id)


def set_presence(
    uow: UnitOfWork, worker_id: str, presence: Presence, *, until: datetime | None, reason: str, actor: str
) -> WorkerView:
    store = WorkerStore(uow.session)
    found = store.get(worker_id)
    if found is None:
        raise errors.NotFound("worker", worker_id)
    before, _ = found
    now = utcnow()
    if until is not None and until <= now:
        raise errors.InvalidArgument([errors.FieldViolation("until", "must be in the future")])
    # Choosing to be available ends a pause for missed offers: the worker is back and says so.
    store.set_presence(worker_id, presence, until=until, now=now, keep_pause=presence is not Presence.AVAILABLE)
    changed(uow, WORKER, worker_id)
    record_presence(uow, before, presence, until=until, paused_until=None, reason=reason or f"set by {actor}", now=now)
    return get_worker(uow, worker_id)


def record_presence(
    uow: UnitOfWork,
    before: Worker,
    presence: Presence,
    *,
    until: datetime | None,
    paused_until: datetime | None,
    reason: str,
    now: datetime,
) -> None:
    """worker.state_changed, for every move of a worker's presence, whoever made it."""
    event = WorkerStateChanged(
        worker_id=before.worker_id,
        from_presence=before.presence.value,
        to_presence=presence.value,
        reason=reason,
        changed_at=timestamp(now),
    )
    if until is not None:
        event.until.CopyFrom(timestamp(until))
    if paused_until is not None:
        event.paused_until.CopyFrom(timestamp(paused_until))
    uow.emit(event)
