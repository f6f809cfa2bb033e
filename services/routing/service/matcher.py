"""The matcher: the one process that runs the routing engine, and writes down what it decides.

The engine keeps its working state in memory (ARCHITECTURE: stateful engines). Exactly one matcher
holds it at a time: the holder of the ``matcher`` lease, whose epoch every pass checks in the
transaction that commits the pass's decisions, so a matcher that lost its lease (paused too long,
cut off) cannot commit anything after its successor started. A matcher that takes over rebuilds the
engine from the database.

Everything else (the API, event handlers) changes the database directly, with conditional updates
that keep the invariants on their own (one acceptance per task, capacity), and leaves a row in the
change feed that wakes the matcher; the matcher re-reads each changed record and brings the engine in
line. When a decision's write finds the database disagreeing with the engine (a worker went offline
a moment ago, a task was cancelled), the pass rolls back and the engine is rebuilt: rare, and always
safe.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import structlog

from services.routing.domain.engine import Engine, OfferNotOpen
from services.routing.domain.offers import (
    Decision,
    OfferClosed,
    OfferMade,
    OfferStatus,
    TaskAssigned,
    TaskMoved,
    WorkerStateChanged,
)
from services.routing.domain.tasks import TaskStatus
from services.routing.domain.workers import Presence
from services.routing.service import offers as offer_cases
from services.routing.service.queues import STATS_CHANNEL, list_queues
from services.routing.service.workers import record_presence
from services.routing.store import changes
from services.routing.store.leases import LeaseStore
from services.routing.store.offers import DecisionStore, OfferStore
from services.routing.store.stats import StatsStore
from services.routing.store.tasks import TaskStore
from services.routing.store.workers import WorkerStore
from switchboard import signals
from switchboard.composition import Runtime
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.events.v1.routing_events_pb2 import OfferCreated, OfferExpired
from switchboard.ids import new_id
from switchboard.timestamps import timestamp

log = structlog.get_logger("routing.matcher")

LEASE = "matcher"
# Changes applied per pass; more wait for the next pass, which follows at once.
BATCH = 500
# Statistics are published at most this often (seconds), and at least this often while anything waits.
STATS_EVERY = 1.0
# Waiting reasons written per pass, at most.
NOTE_AT_MOST = 1000


class Stale(Exception):
    """The database disagrees with the engine: roll the pass back and rebuild."""


class LeaseLost(Exception):
    """Another matcher holds the lease now."""


class Matcher:
    def __init__(
        self,
        runtime: Runtime,
        *,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.runtime = runtime
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{new_id()[-8:]}"
        self.ttl = timedelta(seconds=runtime.settings.matcher_lease_seconds)
        self.clock = clock
        self.wake = threading.Event()
        self.epoch: int | None = None
        self.engine: Engine | None = None
        self._stats_at: datetime | None = None
        self._stats: dict[str, dict[str, Any]] = {}

    # The loop -----------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        unsubscribe = signals.subscribe(self.runtime.db, changes.MATCHER_CHANNEL, lambda _: self.wake.set())
        log.info("matcher.started", owner=self.owner)
        backoff = 0.5
        try:
            while not stop.is_set():
                self.wake.clear()
                try:
                    busy = self.step()
                    backoff = 0.5
                except Exception as exc:
                    log.warning("matcher.error", owner=self.owner, error=repr(exc))
                    self.engine = None
                    stop.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if not busy:
                    self.wake.wait(self._idle_seconds())
        finally:
            unsubscribe()
            self._let_go()
            log.info("matcher.stopped", owner=self.owner)

    def stop(self) -> None:
        self.wake.set()

    def step(self) -> bool:
        """One pass: hold the lease, bring the engine up to date, decide, commit. True when more work is
        waiting at once (a full batch of changes)."""
        if self.epoch is None and not self._acquire():
            return False
        try:
            if self.engine is None:
                self._rebuild()
                return True
            return self._pass()
        except LeaseLost:
            log.warning("matcher.lease_lost", owner=self.owner, epoch=self.epoch)
            self.epoch, self.engine = None, None
            return False
        except Stale as stale:
            log.info("matcher.rebuild", owner=self.owner, reason=str(stale))
            self.engine = None
            return True

    def _idle_seconds(self) -> float:
        if self.epoch is None:
            return self.ttl.total_seconds() / 3
        now = self.clock()
        moments = [now + self.ttl / 3]
        if self.engine is not None and (due := self.engine.next_due()) is not None:
            moments.append(due)
        if self._stats and any(figures["waiting"] for figures in self._stats.values()):
            moments.append(now + timedelta(seconds=STATS_EVERY))
        return max(0.0, (min(moments) - now).total_seconds())

    # Lease ---------------------------------------------------------------------------------------

    def _acquire(self) -> bool:
        with self.runtime.uow() as uow:
            epoch = LeaseStore(uow.session).acquire(LEASE, self.owner, now=self.clock(), ttl=self.ttl)
            uow.commit()
        if epoch is None:
            return False
        self.epoch, self.engine = epoch, None
        log.info("matcher.lease_acquired", owner=self.owner, epoch=epoch)
        return True

    def _fence(self, uow: UnitOfWork, now: datetime) -> None:
        assert self.epoch is not None
        if not LeaseStore(uow.session).renew(LEASE, self.owner, self.epoch, now=now, ttl=self.ttl):
            raise LeaseLost()

    def _let_go(self) -> None:
        if self.epoch is None:
            return
        try:
            with self.runtime.uow() as uow:
                LeaseStore(uow.session).release(LEASE, self.owner, self.epoch, now=self.clock())
                uow.commit()
        except Exception as exc:
            log.warning("matcher.release_failed", owner=self.owner, error=repr(exc))
        self.epoch, self.engine = None, None

    # Passes --------------------------------------------------------------------------------------

    def _rebuild(self) -> None:
        """Read everything afresh into a new engine. The change feed is emptied first, in the same
        transaction, so a change committed while we read is either seen by the reads or left for the
        next pass."""
        with self.runtime.uow() as uow:
            now = self.clock()
            self._fence(uow, now)
            changes.clear(uow.session)
            engine = Engine(list_queues(uow), ids=new_id)
            workers = [worker for worker, _ in WorkerStore(uow.session).all()]
            tasks = TaskStore(uow.session).open()
            pending = OfferStore(uow.session).pending()
            self.engine = engine
            try:
                # What fell due while no matcher ran, and one matching round for everything waiting.
                decisions = engine.restore(workers, tasks, pending, now)
                self._persist(uow, decisions, now, seen={t.task_id for t in tasks if t.status is TaskStatus.QUEUED})
                self._publish(uow, now, force=True)
                uow.commit()
            except BaseException:
                self.engine = None
                raise
        log.info("matcher.rebuilt", owner=self.owner, workers=len(workers), tasks=len(tasks), offers=len(pending))

    def _pass(self) -> bool:
        engine = self.engine
        assert engine is not None
        with self.runtime.uow() as uow:
            now = self.clock()
            self._fence(uow, now)
            taken = changes.take(uow.session, BATCH)
            try:
                decisions: list[Decision] = []
                for kind, key in dict.fromkeys(taken):
                    decisions += self._apply(uow, kind, key, now)
                decisions += engine.tick(now)
                self._persist(uow, decisions, now, seen={key for kind, key in taken if kind == changes.TASK})
                self._publish(uow, now, force=bool(decisions))
                uow.commit()
            except BaseException:
                # The engine moved on in memory; the database did not: only a rebuild agrees with it again.
                self.engine = None
                raise
        return len(taken) == BATCH

    def _apply(self, uow: UnitOfWork, kind: str, key: str, now: datetime) -> list[Decision]:
        """Bring the engine in line with one changed record."""
        engine = self.engine
        assert engine is not None
        if kind == changes.QUEUES:
            return engine.set_queues(list_queues(uow), now)
        if kind == changes.WORKER:
            found = WorkerStore(uow.session).get(key)
            return engine.put_worker(found[0], now) if found else engine.remove_worker(key, now)
        if kind == changes.OFFER:
            return self._apply_offer(key, uow, now)
        if kind == changes.TASK:
            return self._apply_task(key, uow, now)
        raise ValueError(f"unknown change kind {kind!r}")

    def _apply_offer(self, offer_id: str, uow: UnitOfWork, now: datetime) -> list[Decision]:
        engine = self.engine
        assert engine is not None
        offer = OfferStore(uow.session).get(offer_id)
        if offer is None:
            return []
        try:
            if offer.status is OfferStatus.ACCEPTED:
                return engine.accept(offer_id, offer.worker_id, now)
            if offer.status is OfferStatus.REJECTED:
                return engine.reject(offer_id, offer.worker_id, now)
        except OfferNotOpen:
            pass  # the engine got there by another change already
        return []

    def _apply_task(self, task_id: str, uow: UnitOfWork, now: datetime) -> list[Decision]:
        engine = self.engine
        assert engine is not None
        tasks = TaskStore(uow.session)
        task = tasks.get(task_id)
        if task is None:
            return []
        known = engine.task(task_id)
        if task.status is TaskStatus.CANCELLED:
            return engine.cancel_task(task_id, now) if known and known.status is not TaskStatus.CANCELLED else []
        if task.status is TaskStatus.COMPLETED:
            return engine.complete(task_id, now) if known and known.status is TaskStatus.ASSIGNED else []
        if task.status is TaskStatus.ASSIGNED:
            if known and known.status is not TaskStatus.ASSIGNED:
                accepted = [o for o in OfferStore(uow.session).of_task(task_id) if o.status is OfferStatus.ACCEPTED]
                if accepted:
                    try:
                        return engine.accept(accepted[0].offer_id, accepted[0].worker_id, now)
                    except OfferNotOpen:
                        return []
            return []
        if known is None:
            if not task.last_agent and self.runtime.settings.sticky_days:
                since = now - timedelta(days=self.runtime.settings.sticky_days)
                last_agent = tasks.last_agent(task.customer_id, since=since)
                if last_agent and last_agent not in task.avoid:
                    tasks.set(task_id, last_agent=last_agent)
                    task = tasks.get(task_id)
                    assert task is not None
            return engine.add_task(task, now)
        if task.escalated and not known.escalated:
            return engine.escalate(task_id, task.queue_id, task.priority, now)
        return []

    # Writing decisions ---------------------------------------------------------------------------

    def _persist(self, uow: UnitOfWork, decisions: list[Decision], now: datetime, *, seen: set[str]) -> None:
        """Write the decisions in the order the engine made them: a slot given back comes before the
        offer that takes it again. ``seen``: tasks the pass looked at, whose waiting reason to note."""
        paused = {d.worker_id: d.paused_until for d in decisions if isinstance(d, WorkerStateChanged)}
        touched = set(seen)
        for decision in decisions:
            if isinstance(decision, OfferMade):
                self._offer(uow, decision, now)
                touched.add(decision.task_id)
            elif isinstance(decision, OfferClosed):
                self._close(uow, decision, now, paused.get(decision.offer.worker_id))
                touched.add(decision.offer.task_id)
            elif isinstance(decision, TaskAssigned):
                TaskStore(uow.session).set(decision.task_id, waiting=None)
            elif isinstance(decision, TaskMoved):
                TaskStore(uow.session).set(decision.task_id, queue_id=decision.to_queue)
                touched.add(decision.task_id)
            elif isinstance(decision, WorkerStateChanged):
                self._presence(uow, decision, now)
        self._note_waiting(uow, touched, now)

    def _offer(self, uow: UnitOfWork, made: OfferMade, now: datetime) -> None:
        workers, offers, tasks = WorkerStore(uow.session), OfferStore(uow.session), TaskStore(uow.session)
        for offer in made.offers:
            if not workers.reserve(offer.worker_id, offer.channel, now):
                raise Stale(f"{offer.worker_id} cannot take an offer on {offer.channel} now")
        if not tasks.move(
            made.task_id,
            to=TaskStatus.OFFERED,
            among=(TaskStatus.QUEUED, TaskStatus.OFFERED),
            queue_id=made.reason.queue_id,
            waiting=None,
        ):
            raise Stale(f"task {made.task_id} is no longer waiting")
        DecisionStore(uow.session).add(made, now)
        task = tasks.get(made.task_id)
        assert task is not None
        for offer in made.offers:
            offers.add(offer)
            offer_cases.offers_changed(uow, offer.worker_id)
            uow.emit(
                OfferCreated(
                    offer_id=offer.offer_id,
                    task_id=task.task_id,
                    ticket_id=task.ticket_id,
                    customer_id=task.customer_id,
                    worker_id=offer.worker_id,
                    queue_id=made.reason.queue_id,
                    created_at=timestamp(offer.created_at),
                    expires_at=timestamp(offer.expires_at),
                    decision_id=made.decision_id,
                    rule=made.reason.rule,
                ),
                customer_id=task.customer_id,
            )
        log.info(
            "matcher.offered",
            task_id=made.task_id,
            workers=[o.worker_id for o in made.offers],
            rule=made.reason.rule,
            queue=made.reason.queue_id,
            step=made.reason.step,
        )

    def _close(self, uow: UnitOfWork, closed: OfferClosed, now: datetime, paused_until: datetime | None) -> None:
        offer = closed.offer
        done = offer_cases.close(uow, offer.offer_id, offer.status, at=now, reason=closed.why)
        if done is None:
            return  # the API closed it first, and gave the slot back then
        tasks = TaskStore(uow.session)
        if not OfferStore(uow.session).of_task(offer.task_id, pending_only=True):
            tasks.move(offer.task_id, to=TaskStatus.QUEUED, among=(TaskStatus.OFFERED,))
        if offer.status is OfferStatus.EXPIRED:
            task = tasks.get(offer.task_id)
            assert task is not None
            expired = OfferExpired(
                offer_id=offer.offer_id,
                task_id=task.task_id,
                ticket_id=task.ticket_id,
                customer_id=task.customer_id,
                worker_id=offer.worker_id,
                expired_at=timestamp(now),
            )
            if paused_until is not None:
                expired.paused_until.CopyFrom(timestamp(paused_until))
            uow.emit(expired, customer_id=task.customer_id)

    def _presence(self, uow: UnitOfWork, changed: WorkerStateChanged, now: datetime) -> None:
        workers = WorkerStore(uow.session)
        found = workers.get(changed.worker_id)
        if found is None:
            return
        before = found[0]
        presence = Presence(changed.presence)
        workers.set_presence(
            changed.worker_id,
            presence,
            until=changed.until,
            now=now,
            paused_until=changed.paused_until,
            keep_pause=False,
        )
        record_presence(
            uow, before, presence, until=changed.until, paused_until=changed.paused_until, reason=changed.why, now=now
        )

    def _note_waiting(self, uow: UnitOfWork, task_ids: set[str], now: datetime) -> None:
        """Keep why each task the pass touched still waits, for GetTask."""
        engine = self.engine
        assert engine is not None
        tasks = TaskStore(uow.session)
        # Task ids are time-ordered: after a rebuild with very many waiting, the oldest are noted first
        # and the rest as passes touch them.
        for task_id in sorted(task_ids)[:NOTE_AT_MOST]:
            waiting = engine.waiting(task_id, now)
            if waiting is not None:
                tasks.set(task_id, waiting=asdict(waiting))

    def _publish(self, uow: UnitOfWork, now: datetime, *, force: bool) -> None:
        """Write the live statistics when they changed, at most once a second."""
        engine = self.engine
        assert engine is not None
        if not force and self._stats_at is not None and (now - self._stats_at).total_seconds() < STATS_EVERY:
            return
        figures = {queue_id: asdict(stats) for queue_id, stats in engine.stats(now).items()}
        if figures == self._stats and self._stats_at is not None:
            return
        StatsStore(uow.session).put(figures, now)
        signals.notify_on_commit(uow, STATS_CHANNEL)
        self._stats, self._stats_at = figures, now
