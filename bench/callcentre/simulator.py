"""A discrete-event call centre (SimPy) that drives the real routing engine in simulated time.

Simulated time is seconds since ``START``; the engine sees it as UTC datetimes. The call centre
plays the world around the engine and nothing of the engine's part:

* callers arrive (Poisson per call type) and become ``add_task``; a caller whose patience runs out
  before an agent accepted hangs up: ``cancel_task``;
* an agent rings for ``answer_delay_seconds`` after each offer, then ``accept``s it, unless the
  engine closed the offer meanwhile or the agent lets it ring out (``missed_offer_share``); talks for
  the handle time, then ``complete``s the task;
* a timer calls ``tick`` at ``engine.next_due()``, re-armed after every engine call, so wrap-up ends,
  offer timeouts, aging and relaxation steps happen exactly when the engine says they are due.

Presence is the engine's to keep (wrap-up, pauses): the call centre only reads the decisions that
concern callers and offers, and leaves WorkerStateChanged to the engine.

Everything random is drawn up front from generators seeded per call type, so every strategy meets
the same callers with the same handle and patience draws (common random numbers): differences
between strategies are the strategies', not the dice's. The call centre also checks what the
engine promises as it goes (no task assigned twice, no agent over capacity) and counts breaches.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import simpy

from bench.callcentre.fairness import peer_groups, worst_jain
from bench.callcentre.scenarios import CallType, Scenario
from services.routing.domain.engine import Engine
from services.routing.domain.offers import (
    Decision,
    Offer,
    OfferClosed,
    OfferMade,
    OfferStatus,
    TaskAssigned,
    TaskMoved,
)
from services.routing.domain.tasks import Task
from services.routing.domain.workers import Presence, Worker

# A Monday morning; any moment would do, nothing in the scenarios depends on the calendar.
START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
# ``tick`` at one instant until next_due() moves past it; more rounds than this and the engine spins.
_TICKS_PER_INSTANT = 10


class EngineStalled(RuntimeError):
    """next_due() stays at or before now however often tick(now) runs: simulated time could not move on."""


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def seconds_of(moment: datetime) -> float:
    return (moment - START).total_seconds()


@dataclass
class Call:
    call_id: str
    call_type: CallType
    arrived: float
    # Draws made up front: handle time in units of the call type's mean, patience in seconds.
    handle_units: float
    patience: float | None
    offered: float | None = None
    answered: float | None = None
    abandoned: float | None = None
    completed: float | None = None
    agent: str = ""

    @property
    def wait(self) -> float:
        assert self.answered is not None
        return self.answered - self.arrived


def draw_calls(scenario: Scenario, hours: float, seed: int) -> list[Call]:
    """Every caller of the run, in order of arrival; each call type draws from its own seeded generator."""
    horizon = hours * 3600
    drawn: list[tuple[float, int, CallType, float, float | None]] = []
    for order, call_type in enumerate(scenario.call_types):
        rng = random.Random(f"{seed}:{scenario.name}:{call_type.name}")
        rate = call_type.calls_per_hour / 3600
        moment = rng.expovariate(rate)
        while moment < horizon:
            units = rng.expovariate(1.0)
            patience = None if call_type.patience_seconds is None else rng.expovariate(1 / call_type.patience_seconds)
            drawn.append((moment, order, call_type, units, patience))
            moment += rng.expovariate(rate)
    drawn.sort(key=lambda d: (d[0], d[1]))
    return [
        Call(f"call-{n:07d}", call_type, moment, units, patience)
        for n, (moment, _, call_type, units, patience) in enumerate(drawn)
    ]


@dataclass(frozen=True)
class Outcome:
    """One run of one scenario with one strategy. Rates are over the calls that arrived in the measured
    window (after the warm-up); the conservation counts are over the whole run."""

    scenario: str
    strategy: str
    seed: int
    measured_hours: float
    calls: int
    # Share of calls that were not offered the moment they arrived.
    p_wait: float
    # Mean arrival-to-accept time of the answered calls (ring time included), seconds.
    asa_seconds: float
    # Answered within the queue's service_level_seconds / (answered + abandoned).
    service_level: float
    abandon_rate: float
    # (talk + wrap-up) time / staffed slot time (agents x capacity), over all agents.
    occupancy: float
    # Worst Jain's index over groups of equally skilled agents: of calls handled, and of time busy.
    jain_handled: float
    jain_busy: float
    asa_by_type: dict[str, float]
    service_level_by_type: dict[str, float]
    handled_by_agent: dict[str, int]
    # Whole run: every arrival ends answered, abandoned or still waiting (lost, if the run drained).
    arrivals: int
    answered: int
    abandoned: int
    still_waiting: int
    offers_made: int
    offers_expired: int
    tasks_moved: int
    # The whole run as the engine's QueueStats count it (within target / answered), to check those.
    whole_run_asa_seconds: float
    whole_run_service_level_of_answered: float
    # Promises the engine broke, as the call centre saw them (should be empty).
    violations: list[str]
    engine_stats: dict[str, Any] = field(default_factory=dict)


class CallCentre:
    """One simulated run: the SimPy environment, the engine it drives, and what happened to every call."""

    def __init__(self, scenario: Scenario, calls: list[Call], seed: int) -> None:
        self.scenario = scenario
        # Which offers ring out depends on how the engine routes, so it has its own stream.
        self._misses = random.Random(f"{seed}:{scenario.name}:missed offers")
        self.env = simpy.Environment()
        counter = itertools.count(1)
        self.engine = Engine([scenario.queue], ids=lambda: f"d{next(counter):09d}")
        self.calls = calls
        self._by_task = {call.call_id: call for call in calls}
        self.workers: dict[str, Worker] = {}
        self._pending: dict[str, Offer] = {}
        # What each agent holds right now (offers reserve a slot too): the capacity promise, checked.
        self._holding: dict[str, set[str]] = {}
        self._alarm = 0
        self._alarm_at: datetime | None = None
        self.offers_made = self.offers_expired = self.tasks_moved = 0
        self.violations: list[str] = []
        self._open = len(calls)
        self._settled = self.env.event()

    def now(self) -> datetime:
        return at(self.env.now)

    def staff(self) -> None:
        for group in self.scenario.agents:
            for n in range(1, group.count + 1):
                worker = Worker(
                    worker_id=f"{group.name}-{n:03d}",
                    name=f"{group.name} {n}",
                    skills=dict(group.skills),
                    capacity={self.scenario.channel: self.scenario.capacity},
                    presence=Presence.AVAILABLE,
                    attributes=dict(group.attributes),
                )
                self.workers[worker.worker_id] = worker
                self._holding[worker.worker_id] = set()
                self._apply(self.engine.put_worker(worker, self.now()))

    def run(self, drain_limit_hours: float = 24.0) -> None:
        """Let every caller arrive, then run on until each is answered and done or has hung up."""
        self.staff()
        self.env.process(self._arrivals())
        if not self.calls:
            self._settled.succeed()
        horizon = (self.calls[-1].arrived if self.calls else 0.0) + drain_limit_hours * 3600
        self.env.run(until=self._settled | self.env.timeout(horizon))

    def _arrivals(self) -> Generator[simpy.Event, Any, None]:
        for call in self.calls:
            yield self.env.timeout(call.arrived - self.env.now)
            self.env.process(self._caller(call))

    def _caller(self, call: Call) -> Generator[simpy.Event, Any, None]:
        spec = call.call_type
        task = Task(
            task_id=call.call_id,
            customer_id=f"customer-{call.call_id}",
            created_at=self.now(),
            channel=self.scenario.channel,
            priority=spec.priority,
            tier=spec.tier,
            requirements=spec.requirements,
        )
        self._apply(self.engine.add_task(task, self.now()))
        if call.patience is None:
            return
        yield self.env.timeout(call.patience)
        if call.answered is None:
            call.abandoned = self.env.now
            self._settle()
            self._apply(self.engine.cancel_task(call.call_id, self.now()))

    def _ring(self, offer: Offer) -> Generator[simpy.Event, Any, None]:
        if self._misses.random() < self.scenario.missed_offer_share:
            return
        yield self.env.timeout(self.scenario.answer_delay_seconds)
        if offer.offer_id in self._pending:
            self._apply(self.engine.accept(offer.offer_id, offer.worker_id, self.now()))

    def _talk(self, call: Call) -> Generator[simpy.Event, Any, None]:
        speed = 1.0
        if call.call_type.requirements:
            level = self.workers[call.agent].skills.get(call.call_type.requirements[0].skill, 0)
            speed = self.scenario.speed_by_level.get(level, 1.0)
        yield self.env.timeout(call.handle_units * call.call_type.handle_seconds * speed)
        call.completed = self.env.now
        self._holding[call.agent].discard(call.call_id)
        self._settle()
        self._apply(self.engine.complete(call.call_id, self.now()))

    def _settle(self) -> None:
        self._open -= 1
        if self._open == 0 and not self._settled.triggered:
            self._settled.succeed()

    def _apply(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            if isinstance(decision, OfferMade):
                self._offered(decision)
            elif isinstance(decision, OfferClosed):
                self._pending.pop(decision.offer.offer_id, None)
                self._holding[decision.offer.worker_id].discard(decision.offer.task_id)
                if decision.offer.status is OfferStatus.EXPIRED:
                    self.offers_expired += 1
            elif isinstance(decision, TaskAssigned):
                self._assigned(decision)
            elif isinstance(decision, TaskMoved):
                self.tasks_moved += 1
        self._arm()

    def _offered(self, decision: OfferMade) -> None:
        call = self._by_task[decision.task_id]
        if call.offered is None:
            call.offered = self.env.now
        for offer in decision.offers:
            self.offers_made += 1
            self._pending[offer.offer_id] = offer
            held = self._holding[offer.worker_id]
            held.add(offer.task_id)
            if len(held) > self.scenario.capacity:
                self.violations.append(f"{self.env.now:.3f}s: {offer.worker_id} over capacity: {sorted(held)}")
            self.env.process(self._ring(offer))

    def _assigned(self, decision: TaskAssigned) -> None:
        call = self._by_task[decision.task_id]
        self._pending.pop(decision.offer_id, None)
        if call.answered is not None:
            self.violations.append(
                f"{self.env.now:.3f}s: {call.call_id} assigned twice ({call.agent}, then {decision.worker_id})"
            )
            return
        if call.abandoned is not None:
            self.violations.append(f"{self.env.now:.3f}s: {call.call_id} assigned after the caller hung up")
            return
        call.answered = self.env.now
        call.agent = decision.worker_id
        self.env.process(self._talk(call))

    def _arm(self) -> None:
        """Set the timer for the engine's next due moment, if that is sooner than the one already set."""
        due = self.engine.next_due()
        if due is None or (self._alarm_at is not None and self._alarm_at <= due):
            return
        self._alarm += 1
        self._alarm_at = due
        alarm = self.env.timeout(max(0.0, seconds_of(due) - self.env.now), value=self._alarm)
        alarm.callbacks.append(self._ring_alarm)

    def _ring_alarm(self, alarm: simpy.Event) -> None:
        if alarm.value != self._alarm:
            return  # superseded by a sooner one
        self._alarm_at = None
        now = self.now()
        for _ in range(_TICKS_PER_INSTANT):
            due = self.engine.next_due()
            if due is None or due > now:
                break
            self._apply(self.engine.tick(now))
        else:
            raise EngineStalled(
                f"next_due() is still {self.engine.next_due()} after {_TICKS_PER_INSTANT} ticks at {now}"
            )
        self._arm()


