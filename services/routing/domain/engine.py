"""The routing engine: which worker is offered which task, when, and why.

Pure and deterministic: every call takes ``now``, nothing reads a clock, every tie is broken by an id,
and the same calls give the same decisions (with the same ``ids``). The service persists the decisions
each call returns; the simulator in bench/ drives the same engine in simulated time.

How it decides:

- A task enters the first queue whose filter it matches (queues by ``order``, then id) and waits there
  in service order (ordering: VIP tiers first, then priority aged by waiting, then age).
- Whenever the set of ready workers or the set of waiting tasks grows (a task arrives, an offer is
  rejected or expires, a worker becomes available, wraps up, leaves a pause, starts a shift, a step
  relaxes a task), one matching round runs: each worker that became ready picks the first waiting task
  it qualifies for, the new tasks join them, and the most urgent of all these is routed first, to the
  ready workers the queue's strategy ranks best. So no waiting task is overtaken by a less urgent one
  that the same worker could take, and a worker becoming free reads only the heads of the lanes it may
  serve, not the whole backlog.
- Sticky: a task whose customer's last agent qualifies goes to that agent at once if ready; if the agent
  is working but busy, the task waits for them until it has waited ``sticky_seconds``, and no one else
  takes it meanwhile. VIP: with ``dedicated_target`` the dedicated agents who are ready get the task
  first, on that expression alone; otherwise, or if none is ready, it goes to the qualified as usual
  (ahead of the line all the same).
- Every call first brings the engine up to ``now``: whatever was due (expiries, ends of wrap-up and
  pauses, shift edges, relaxation steps, overflows) happens at its own moment, in order, so the result
  does not depend on how often ``tick`` is called.
- Capacity per channel counts assigned tasks and pending offers; a worker is only offered a task with
  a free slot on its channel, so capacity is never exceeded. Exactly one acceptance wins: the first
  ``accept`` assigns the task and withdraws its other offers; any later one raises OfferNotOpen.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from services.routing.domain import hours, strategies
from services.routing.domain.backlog import Backlog, OldestFirst
from services.routing.domain.expressions import Expression
from services.routing.domain.offers import (
    Candidate,
    Decision,
    Offer,
    OfferClosed,
    OfferMade,
    OfferStatus,
    Reason,
    TaskAssigned,
    TaskMoved,
    Waiting,
    WorkerStateChanged,
)
from services.routing.domain.ordering import OrderKey, Urgency, order_key, urgency
from services.routing.domain.policy import QueuePolicy, compile_queues
from services.routing.domain.qualification import Terms, admits, describe, terms_for
from services.routing.domain.queues import Queue, Strategy
from services.routing.domain.roster import Roster
from services.routing.domain.stats import QueueStats, Tally
from services.routing.domain.tasks import Task, TaskStatus
from services.routing.domain.timetable import Subject, Timetable
from services.routing.domain.workers import Presence, Worker
from switchboard.errors import AlreadyExists, FailedPrecondition, NotFound, PermissionDenied

# How many candidates a reason lists.
REASON_CANDIDATES = 5
# Presences in which a last agent is worth waiting for: they are working and will be free again.
_WORKING = frozenset({Presence.AVAILABLE, Presence.BUSY, Presence.WRAP_UP})
_UNANSWERED = frozenset({TaskStatus.QUEUED, TaskStatus.OFFERED})


@dataclass
class _Round:
    """One call's work in progress: the decisions so far, and the tasks and workers whose chances changed
    since the last matching round (a task back in line, a worker with a slot free again)."""

    out: list[Decision] = field(default_factory=list)
    tasks: set[str] = field(default_factory=set)
    workers: set[str] = field(default_factory=set)


class OfferNotOpen(FailedPrecondition):
    """The offer is no longer pending: accepted by someone, rejected, expired or withdrawn."""

    def __init__(self, offer_id: str, status: OfferStatus) -> None:
        self.offer_id, self.status = offer_id, status
        super().__init__(f"offer {offer_id!r} is {status}, not pending")


class Engine:
    def __init__(self, queues: Iterable[Queue] = (), *, ids: Callable[[], str]) -> None:
        self._ids = ids
        self._policies: dict[str, QueuePolicy] = {}
        self._queue_order: list[QueuePolicy] = []
        self._backlogs: dict[str, Backlog] = {}
        # The workers each target or dedicated target admits, for the expressions that read no task field:
        # kept up to date as workers change, so routing a task intersects sets instead of evaluating the
        # expression for every ready worker.
        self._members: dict[Expression, set[str]] = {}
        self._reset()
        self._install(compile_queues(queues))

    def _reset(self) -> None:
        self._roster = Roster()
        # Open tasks only (queued, offered, assigned); a completed or cancelled task is forgotten.
        self._tasks: dict[str, Task] = {}
        self._steps: dict[str, int] = {}
        self._unanswered: dict[str, OldestFirst] = {}
        # Offers of open tasks, in every status, so a late accept is told why it lost.
        self._offers: dict[str, Offer] = {}
        self._offers_of_task: dict[str, list[str]] = {}
        self._pending_of_worker: dict[str, set[str]] = {}
        self._assigned_to: dict[str, set[str]] = {}
        # Queued tasks whose customer's last agent is this worker, while within their sticky window.
        self._sticky: dict[str, set[str]] = {}
        self._cursors: dict[str, str] = {}
        self._tallies: dict[str, Tally] = {}
        self._timetable = Timetable()

    # ---- configuration -------------------------------------------------------------------------------

    def set_queues(self, queues: Iterable[Queue], now: datetime) -> list[Decision]:
        """Replace the queues (raises InvalidArgument naming the field before changing anything).

        Waiting tasks are filed again under the new policies; a task whose queue is gone, or that no
        longer passes its queue's filter, goes to the queue it would enter now (TaskMoved).
        """
        policies = compile_queues(queues)
        round_ = self._advance(now)
        out = round_.out
        waiting = sorted((task for task in self._tasks.values() if task.status is TaskStatus.QUEUED), key=_by_id)
        for task in waiting:
            self._unfile(task.task_id)
        self._install(policies)
        self._unanswered = {}
        for task_id, task in sorted(self._tasks.items()):
            if task.queue_id not in self._policies:
                task = replace(task, queue_id=self._choose_queue(replace(task, queue_id="")).queue_id)
                self._tasks[task_id] = task
            if task.status is TaskStatus.OFFERED:
                self._unanswered_of(task.queue_id).add(task_id, task.created_at)
        for task in waiting:
            current = self._tasks[task.task_id]
            policy = self._policies[current.queue_id]
            if policy.filter is not None and not policy.filter(current):
                current = replace(current, queue_id=self._choose_queue(replace(current, queue_id="")).queue_id)
            if current.queue_id != task.queue_id:
                out.append(TaskMoved(task.task_id, task.queue_id, current.queue_id, step=-1))
                current = replace(current, queued_at=now)
            self._tasks[task.task_id] = current
            self._file(current, now, out)
        # Every worker picks: a waiting task that no ready worker picks is one nobody ready may take.
        round_.workers |= set(self._roster_ids())
        return self._match(now, round_)

    # ---- workers -------------------------------------------------------------------------------------

    def put_worker(self, worker: Worker, now: datetime) -> list[Decision]:
        """Add or replace a worker (profile and presence). Offers pending with a worker who is no longer
        available, or beyond a reduced capacity, are withdrawn and their tasks routed again."""
        if worker.hours is not None:
            hours.zone(worker.hours.time_zone)
        round_ = self._advance(now)
        old = self._roster.get(worker.worker_id)
        became_available = worker.presence is Presence.AVAILABLE and (
            old is None or old.presence is not Presence.AVAILABLE
        )
        if became_available:
            idle_since = now
        elif old is not None and old.idle_since is not None:
            idle_since = old.idle_since
        else:
            idle_since = worker.idle_since or now
        self._roster.put(replace(worker, idle_since=idle_since), now)
        self._enroll(worker)
        # Newest first: the offers a worker can no longer hold, being unavailable or with less capacity.
        for offer_id in sorted(self._pending_of_worker.get(worker.worker_id, ()), reverse=True):
            offer = self._offers[offer_id]
            if worker.presence is not Presence.AVAILABLE:
                self._close(offer, OfferStatus.WITHDRAWN, "worker unavailable", now, round_)
            elif self._roster.held(worker.worker_id, offer.channel) > worker.capacity.get(offer.channel, 0):
                self._close(offer, OfferStatus.WITHDRAWN, "capacity reduced", now, round_)
        self._schedule_worker(worker.worker_id)
        round_.workers.add(worker.worker_id)
        return self._match(now, round_)

    def remove_worker(self, worker_id: str, now: datetime) -> list[Decision]:
        """Forget a worker: pending offers are withdrawn; tasks assigned to them stay assigned."""
        if worker_id not in self._roster:
            raise NotFound("worker", worker_id)
        round_ = self._advance(now)
        for offer_id in sorted(self._pending_of_worker.get(worker_id, ())):
            self._close(self._offers[offer_id], OfferStatus.WITHDRAWN, "worker removed", now, round_)
        round_.tasks |= self._sticky.pop(worker_id, set())
        round_.workers.discard(worker_id)
        self._roster.remove(worker_id)
        for members in self._members.values():
            members.discard(worker_id)
        self._pending_of_worker.pop(worker_id, None)
        self._timetable.set(Subject.WORKER, worker_id, None)
        return self._match(now, round_)

    # ---- tasks ---------------------------------------------------------------------------------------

    def add_task(self, task: Task, now: datetime) -> list[Decision]:
        """A new task: it enters its queue (the one named, if known, else the first whose filter it
        matches) and is offered at once if a qualified worker is ready."""
        if task.task_id in self._tasks:
            raise AlreadyExists(f"task {task.task_id!r} is already being routed")
        round_ = self._advance(now)
        queue_id = task.queue_id if task.queue_id in self._policies else self._choose_queue(task).queue_id
        task = replace(
            task,
            queue_id=queue_id,
            status=TaskStatus.QUEUED,
            assignee="",
            queued_at=task.queued_at or task.created_at,
        )
        self._tasks[task.task_id] = task
        self._offers_of_task[task.task_id] = []
        self._file(task, now, round_.out)
        round_.tasks.add(task.task_id)
        return self._match(now, round_)

    def escalate(self, task_id: str, queue_id: str, priority: int, now: datetime) -> list[Decision]:
        """An SLA breach: the task goes to ``queue_id`` (kept where it is when that queue is unknown) at
        ``priority``, and its steps count afresh from now. A task on offer keeps its offers; it is
        escalated in place and goes to its new queue if it comes back in line."""
        task = self._open_task(task_id)
        round_ = self._advance(now)
        task = self._tasks[task_id]
        target = queue_id if queue_id in self._policies else task.queue_id
        escalated = replace(task, queue_id=target, priority=priority, escalated=True, queued_at=now)
        if task.status is TaskStatus.QUEUED:
            self._unfile(task_id)
            self._unanswered_of(task.queue_id).discard(task_id)
            if target != task.queue_id:
                round_.out.append(TaskMoved(task_id, task.queue_id, target, step=-1))
            self._tasks[task_id] = escalated
            self._file(escalated, now, round_.out)
            round_.tasks.add(task_id)
        elif task.status is TaskStatus.OFFERED:
            self._unanswered_of(task.queue_id).discard(task_id)
            self._tasks[task_id] = escalated
            self._unanswered_of(target).add(task_id, task.created_at)
        return self._match(now, round_)

    def cancel_task(self, task_id: str, now: datetime) -> list[Decision]:
        """The task is no longer wanted: its pending offers are withdrawn, its worker's slot is freed."""
        task = self._open_task(task_id)
        round_ = self._advance(now)
        task = self._tasks[task_id]
        if task.status in _UNANSWERED:
            self._tally(task.queue_id).abandon()
        if task.status is TaskStatus.QUEUED:
            self._unfile(task_id)
        # Cancelled first, so that closing its last offer does not put it back in line.
        self._tasks[task_id] = replace(task, status=TaskStatus.CANCELLED)
        for offer_id in sorted(self._offers_of_task[task_id]):
            offer = self._offers[offer_id]
            if offer.status is OfferStatus.PENDING:
                self._close(offer, OfferStatus.WITHDRAWN, "task cancelled", now, round_)
        if task.status is TaskStatus.ASSIGNED:
            self._release(task, now)
            round_.workers.add(task.assignee)
        self._forget(task_id)
        return self._match(now, round_)

    # ---- offers --------------------------------------------------------------------------------------

    def accept(self, offer_id: str, worker_id: str, now: datetime) -> list[Decision]:
        """The worker takes the task: TaskAssigned, and the task's other offers are withdrawn.

        Raises OfferNotOpen when the offer is not pending (someone else won, or it was rejected, expired
        or withdrawn), or has expired by ``now``."""
        offer = self._open_offer(offer_id, worker_id, now)
        round_ = self._advance(now)
        task = self._tasks[offer.task_id]
        self._offers[offer_id] = replace(offer, status=OfferStatus.ACCEPTED)
        self._pending_of_worker[worker_id].discard(offer_id)
        self._timetable.set(Subject.OFFER, offer_id, None)
        # The slot the offer held becomes the assignment's: capacity is unchanged.
        task = replace(task, status=TaskStatus.ASSIGNED, assignee=worker_id)
        self._tasks[task.task_id] = task
        self._assigned_to.setdefault(worker_id, set()).add(task.task_id)
        self._unanswered_of(task.queue_id).discard(task.task_id)
        self._tally(task.queue_id).answer(
            (now - task.created_at).total_seconds(), self._policies[task.queue_id].queue.service_level_seconds
        )
        self._roster.mark_idle_since(worker_id, now)
        round_.out.append(TaskAssigned(task.task_id, worker_id, offer_id, now))
        for sibling_id in sorted(self._offers_of_task[task.task_id]):
            sibling = self._offers[sibling_id]
            if sibling.status is OfferStatus.PENDING:
                self._close(sibling, OfferStatus.WITHDRAWN, f"accepted by {worker_id}", now, round_)
        return self._match(now, round_)

    def reject(self, offer_id: str, worker_id: str, now: datetime) -> list[Decision]:
        """The worker declines: they are added to the task's avoid list and the task is routed again."""
        offer = self._open_offer(offer_id, worker_id, now)
        round_ = self._advance(now)
        task = self._tasks[offer.task_id]
        self._tasks[task.task_id] = replace(task, avoid=task.avoid | {worker_id})
        self._close(offer, OfferStatus.REJECTED, "rejected", now, round_)
        return self._match(now, round_)

    def expire(self, offer_id: str, now: datetime) -> list[Decision]:
        """The offer timed out: the worker is paused for the queue's missed-offer pause and the task is
        routed again. (Bringing the engine up to ``now`` expires due offers by itself; calling this for
        one it already expired returns that expiry.)"""
        offer = self._offers.get(offer_id)
        if offer is None:
            raise NotFound("offer", offer_id)
        if offer.status is not OfferStatus.PENDING:
            raise OfferNotOpen(offer_id, offer.status)
        round_ = self._advance(now)
        if self._offers[offer_id].status is OfferStatus.PENDING:
            self._expire_offer(offer, now, round_)
        return self._match(now, round_)

    def complete(self, task_id: str, now: datetime) -> list[Decision]:
        """The worker finished the task: its slot is freed and the worker wraps up for the queue's
        wrap-up time (then is available again by itself)."""
        task = self._open_task(task_id)
        if task.status is not TaskStatus.ASSIGNED:
            raise FailedPrecondition(f"task {task_id!r} is {task.status}, not assigned")
        round_ = self._advance(now)
        task = self._tasks[task_id]
        self._release(task, now)
        self._forget(task_id)
        worker = self._roster.get(task.assignee)
        if worker is not None:
            self._roster.mark_idle_since(worker.worker_id, now)
            wrap_up = self._policies[task.queue_id].queue.wrap_up_seconds
            if wrap_up and worker.presence in (Presence.AVAILABLE, Presence.WRAP_UP):
                until = now + timedelta(seconds=wrap_up)
                if worker.presence is Presence.WRAP_UP and worker.presence_until is not None:
                    until = max(until, worker.presence_until)
                self._roster.update(
                    replace(self._roster[worker.worker_id], presence=Presence.WRAP_UP, presence_until=until), now
                )
                round_.out.append(
                    WorkerStateChanged(worker.worker_id, Presence.WRAP_UP, until, "wrap-up", worker.paused_until)
                )
                self._schedule_worker(worker.worker_id)
            round_.workers.add(worker.worker_id)
        return self._match(now, round_)

    # ---- time ----------------------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Decision]:
        """Time passed: expiries, ends of wrap-up and pauses, shift edges, relaxation steps and overflows
        that fell due, each at its own moment."""
        return self._advance(now).out

    def next_due(self) -> datetime | None:
        """The next moment at which tick() would change something."""
        return self._timetable.next()

    # ---- reads ---------------------------------------------------------------------------------------

    def task(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def worker(self, worker_id: str) -> Worker | None:
        return self._roster.get(worker_id)

    def offers_of(self, worker_id: str) -> list[Offer]:
        """The worker's pending offers, oldest first."""
        pending = (self._offers[offer_id] for offer_id in self._pending_of_worker.get(worker_id, ()))
        return sorted(pending, key=lambda offer: (offer.created_at, offer.offer_id))

    def round_robin_cursors(self) -> dict[str, str]:
        """Where each round-robin queue's rotation stands; persist it for restore()."""
        return dict(sorted(self._cursors.items()))

    def waiting(self, task_id: str, now: datetime) -> Waiting | None:
        """Why a task is still waiting; None when it is not (assigned, closed or unknown). ``blocked_by``
        names the last agent it waits for, or else the first tasks ahead of it for the same workers."""
        task = self._tasks.get(task_id)
        if task is None or task.status not in _UNANSWERED:
            return None
        policy = self._policies[task.queue_id]
        waited = (now - task.created_at).total_seconds()
        if task.status is TaskStatus.OFFERED:
            assert task.queued_at is not None
            step = policy.step_at((now - task.queued_at).total_seconds())
            pending = [self._offers[o] for o in self._offers_of_task[task_id]]
            pending = [offer for offer in pending if offer.status is OfferStatus.PENDING]
            expires = min(offer.expires_at for offer in pending)
            names = ", ".join(sorted(offer.worker_id for offer in pending))
            explanation = f"offered to {names}; the offer expires in {max((expires - now).total_seconds(), 0):.0f} s"
            return Waiting(task_id, task.queue_id, step, waited, explanation)
        return self._explain(task, policy, self._steps[task_id], waited, now)

    def stats(self, now: datetime) -> dict[str, QueueStats]:
        """Per queue: waiting, longest wait, answered, speed of answer, service level, abandoned, the
        queue's agents by state and their occupancy. A queue's agents are the workers its target admits
        when the target reads only the worker; every worker otherwise."""
        result = {}
        for policy in self._queue_order:
            queue_id = policy.queue_id
            unanswered = self._unanswered_of(queue_id)
            oldest = unanswered.oldest()
            agents: dict[str, int] = {}
            used = capacity = 0
            target = policy.relaxation(-1).target
            members = self._members.get(target) if target is not None else None
            for worker in self._roster:
                if members is not None and worker.worker_id not in members:
                    continue
                state = str(worker.presence)
                assigned = len(self._assigned_to.get(worker.worker_id, ()))
                if worker.presence is Presence.AVAILABLE and assigned:
                    state = str(Presence.BUSY)
                agents[state] = agents.get(state, 0) + 1
                if worker.presence in _WORKING:
                    used += assigned
                    capacity += sum(worker.capacity.values())
            result[queue_id] = self._tally(queue_id).stats(
                queue_id,
                waiting=len(unanswered),
                longest_wait_seconds=(now - oldest).total_seconds() if oldest else 0.0,
                agents=agents,
                used=used,
                capacity=capacity,
            )
        return result

    # ---- restore -------------------------------------------------------------------------------------

    def restore(
        self,
        workers: Iterable[Worker],
        tasks: Iterable[Task],
        offers: Iterable[Offer],
        now: datetime,
        *,
        cursors: Mapping[str, str] | None = None,
    ) -> list[Decision]:
        """Rebuild from persisted state, as a replica taking over: workers (as ``worker()`` answered,
        idle time included), open tasks (queued, offered, assigned, as ``task()`` answered), the pending
        offers with the slots they hold, and the round-robin cursors. Counts for stats start from zero.

        Returns what fell due while no replica ran, decided as usual: expiries, ends of pauses and wrap-up
        and overflows at their own moments, then one matching round at ``now`` for everything waiting
        (a relaxation step that came into force in the gap counts from ``now``). From a snapshot as fresh
        as ``now`` that is nothing, and the replica continues exactly as the engine it replaces.
        """
        self._reset()
        self._install(self._policies)
        for worker in sorted(workers, key=lambda w: w.worker_id):
            self._roster.put(worker if worker.idle_since else replace(worker, idle_since=now), now)
            self._enroll(worker)
            self._pending_of_worker[worker.worker_id] = set()
        pending_by_task: dict[str, list[Offer]] = {}
        for offer in offers:
            if offer.status is OfferStatus.PENDING:
                pending_by_task.setdefault(offer.task_id, []).append(offer)
        for task in sorted(tasks, key=_by_id):
            if task.status not in (TaskStatus.QUEUED, TaskStatus.OFFERED, TaskStatus.ASSIGNED):
                continue
            if task.queue_id not in self._policies:
                task = replace(task, queue_id=self._choose_queue(task).queue_id)
            if task.queued_at is None:
                task = replace(task, queued_at=task.created_at)
            held = [o for o in pending_by_task.get(task.task_id, []) if o.worker_id in self._roster]
            if task.status is TaskStatus.OFFERED and not held:
                task = replace(task, status=TaskStatus.QUEUED)
            self._tasks[task.task_id] = task
            self._offers_of_task[task.task_id] = []
            if task.status in _UNANSWERED:
                self._unanswered_of(task.queue_id).add(task.task_id, task.created_at)
            if task.status is TaskStatus.ASSIGNED:
                self._assigned_to.setdefault(task.assignee, set()).add(task.task_id)
                self._roster.hold(task.assignee, task.channel, 1, now)
            elif task.status is TaskStatus.OFFERED:
                for offer in sorted(held, key=lambda o: o.offer_id):
                    self._offers[offer.offer_id] = offer
                    self._offers_of_task[task.task_id].append(offer.offer_id)
                    self._pending_of_worker[offer.worker_id].add(offer.offer_id)
                    self._roster.hold(offer.worker_id, offer.channel, 1, now)
                    self._timetable.set(Subject.OFFER, offer.offer_id, offer.expires_at)
            else:
                self._file(task, now, [], restoring=True)
        for worker_id in self._roster_ids():
            self._schedule_worker(worker_id)
        self._cursors = dict(cursors or {})
        round_ = self._advance(now)
        # Every worker picks: a waiting task that no ready worker picks is one nobody ready may take.
        round_.workers |= set(self._roster_ids())
        return self._match(now, round_)

    # ---- internals: queues and filing ----------------------------------------------------------------

    def _install(self, policies: dict[str, QueuePolicy]) -> None:
        self._policies = policies
        self._queue_order = sorted(policies.values(), key=lambda p: (p.queue.order, p.queue_id))
        self._backlogs = {queue_id: Backlog() for queue_id in policies}
        for queue_id in policies:
            self._unanswered.setdefault(queue_id, OldestFirst())
        expressions = [
            expression
            for policy in self._queue_order
            for expression in (policy.dedicated, *(relaxed.target for relaxed in policy.relaxations))
            if expression is not None and not expression.task_fields
        ]
        self._members = {expression: set() for expression in expressions}
        for worker in self._roster:
            self._enroll(worker)

    def _enroll(self, worker: Worker) -> None:
        for expression, members in self._members.items():
            if expression(None, worker):
                members.add(worker.worker_id)
            else:
                members.discard(worker.worker_id)

    def _choose_queue(self, task: Task) -> QueuePolicy:
        for policy in self._queue_order:
            if policy.filter is None or policy.filter(task):
                return policy
        # compile_queues always adds the default queue, and its filter is empty.
        return self._queue_order[-1]

    def _file(self, task: Task, now: datetime, out: list[Decision], *, restoring: bool = False) -> None:
        """Put a queued task in its queue's backlog at the step in force, overflowing as steps say."""
        visited = {task.queue_id}
        policy = self._policies[task.queue_id]
        assert task.queued_at is not None
        step = policy.step_at((now - task.queued_at).total_seconds())
        overflow_due: datetime | None = None
        while policy.relaxation(step).overflow_to:
            target = policy.relaxation(step).overflow_to
            moved_at = task.queued_at + timedelta(seconds=policy.queue.steps[step].after_seconds)
            if restoring:
                # Not performed here but by a timer at its own moment, which restore() runs at once.
                overflow_due = moved_at
                while step >= 0 and policy.relaxation(step).overflow_to:
                    step -= 1
                break
            # A loop of overflows (a -> b -> a) stops where it would come back; the task stays at this step.
            if target in visited:
                break
            out.append(TaskMoved(task.task_id, task.queue_id, target, step))
            self._unanswered_of(task.queue_id).discard(task.task_id)
            visited.add(target)
            task = replace(task, queue_id=target, queued_at=moved_at)
            self._tasks[task.task_id] = task
            policy = self._policies[target]
            step = policy.step_at((now - moved_at).total_seconds())
        self._steps[task.task_id] = step
        self._unanswered_of(task.queue_id).add(task.task_id, task.created_at)
        self._backlogs[task.queue_id].add(task.task_id, terms_for(task, policy, step), order_key(task, policy))
        if task.last_agent and self._sticky_until(task, policy) > now:
            self._sticky.setdefault(task.last_agent, set()).add(task.task_id)
        if overflow_due is not None:
            self._timetable.set(Subject.TASK, task.task_id, overflow_due)
        else:
            self._schedule_task(task, policy, step, now)

    def _unfile(self, task_id: str) -> None:
        task = self._tasks[task_id]
        backlog = self._backlogs[task.queue_id]
        if task_id in backlog:
            backlog.remove(task_id)
        self._timetable.set(Subject.TASK, task_id, None)
        self._steps.pop(task_id, None)
        if task.last_agent:
            held = self._sticky.get(task.last_agent)
            if held is not None:
                held.discard(task_id)
                if not held:
                    del self._sticky[task.last_agent]

    def _schedule_task(self, task: Task, policy: QueuePolicy, step: int, now: datetime) -> None:
        moments = []
        assert task.queued_at is not None
        next_step = policy.next_step_seconds(step)
        if next_step is not None:
            moments.append(task.queued_at + timedelta(seconds=next_step))
        sticky_end = self._sticky_until(task, policy)
        if task.last_agent and sticky_end > now:
            moments.append(sticky_end)
        self._timetable.set(Subject.TASK, task.task_id, min(moments, default=None))

    def _schedule_worker(self, worker_id: str) -> None:
        self._timetable.set(Subject.WORKER, worker_id, self._roster.next_change(worker_id))

    @staticmethod
    def _sticky_until(task: Task, policy: QueuePolicy) -> datetime:
        return task.created_at + timedelta(seconds=policy.queue.sticky_seconds)

    # ---- internals: time -----------------------------------------------------------------------------

    def _advance(self, now: datetime) -> _Round:
        """Everything due up to ``now``, moment by moment, each moment with its own matching round."""
        round_ = _Round()
        while (due := self._timetable.pop_due(now)) is not None:
            when, entries = due
            for subject, key in entries:
                if subject is Subject.OFFER:
                    offer = self._offers.get(key)
                    if offer is not None and offer.status is OfferStatus.PENDING:
                        self._expire_offer(offer, when, round_)
                elif subject is Subject.WORKER:
                    self._worker_due(key, when, round_)
                else:
                    self._task_due(key, when, round_)
            self._match(when, round_)
        return round_

    def _worker_due(self, worker_id: str, when: datetime, round_: _Round) -> None:
        worker = self._roster.get(worker_id)
        if worker is None:
            return
        if worker.presence is Presence.WRAP_UP and worker.presence_until is not None and worker.presence_until <= when:
            worker = replace(worker, presence=Presence.AVAILABLE, presence_until=None, idle_since=when)
            self._roster.update(worker, when)
            round_.out.append(
                WorkerStateChanged(worker_id, Presence.AVAILABLE, None, "wrap-up over", worker.paused_until)
            )
        if worker.paused_until is not None and worker.paused_until <= when:
            worker = replace(worker, paused_until=None)
            self._roster.update(worker, when)
            round_.out.append(WorkerStateChanged(worker_id, worker.presence, worker.presence_until, "pause over", None))
        self._roster.shift_passed(worker_id, when)
        self._schedule_worker(worker_id)
        round_.workers.add(worker_id)

    def _task_due(self, task_id: str, when: datetime, round_: _Round) -> None:
        task = self._tasks.get(task_id)
        if task is None or task.status is not TaskStatus.QUEUED:
            return
        self._unfile(task_id)
        self._file(task, when, round_.out)
        round_.tasks.add(task_id)

    # ---- internals: matching -------------------------------------------------------------------------

    def _match(self, now: datetime, round_: _Round) -> list[Decision]:
        """One matching round at ``now``: route the most urgent of the new tasks and of the tasks the
        newly ready workers would pick, again and again, until none is left that someone ready can take.

        Routing the most urgent first, each to the best-ranked ready workers, is what keeps the promise
        that no task is overtaken by a less urgent one the same worker could take. Candidates wait in a
        heap (their urgency is fixed within the round); when a task is routed, only the workers who had
        picked it pick again: any other pick is still waiting and still that worker's best.
        """
        workers = sorted(worker_id for worker_id in round_.workers if worker_id in self._roster)
        tasks = set(round_.tasks)
        for worker_id in workers:
            tasks |= self._sticky.get(worker_id, set())
        round_.tasks.clear()
        round_.workers.clear()
        line = [(self._urgency(task_id, now), task_id) for task_id in tasks if self._is_queued(task_id)]
        heapq.heapify(line)
        pickers: dict[str, list[str]] = {}

        def pick(worker_id: str) -> None:
            task_id = self._pick(worker_id, now)
            if task_id is not None and task_id not in routed:
                pickers.setdefault(task_id, []).append(worker_id)
                heapq.heappush(line, (self._urgency(task_id, now), task_id))

        routed: set[str] = set()
        for worker_id in workers:
            pick(worker_id)
        while line:
            _, task_id = heapq.heappop(line)
            if task_id in routed or not self._is_queued(task_id):
                continue
            routed.add(task_id)
            self._route(task_id, now, round_.out)
            for worker_id in pickers.pop(task_id, []):
                pick(worker_id)
        return round_.out

    def _urgency(self, task_id: str, now: datetime) -> Urgency:
        task = self._tasks[task_id]
        return urgency(task, self._policies[task.queue_id], now)

    def _is_queued(self, task_id: str) -> bool:
        task = self._tasks.get(task_id)
        return task is not None and task.status is TaskStatus.QUEUED

    def _pick(self, worker_id: str, now: datetime) -> str | None:
        """The most urgent waiting task this worker may take now.

        Per queue, lanes are read in the order of their first task and the read stops at the first lane
        whose head cannot beat the best found; only the winners of different queues (which age at
        different rates) are compared by urgency at ``now``.
        """
        channels = self._roster.ready_channels(worker_id)
        if not channels:
            return None
        worker = self._roster[worker_id]
        skills = worker.skills.keys()
        best: tuple[Urgency, str] | None = None
        for policy in self._queue_order:
            backlog = self._backlogs[policy.queue_id]
            if not backlog:
                continue
            found: OrderKey | None = None
            for head, lane in backlog.lanes():
                if found is not None and head >= found:
                    break
                terms = lane.terms
                if terms.channel not in channels:
                    continue
                if terms.dedicated is None and not terms.skills <= skills:
                    continue
                if not admits(terms, self._tasks[head[3]], worker):
                    continue
                for key in lane.keys:
                    if found is not None and key >= found:
                        break
                    if self._may_take(worker_id, self._tasks[key[3]], terms, now):
                        found = key
                        break
            if found is not None:
                rank = urgency(self._tasks[found[3]], policy, now)
                if best is None or rank < best[0]:
                    best = (rank, found[3])
        return best[1] if best else None

    def _may_take(self, worker_id: str, task: Task, terms: Terms, now: datetime) -> bool:
        """Beyond qualifying for its lane: not avoided, and the task is not held for another last agent."""
        if worker_id in task.avoid:
            return False
        held = self._held_for(task, terms, now)
        return held is None or held == worker_id

    def _held_for(self, task: Task, terms: Terms, now: datetime) -> str | None:
        """The last agent this task waits for, if it does: within its sticky window, and that agent is
        working, qualifies and has room on the channel in principle."""
        if not task.last_agent or task.last_agent in task.avoid:
            return None
        policy = self._policies[task.queue_id]
        if now >= self._sticky_until(task, policy):
            return None
        agent = self._roster.get(task.last_agent)
        if agent is None or agent.presence not in _WORKING or not self._roster.on_shift(agent.worker_id):
            return None
        if not agent.capacity.get(task.channel, 0) or not admits(terms, task, agent):
            return None
        return agent.worker_id

    def _route(self, task_id: str, now: datetime, out: list[Decision]) -> None:
        """Offer a queued task to the best ready workers, if any; otherwise it keeps waiting."""
        task = self._tasks[task_id]
        policy = self._policies[task.queue_id]
        queue = policy.queue
        step = self._steps[task_id]
        terms = self._backlogs[task.queue_id].lane_of(task_id).terms
        held = self._held_for(task, terms, now)
        if held is not None:
            if not self._roster.is_ready(held, task.channel):
                return
            waited = (now - task.created_at).total_seconds()
            reason = Reason(
                queue.queue_id,
                step,
                "sticky",
                (Candidate(held, 1.0, "last agent of this customer"),),
                1,
                f"back to {held}, who last served this customer (waited {waited:.0f} s of the "
                f"{queue.sticky_seconds} s sticky window)",
            )
            self._offer(task, policy, [held], reason, now, out)
            return
        if terms.dedicated is not None:
            ready = self._roster.ready_on(task.channel)
            members = self._members.get(terms.dedicated)
            if members is not None:
                dedicated = members.intersection(ready) - task.avoid
            else:
                dedicated = {
                    worker_id
                    for worker_id in ready
                    if worker_id not in task.avoid and terms.dedicated(task, self._roster[worker_id])
                }
            if dedicated:
                self._offer_ranked(task, policy, step, dedicated, "vip", terms, now, out)
                return
        qualified = self._roster.ready_for(terms) - task.avoid
        if terms.target is not None:
            target = terms.target
            members = self._members.get(target)
            if members is not None:
                qualified &= members
            else:
                qualified = {worker_id for worker_id in qualified if target(task, self._roster[worker_id])}
        if not qualified:
            return
        self._offer_ranked(task, policy, step, qualified, f"strategy:{queue.strategy}", terms, now, out)

    def _offer_ranked(
        self,
        task: Task,
        policy: QueuePolicy,
        step: int,
        qualified: set[str],
        rule: str,
        terms: Terms,
        now: datetime,
        out: list[Decision],
    ) -> None:
        queue = policy.queue
        ranked = strategies.rank(
            queue.strategy,
            qualified,
            task=task,
            standing=self._roster,
            cursor=self._cursors.get(_rotation(queue.queue_id, task), ""),
            now=now,
            top=max(queue.offer_to, REASON_CANDIDATES),
        )
        chosen = [candidate.worker_id for candidate in ranked[: queue.offer_to]]
        if queue.strategy is Strategy.ROUND_ROBIN:
            self._cursors[_rotation(queue.queue_id, task)] = chosen[-1]
        reason = Reason(
            queue.queue_id,
            step,
            rule,
            tuple(ranked[:REASON_CANDIDATES]),
            len(qualified),
            self._explain_choice(task, policy, step, rule, terms, len(qualified), chosen),
        )
        self._offer(task, policy, chosen, reason, now, out)

    def _explain_choice(
        self, task: Task, policy: QueuePolicy, step: int, rule: str, terms: Terms, qualified: int, chosen: list[str]
    ) -> str:
        strategy = str(policy.queue.strategy).replace("_", " ")
        who = ", ".join(chosen)
        if rule == "vip":
            return f"{task.tier} customer: {qualified} dedicated agent(s) ready; {strategy} chose {who}"
        parts = []
        if policy.is_vip(task.tier):
            parts.append(f"{task.tier} customer, ahead of the line")
        if step >= 0:
            parts.append(f"step {step}: {policy.relaxation(step).describe()}")
        parts.append(f"{qualified} ready worker(s) qualify ({describe(terms)}); {strategy} chose {who}")
        return "; ".join(parts)

    def _offer(
        self, task: Task, policy: QueuePolicy, workers: list[str], reason: Reason, now: datetime, out: list[Decision]
    ) -> None:
        decision_id = self._ids()
        expires_at = now + timedelta(seconds=policy.queue.offer_timeout_seconds)
        offers = []
        for worker_id in workers:
            offer = Offer(self._ids(), task.task_id, worker_id, task.channel, now, expires_at, decision_id=decision_id)
            offers.append(offer)
            self._offers[offer.offer_id] = offer
            self._offers_of_task[task.task_id].append(offer.offer_id)
            self._pending_of_worker.setdefault(worker_id, set()).add(offer.offer_id)
            self._roster.hold(worker_id, task.channel, 1, now)
            self._timetable.set(Subject.OFFER, offer.offer_id, expires_at)
        self._unfile(task.task_id)
        self._tasks[task.task_id] = replace(task, status=TaskStatus.OFFERED)
        out.append(OfferMade(decision_id, task.task_id, tuple(offers), reason))

    # ---- internals: offers closing -------------------------------------------------------------------

    def _expire_offer(self, offer: Offer, now: datetime, round_: _Round) -> None:
        self._close(offer, OfferStatus.EXPIRED, "expired", now, round_)
        pause = self._policies[self._tasks[offer.task_id].queue_id].queue.missed_offer_pause_seconds
        worker = self._roster.get(offer.worker_id)
        if worker is None or not pause:
            return
        until = now + timedelta(seconds=pause)
        if worker.paused_until is not None:
            until = max(until, worker.paused_until)
        worker = replace(worker, paused_until=until)
        self._roster.update(worker, now)
        self._schedule_worker(worker.worker_id)
        round_.out.append(
            WorkerStateChanged(worker.worker_id, worker.presence, worker.presence_until, "missed offer", until)
        )

    def _close(self, offer: Offer, status: OfferStatus, why: str, now: datetime, round_: _Round) -> None:
        """A pending offer ends without an acceptance: the worker has the slot back, and the task waits
        again if this was its last pending offer."""
        closed = replace(offer, status=status)
        self._offers[offer.offer_id] = closed
        self._timetable.set(Subject.OFFER, offer.offer_id, None)
        self._pending_of_worker.get(offer.worker_id, set()).discard(offer.offer_id)
        self._roster.hold(offer.worker_id, offer.channel, -1, now)
        round_.out.append(OfferClosed(closed, why))
        round_.workers.add(offer.worker_id)
        task = self._tasks[offer.task_id]
        if task.status is not TaskStatus.OFFERED:
            return
        still_pending = any(self._offers[o].status is OfferStatus.PENDING for o in self._offers_of_task[task.task_id])
        if not still_pending:
            task = replace(task, status=TaskStatus.QUEUED)
            self._tasks[task.task_id] = task
            self._file(task, now, round_.out)
            round_.tasks.add(task.task_id)

    def _release(self, task: Task, now: datetime) -> None:
        if task.assignee in self._roster:
            self._roster.hold(task.assignee, task.channel, -1, now)
        assigned = self._assigned_to.get(task.assignee)
        if assigned is not None:
            assigned.discard(task.task_id)

    def _forget(self, task_id: str) -> None:
        task = self._tasks[task_id]
        self._unanswered_of(task.queue_id).discard(task_id)
        for offer_id in self._offers_of_task.pop(task_id, []):
            del self._offers[offer_id]
        del self._tasks[task_id]

    # ---- internals: explanations ---------------------------------------------------------------------

    def _explain(self, task: Task, policy: QueuePolicy, step: int, waited: float, now: datetime) -> Waiting:
        terms = self._backlogs[task.queue_id].lane_of(task.task_id).terms
        next_step = policy.next_step_seconds(step)
        assert task.queued_at is not None
        next_in = None
        if next_step is not None:
            next_in = max((task.queued_at + timedelta(seconds=next_step) - now).total_seconds(), 0.0)
        held = self._held_for(task, terms, now)
        if held is not None:
            left = (self._sticky_until(task, policy) - now).total_seconds()
            explanation = f"waiting for {held}, who last served this customer, for at most {left:.0f} s more"
            return Waiting(task.task_id, task.queue_id, step, waited, explanation, next_in, (held,))
        counts: dict[str, int] = {}
        for worker in self._roster:
            if worker.worker_id in task.avoid or not admits(terms, task, worker):
                continue
            state = self._state_for(worker, task.channel, now)
            counts[state] = counts.get(state, 0) + 1
        qualified = sum(counts.values())
        parts = [f"no ready worker {describe(terms)}"]
        if qualified:
            parts.append(f"{qualified} qualify: " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())))
        else:
            parts.append("nobody qualifies")
        ahead = self._backlogs[task.queue_id].ahead_of(task.task_id)
        if ahead:
            parts.append(f"{len(ahead)} task(s) ahead in line for the same workers")
        if next_in is not None:
            parts.append(f"next step in {next_in:.0f} s")
        return Waiting(
            task.task_id, task.queue_id, step, waited, "; ".join(parts), next_in, tuple(ahead[:REASON_CANDIDATES])
        )

    def _state_for(self, worker: Worker, channel: str, now: datetime) -> str:
        if worker.presence is not Presence.AVAILABLE:
            return str(worker.presence).replace("_", "-")
        if not self._roster.on_shift(worker.worker_id):
            return "off shift"
        if worker.paused_until is not None and worker.paused_until > now:
            return "paused after a missed offer"
        if not self._roster.is_ready(worker.worker_id, channel):
            return f"busy on {channel}"
        return "ready"

    # ---- internals: small helpers --------------------------------------------------------------------

    def _open_task(self, task_id: str) -> Task:
        task = self._tasks.get(task_id)
        if task is None:
            raise NotFound("task", task_id)
        return task

    def _open_offer(self, offer_id: str, worker_id: str, now: datetime) -> Offer:
        offer = self._offers.get(offer_id)
        if offer is None:
            raise NotFound("offer", offer_id)
        if offer.worker_id != worker_id:
            raise PermissionDenied(f"offer {offer_id!r} was made to another worker")
        # An offer past its expiry is not open even if nothing has expired it yet; checked before any change
        # so that a refused call changes nothing.
        if offer.status is not OfferStatus.PENDING:
            raise OfferNotOpen(offer_id, offer.status)
        if offer.expires_at <= now:
            raise OfferNotOpen(offer_id, OfferStatus.EXPIRED)
        return offer

    def _tally(self, queue_id: str) -> Tally:
        return self._tallies.setdefault(queue_id, Tally())

    def _unanswered_of(self, queue_id: str) -> OldestFirst:
        return self._unanswered.setdefault(queue_id, OldestFirst())

    def _roster_ids(self) -> list[str]:
        return sorted(worker.worker_id for worker in self._roster)


def _rotation(queue_id: str, task: Task) -> str:
    """Round robin turns per kind of task: one cursor for a whole queue would let a task that only some
    agents can take move the turn past the others, and equally skilled agents would not share equally."""
    kind = (",".join(sorted(task.required_skills)), task.language, task.team)
    return queue_id if not any(kind) else f"{queue_id}/{'/'.join(kind)}"


def _by_id(task: Task) -> str:
    return task.task_id
