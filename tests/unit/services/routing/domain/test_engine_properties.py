"""Invariants of the engine under random sequences of operations (property-based).

A scenario is a queue policy, four workers and a list of operations, each some seconds after the last:
add a task, change a worker's presence, accept, reject or expire a pending offer, complete or cancel a
task, or let time pass. The decisions are followed by a ledger kept here, independently of the engine,
and after every operation:

- no task is assigned twice, and every pending offer or assignment the ledger knows is the engine's too;
- no worker holds more tasks and pending offers on a channel than their capacity;
- no task is lost: each one added is queued, offered, assigned, completed or cancelled;
- no task is overtaken: a worker is never offered a task while a more urgent one that it qualifies for
  (by a qualification written here from the policy, not the engine's) waits in line, and no task waits
  while a ready worker qualifies for it;
- and an engine restored from the persisted state in the middle continues with the same decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.routing.domain.engine import Engine
from services.routing.domain.offers import Decision, Offer, OfferClosed, OfferMade, TaskAssigned
from services.routing.domain.queues import Queue, Step, Strategy
from services.routing.domain.tasks import Requirement, Task, TaskStatus
from services.routing.domain.workers import Presence, Worker
from tests.unit.services.routing.domain.routing_builders import T0

WORKERS = ("w0", "w1", "w2", "w3")
DESK = 'worker.attributes["desk"] == "vip"'
# Targets and what they mean, written twice: as the queue's expression and as the oracle's Python.
TARGETS: dict[str, Callable[[Task, Worker], bool]] = {
    "": lambda task, worker: True,
    'worker.attributes["desk"] != "trainee"': lambda task, worker: worker.attributes.get("desk") != "trainee",
    'task.priority <= 2 or skill(worker, "boiler") >= 4': lambda task, worker: (
        task.priority <= 2 or worker.skills.get("boiler", 0) >= 4
    ),
}

queues = st.builds(
    lambda strategy, offer_to, timeout, pause, aging, dedicated, sticky, wrap_up, relax, target: Queue(
        queue_id="support",
        name="Support",
        strategy=strategy,
        offer_to=offer_to,
        offer_timeout_seconds=timeout,
        missed_offer_pause_seconds=pause,
        aging_seconds_per_level=aging,
        dedicated_target=DESK if dedicated else "",
        sticky_seconds=sticky,
        wrap_up_seconds=wrap_up,
        target=target,
        steps=(
            (
                Step(after_seconds=20, lower_levels_by=1),
                Step(after_seconds=45, drop_skills=("gas",), widen_to_teams=("plumbing",)),
            )
            if relax
            else ()
        ),
    ),
    st.sampled_from(list(Strategy)),
    st.integers(1, 2),
    st.integers(10, 40),
    st.sampled_from([0, 25]),
    st.sampled_from([0, 60]),
    st.booleans(),
    st.sampled_from([0, 30]),
    st.sampled_from([0, 10]),
    st.booleans(),
    st.sampled_from(sorted(TARGETS)),
)

workers = st.builds(
    lambda worker_id, boiler, gas, languages, teams, chats, desk: Worker(
        worker_id=worker_id,
        name=worker_id,
        skills={"boiler": boiler, **({"gas": gas} if gas else {})},
        languages=frozenset(languages),
        teams=frozenset(teams),
        capacity={"voice": 1, **({"chat": chats} if chats else {})},
        presence=Presence.AVAILABLE,
        attributes={"desk": desk} if desk else {},
    ),
    st.just(""),
    st.integers(2, 5),
    st.integers(0, 5),
    st.sets(st.sampled_from(["en", "de"]), min_size=1),
    st.sets(st.sampled_from(["heating", "plumbing"])),
    st.integers(0, 2),
    st.sampled_from(["", "vip", "trainee"]),
)

task_specs = st.fixed_dictionaries(
    {
        "boiler": st.integers(1, 4),
        "gas": st.sampled_from([0, 0, 1, 3]),
        "language": st.sampled_from(["en", "de"]),
        "team": st.sampled_from(["", "heating"]),
        "channel": st.sampled_from(["voice", "chat"]),
        "priority": st.integers(1, 4),
        "tier": st.sampled_from(["standard", "standard", "platinum"]),
        "last_agent": st.sampled_from(["", "", *WORKERS]),
        "age": st.integers(0, 20),
    }
)

# Weighted towards what moves work along (adding tasks, accepting, completing), so that sequences reach
# busy states: full capacity, broadcast offers with one winner, re-offers after rejects and expiries.
KINDS = ["add"] * 4 + ["accept"] * 4 + ["complete"] * 3 + ["reject", "expire", "cancel", "presence", "tick"]
operations = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, 10),
    task_specs,
    st.sampled_from(WORKERS),
    st.sampled_from([Presence.AVAILABLE, Presence.AVAILABLE, Presence.BREAK, Presence.WRAP_UP, Presence.OFFLINE]),
)
scenarios = st.tuples(
    queues,
    st.lists(workers, min_size=4, max_size=4),
    st.lists(st.tuples(st.integers(0, 15), operations), min_size=10, max_size=50),
)


@dataclass
class Ledger:
    """What the decisions said, kept apart from the engine."""

    queue: Queue
    profiles: dict[str, Worker]
    tasks: dict[str, Task] = field(default_factory=dict)
    pending: dict[str, Offer] = field(default_factory=dict)
    assigned: dict[str, str] = field(default_factory=dict)
    ever_assigned: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    avoid: dict[str, set[str]] = field(default_factory=dict)
    # The pending offers as they were when the operation began, and whose presence it changed.
    pending_before: dict[str, Offer] = field(default_factory=dict)
    presence_changed: set[str] = field(default_factory=set)

    def queued(self) -> set[str]:
        offered = {offer.task_id for offer in self.pending.values()}
        return set(self.tasks) - self.closed - set(self.assigned) - offered

    def follow(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            if isinstance(decision, OfferMade):
                for offer in decision.offers:
                    self.pending[offer.offer_id] = offer
            elif isinstance(decision, OfferClosed):
                del self.pending[decision.offer.offer_id]
            elif isinstance(decision, TaskAssigned):
                assert decision.task_id not in self.ever_assigned, f"{decision.task_id} assigned twice"
                self.ever_assigned.add(decision.task_id)
                self.assigned[decision.task_id] = decision.worker_id
                del self.pending[decision.offer_id]

    def held(self, worker_id: str, channel: str) -> int:
        offers = sum(1 for o in self.pending.values() if o.worker_id == worker_id and o.channel == channel)
        tasks = sum(1 for t, w in self.assigned.items() if w == worker_id and self.tasks[t].channel == channel)
        return offers + tasks

    def qualifies(self, worker: Worker, task: Task, now: datetime) -> bool:
        """The policy read independently: relaxed skills, language, team; or a dedicated desk for VIPs."""
        queue = self.queue
        if task.tier in queue.vip_tiers and queue.dedicated_target and worker.attributes.get("desk") == "vip":
            return True
        waited = (now - task.created_at).total_seconds()
        in_force = [step for step in queue.steps if step.after_seconds <= waited]
        lower = sum(step.lower_levels_by for step in in_force)
        dropped = {skill for step in in_force for skill in step.drop_skills}
        teams = {task.team} | {team for step in in_force for team in step.widen_to_teams}
        return (
            all(
                worker.skills.get(r.skill, 0) >= max(1, r.min_level - lower)
                for r in task.requirements
                if r.skill not in dropped
            )
            and (not task.language or task.language in worker.languages)
            and (not task.team or bool(teams & worker.teams))
            and TARGETS[queue.target](task, worker)
        )

    def exempt(self, worker_id: str, task: Task, now: datetime) -> bool:
        """Tasks this worker may leave: avoided by it, or possibly held for their customer's last agent."""
        sticky = task.last_agent and task.last_agent != worker_id
        return worker_id in self.avoid.get(task.task_id, ()) or bool(
            sticky and now < task.created_at + timedelta(seconds=self.queue.sticky_seconds)
        )

    def urgency(self, task: Task, now: datetime) -> tuple[int, Fraction, datetime, str]:
        aging = self.queue.aging_seconds_per_level
        waited = Fraction((now - task.created_at) // timedelta(microseconds=1), 1_000_000)
        effective = Fraction(task.priority) - (waited / aging if aging else 0)
        return (0 if task.tier in self.queue.vip_tiers else 1, effective, task.created_at, task.task_id)


def _apply(engine: Engine, ledger: Ledger, operation: tuple[Any, ...], now: datetime, serial: int) -> list[Decision]:
    kind, index, spec, worker_id, presence = operation
    if kind == "add":
        requirements = (Requirement("boiler", spec["boiler"]),) + (
            (Requirement("gas", spec["gas"]),) if spec["gas"] else ()
        )
        task = Task(
            task_id=f"t{serial:03d}",
            customer_id="c",
            created_at=now - timedelta(seconds=spec["age"]),
            channel=spec["channel"],
            priority=spec["priority"],
            tier=spec["tier"],
            requirements=requirements,
            language=spec["language"],
            team=spec["team"],
            last_agent=spec["last_agent"],
        )
        ledger.tasks[task.task_id] = task
        return engine.add_task(task, now)
    if kind == "presence":
        current = engine.worker(worker_id)
        assert current is not None
        return engine.put_worker(Worker(**{**current.__dict__, "presence": presence, "presence_until": None}), now)
    if kind in ("accept", "reject", "expire"):
        pending = sorted(ledger.pending)
        if not pending:
            return engine.tick(now)
        offer = ledger.pending[pending[index % len(pending)]]
        if offer.expires_at <= now:
            return engine.tick(now)
        if kind == "accept":
            return engine.accept(offer.offer_id, offer.worker_id, now)
        if kind == "reject":
            ledger.avoid.setdefault(offer.task_id, set()).add(offer.worker_id)
            return engine.reject(offer.offer_id, offer.worker_id, now)
        return engine.expire(offer.offer_id, now)
    if kind in ("complete", "cancel"):
        candidates = sorted(ledger.assigned) if kind == "complete" else sorted(set(ledger.tasks) - ledger.closed)
        if not candidates:
            return engine.tick(now)
        task_id = candidates[index % len(candidates)]
        ledger.closed.add(task_id)
        ledger.assigned.pop(task_id, None)
        return engine.complete(task_id, now) if kind == "complete" else engine.cancel_task(task_id, now)
    return engine.tick(now)


def _check(engine: Engine, ledger: Ledger, line: set[str], decisions: list[Decision], now: datetime) -> None:
    """``line``: the tasks queued before the operation."""
    # Capacity: what the ledger holds never exceeds a worker's capacity on a channel.
    for worker_id, profile in ledger.profiles.items():
        for channel, slots in profile.capacity.items():
            assert ledger.held(worker_id, channel) <= slots, (worker_id, channel)
    # No lost task, and the engine agrees with the ledger on each.
    queued = []
    for task_id in ledger.tasks:
        task = engine.task(task_id)
        if task_id in ledger.closed:
            assert task is None
            continue
        assert task is not None, f"{task_id} lost"
        offered = any(offer.task_id == task_id for offer in ledger.pending.values())
        expected = (
            TaskStatus.ASSIGNED if task_id in ledger.assigned else TaskStatus.OFFERED if offered else TaskStatus.QUEUED
        )
        assert task.status is expected, (task_id, task.status, expected)
        assert task.avoid == ledger.avoid.get(task_id, set())
        if task.status is TaskStatus.QUEUED:
            queued.append(task)
    for worker_id in WORKERS:
        mine = {offer.offer_id for offer in ledger.pending.values() if offer.worker_id == worker_id}
        assert {offer.offer_id for offer in engine.offers_of(worker_id)} == mine
    # Exactly one acceptance: once a task is assigned, none of its offers is still open.
    assert not {offer.task_id for offer in ledger.pending.values()} & set(ledger.assigned)
    _check_no_overtaking(ledger, line, decisions)
    _check_sticky(engine, ledger, decisions, now)
    # Nothing waits that a ready worker could take.
    for task in queued:
        for worker_id, profile in ledger.profiles.items():
            current = engine.worker(worker_id)
            assert current is not None
            ready = (
                current.presence is Presence.AVAILABLE
                and (current.paused_until is None or current.paused_until <= now)
                and ledger.held(worker_id, task.channel) < profile.capacity.get(task.channel, 0)
            )
            if ready and not ledger.exempt(worker_id, task, now):
                assert not ledger.qualifies(profile, task, now), f"{task.task_id} waits while {worker_id} is ready"


def _check_sticky(engine: Engine, ledger: Ledger, decisions: list[Decision], now: datetime) -> None:
    """A task within its sticky window whose last agent is working and qualifies goes to that agent only."""
    for decision in decisions:
        if not isinstance(decision, OfferMade):
            continue
        task = ledger.tasks[decision.task_id]
        last = engine.worker(task.last_agent) if task.last_agent else None
        if last is None or last.worker_id in ledger.presence_changed:
            continue
        for offer in decision.offers:
            moment = offer.created_at
            held = (
                moment < task.created_at + timedelta(seconds=ledger.queue.sticky_seconds)
                and last.presence in (Presence.AVAILABLE, Presence.BUSY, Presence.WRAP_UP)
                and last.worker_id not in ledger.avoid.get(task.task_id, ())
                and last.capacity.get(task.channel, 0) > 0
                and ledger.qualifies(last, task, moment)
            )
            assert not held or offer.worker_id == last.worker_id, f"{task.task_id} went past its last agent"


def _check_no_overtaking(ledger: Ledger, line: set[str], decisions: list[Decision]) -> None:
    """Replays the operation's decisions in order, keeping the line of queued tasks as it was at each one:
    whoever is offered a task qualifies for it, is not avoided by it, and qualifies for no more urgent
    task in line at that moment."""
    line = set(line)
    pending: dict[str, int] = {}
    for offer in ledger.pending_before.values():
        pending[offer.task_id] = pending.get(offer.task_id, 0) + 1
    for decision in decisions:
        if isinstance(decision, OfferMade):
            given = ledger.tasks[decision.task_id]
            for offer in decision.offers:
                worker = ledger.profiles[offer.worker_id]
                moment = offer.created_at
                assert ledger.qualifies(worker, given, moment), (
                    f"{offer.worker_id} does not qualify for {given.task_id}"
                )
                assert offer.worker_id not in ledger.avoid.get(given.task_id, ()), (
                    f"{given.task_id} avoids {offer.worker_id}"
                )
                for waiting_id in sorted(line - {decision.task_id}):
                    waiting = ledger.tasks[waiting_id]
                    if waiting.channel != given.channel or ledger.exempt(offer.worker_id, waiting, moment):
                        continue
                    if ledger.qualifies(worker, waiting, moment):
                        assert ledger.urgency(given, moment) <= ledger.urgency(waiting, moment), (
                            f"{decision.task_id} to {offer.worker_id} overtook {waiting_id}"
                        )
            line.discard(decision.task_id)
            pending[decision.task_id] = len(decision.offers)
        elif isinstance(decision, OfferClosed):
            task_id = decision.offer.task_id
            pending[task_id] -= 1
            if not pending[task_id] and task_id not in ledger.closed:
                line.add(task_id)
        elif isinstance(decision, TaskAssigned):
            pending[decision.task_id] = 0


class Ids:
    """Ids from a counter that a test can read and set, so that two engines can draw the same ones."""

    def __init__(self) -> None:
        self.next = 1

    def __call__(self) -> str:
        self.next += 1
        return f"id-{self.next - 1:05d}"


def _start(queue: Queue, profiles: list[Worker], ids: Ids) -> tuple[Engine, Ledger]:
    engine = Engine([queue], ids=ids)
    named = [
        Worker(**{**profile.__dict__, "worker_id": worker_id})
        for worker_id, profile in zip(WORKERS, profiles, strict=True)
    ]
    ledger = Ledger(queue, {worker.worker_id: worker for worker in named})
    for worker in named:
        ledger.follow(engine.put_worker(worker, T0))
    return engine, ledger


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios)
def test_routing_keeps_its_invariants_under_any_sequence_of_operations(scenario: Any) -> None:
    queue, profiles, steps = scenario
    engine, ledger = _start(queue, profiles, Ids())
    now = T0
    for serial, (seconds, operation) in enumerate(steps):
        now += timedelta(seconds=seconds)
        line = ledger.queued()
        ledger.pending_before = dict(ledger.pending)
        ledger.presence_changed = {operation[3]} if operation[0] == "presence" else set()
        decisions = _apply(engine, ledger, operation, now, serial)
        ledger.follow(decisions)
        _check(engine, ledger, line, decisions, now)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios, st.integers(0, 49))