def measure(centre: CallCentre, seed: int, warmup_hours: float, hours: float) -> Outcome:
    """Outcome of a finished run; rates over the calls that arrived between the warm-up and the end of arrivals."""
    scenario = centre.scenario
    begin, end = warmup_hours * 3600, hours * 3600
    window = [c for c in centre.calls if begin <= c.arrived < end]
    answered = [c for c in window if c.answered is not None]
    abandoned = [c for c in window if c.abandoned is not None]
    target = scenario.queue.service_level_seconds
    wrap_up = scenario.queue.wrap_up_seconds

    busy: dict[str, float] = dict.fromkeys(centre.workers, 0.0)
    handled: dict[str, int] = dict.fromkeys(centre.workers, 0)
    for call in centre.calls:
        if call.answered is None:
            continue
        if begin <= call.answered < end:
            handled[call.agent] += 1
        finished = (call.completed if call.completed is not None else end) + wrap_up
        busy[call.agent] += max(0.0, min(finished, end) - max(call.answered, begin))
    groups = peer_groups({w.worker_id: tuple(sorted(w.skills.items())) for w in centre.workers.values()})

    def asa(calls: list[Call]) -> float:
        return sum(c.wait for c in calls) / len(calls) if calls else 0.0

    def level(calls: list[Call]) -> float:
        answered_in_time = sum(1 for c in calls if c.answered is not None and c.wait <= target)
        finished = sum(1 for c in calls if c.answered is not None or c.abandoned is not None)
        return answered_in_time / finished if finished else 1.0

    everyone_answered = [c for c in centre.calls if c.answered is not None]
    whole_abandoned = sum(1 for c in centre.calls if c.abandoned is not None)
    types = [t.name for t in scenario.call_types]
    return Outcome(
        scenario=scenario.name,
        strategy=str(scenario.queue.strategy),
        seed=seed,
        measured_hours=hours - warmup_hours,
        calls=len(window),
        p_wait=sum(1 for c in window if c.offered is None or c.offered > c.arrived) / len(window) if window else 0.0,
        asa_seconds=asa(answered),
        service_level=level(window),
        abandon_rate=len(abandoned) / len(window) if window else 0.0,
        occupancy=sum(busy.values()) / (len(busy) * scenario.capacity * (end - begin)),
        jain_handled=worst_jain(groups, {k: float(v) for k, v in handled.items()}) if groups else 1.0,
        jain_busy=worst_jain(groups, busy) if groups else 1.0,
        asa_by_type={name: asa([c for c in answered if c.call_type.name == name]) for name in types},
        service_level_by_type={name: level([c for c in window if c.call_type.name == name]) for name in types},
        handled_by_agent=handled,
        arrivals=len(centre.calls),
        answered=len(everyone_answered),
        abandoned=whole_abandoned,
        still_waiting=len(centre.calls) - len(everyone_answered) - whole_abandoned,
        offers_made=centre.offers_made,
        offers_expired=centre.offers_expired,
        tasks_moved=centre.tasks_moved,
        whole_run_asa_seconds=asa(everyone_answered),
        whole_run_service_level_of_answered=(
            sum(1 for c in everyone_answered if c.wait <= target) / len(everyone_answered) if everyone_answered else 1.0
        ),
        violations=centre.violations,
        engine_stats={
            queue_id: dataclasses.asdict(stats) for queue_id, stats in sorted(centre.engine.stats(centre.now()).items())
        },
    )


def simulate(scenario: Scenario, *, hours: float, warmup_hours: float, seed: int) -> Outcome:
    """Run ``scenario`` for ``hours`` of arrivals (the first ``warmup_hours`` not measured) and drain it."""
    if not 0 <= warmup_hours < hours:
        raise ValueError(f"warm-up ({warmup_hours} h) must be shorter than the run ({hours} h)")
    centre = CallCentre(scenario, draw_calls(scenario, hours, seed), seed)
    centre.run()
    return measure(centre, seed, warmup_hours, hours)