def test_a_restored_engine_continues_exactly_as_the_original(scenario: Any, cut: int) -> None:
    queue, profiles, steps = scenario
    ids = Ids()
    original, ledger = _start(queue, profiles, ids)
    now = T0
    cut = min(cut, len(steps) - 1)
    for serial, (seconds, operation) in enumerate(steps[:cut]):
        now += timedelta(seconds=seconds)
        ledger.follow(_apply(original, ledger, operation, now, serial))

    # The persisted state: workers and open tasks as the engine has them, and the pending offers.
    workers = [original.worker(worker_id) for worker_id in WORKERS]
    open_tasks = [original.task(task_id) for task_id in sorted(ledger.tasks)]
    replica_ids = Ids()
    replica_ids.next = ids.next
    replica = Engine([queue], ids=replica_ids)
    caught_up = replica.restore(
        [w for w in workers if w is not None],
        [t for t in open_tasks if t is not None],
        list(ledger.pending.values()),
        now,
        cursors=original.round_robin_cursors(),
    )
    replica_ledger = Ledger(queue, ledger.profiles, dict(ledger.tasks), dict(ledger.pending), dict(ledger.assigned))
    replica_ledger.closed = set(ledger.closed)
    assert caught_up == []
    _assert_same_reads(replica, original, ledger, now)

    for serial, (seconds, operation) in enumerate(steps[cut:], start=cut):
        now += timedelta(seconds=seconds)
        theirs = _apply(original, ledger, operation, now, serial)
        ours = _apply(replica, replica_ledger, operation, now, serial)
        ledger.follow(theirs)
        replica_ledger.follow(ours)
        assert ours == theirs
        _assert_same_reads(replica, original, ledger, now)


def _assert_same_reads(replica: Engine, original: Engine, ledger: Ledger, now: datetime) -> None:
    assert replica.next_due() == original.next_due()
    assert replica.round_robin_cursors() == original.round_robin_cursors()
    for worker_id in WORKERS:
        assert replica.worker(worker_id) == original.worker(worker_id)
        assert replica.offers_of(worker_id) == original.offers_of(worker_id)
    for task_id in ledger.tasks:
        assert replica.task(task_id) == original.task(task_id)
        assert replica.waiting(task_id, now) == original.waiting(task_id, now)
