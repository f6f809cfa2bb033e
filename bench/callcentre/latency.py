"""How long one routing decision takes when the engine is full: 10,000 agents, 100,000 tasks waiting.

The engine is filled the way a busy day fills it: the agents start on a break, the waiting tasks
arrive (nobody can take them), then the agents come back one by one and each takes a waiting task,
until exactly ``waiting`` are left. A few agents (``free_agents``) have a skill no waiting task needs,
so they stay free and every add_task for that skill is offered at once. Then each measured round:

* add_task with a free matching agent (and 100,000 others waiting): offered at once;
* accept of that offer; complete of that task (the agent is free again, nothing waits for it);
* complete of a busy agent's task: the agent is free and picks the best of the 100,000 it qualifies for;
* accept of that offer;
* add_task with no free agent: the task joins the waiting (keeps their number where it was);
* tick with nothing due, and stats() (the wallboard's read).

And the quiet hour, on an engine of its own per strategy: every agent free and qualified, no backlog,
add_task (the strategy ranks them all).

Every call's wall time and the thread's CPU time are recorded in microseconds (HdrHistogram): wall time
is what a caller waits, CPU time the engine's own cost when other processes share the machine.
Simulated time moves 1 ms per call.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import os
import random
import resource
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from bench.callcentre.simulator import START
from bench.progress import Progress
from services.routing.domain.engine import Engine
from services.routing.domain.offers import Decision, OfferMade, TaskAssigned
from services.routing.domain.queues import Queue, Strategy
from services.routing.domain.tasks import Requirement, Task
from services.routing.domain.workers import Presence, Worker

SKILLS = tuple(f"skill-{n:02d}" for n in range(50))
LANGUAGES = ("en", "de", "fr", "es", "it")
TIERS = ("standard", "silver", "gold", "platinum")
TIER_WEIGHTS = (90, 5, 3, 2)
# The skill only the free agents have: no waiting task needs it.
CALLBACK = "callback"
T = TypeVar("T")
QUEUE = Queue(queue_id="bench", name="Benchmark", wrap_up_seconds=0)


@dataclass(frozen=True)
class Latency:
    decision: str
    count: int
    # Wall time, what a caller waits, preemption by other processes included.
    p50_us: float
    p99_us: float
    max_us: float
    # The calling thread's CPU time: the engine's own cost, whatever else the machine runs.
    cpu_p50_us: float
    cpu_p99_us: float


@dataclass(frozen=True)
class Load:
    agents: int
    waiting: int
    free_agents: int
    fill_seconds: float
    # Resident memory the filled engine added to the process, and what tracemalloc counts for it.
    rss_mb: float
    traced_mb: float | None
    latencies: list[Latency]
    # add_task when every agent is free and qualifies (an empty backlog), per strategy.
    quiet: list[Latency]


class _Timer:
    """Runs engine calls at a simulated clock that moves 1 ms per call, recording each call's wall and CPU time."""

    def __init__(self) -> None:
        self.wall: dict[str, HdrHistogram] = {}
        self.cpu: dict[str, HdrHistogram] = {}
        self._step = itertools.count()

    def now(self) -> datetime:
        return START + timedelta(milliseconds=next(self._step))

    def run(self, name: str, call: Callable[..., T], *args: object) -> T:
        """``call(*args, now)``, timed under ``name``."""
        now = self.now()
        cpu_begin, wall_begin = time.thread_time_ns(), time.perf_counter_ns()
        result = call(*args, now)
        wall, cpu = time.perf_counter_ns() - wall_begin, time.thread_time_ns() - cpu_begin
        if name not in self.wall:
            self.wall[name], self.cpu[name] = HdrHistogram(1, 60_000_000, 3), HdrHistogram(1, 60_000_000, 3)
        self.wall[name].record_value(max(1, wall // 1000))
        self.cpu[name].record_value(max(1, cpu // 1000))
        return result

    def latencies(self) -> list[Latency]:
        return [
            Latency(
                decision=name,
                count=wall.get_total_count(),
                p50_us=wall.get_value_at_percentile(50),
                p99_us=wall.get_value_at_percentile(99),
                max_us=wall.get_max_value(),
                cpu_p50_us=self.cpu[name].get_value_at_percentile(50),
                cpu_p99_us=self.cpu[name].get_value_at_percentile(99),
            )
            for name, wall in self.wall.items()
        ]


def _offer_of(decisions: list[Decision]) -> tuple[str, str]:
    made = [d for d in decisions if isinstance(d, OfferMade)]
    if len(made) != 1 or len(made[0].offers) != 1:
        raise AssertionError(f"expected one offer, the engine decided {decisions}")
    offer = made[0].offers[0]
    return offer.offer_id, offer.worker_id


def _assigned(decisions: list[Decision]) -> str:
    tasks = [d.task_id for d in decisions if isinstance(d, TaskAssigned)]
    if len(tasks) != 1:
        raise AssertionError(f"expected one assignment, the engine decided {decisions}")
    return tasks[0]


def _rss_mb() -> float:
    """Resident set size now (Linux /proc), or the peak where /proc is missing."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except FileNotFoundError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _World:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._tasks = itertools.count()

    def agent(self, n: int, presence: Presence) -> Worker:
        skills = {skill: self.rng.randint(1, 5) for skill in self.rng.sample(SKILLS, 3)}
        return Worker(
            worker_id=f"agent-{n:05d}",
            name=f"Agent {n}",
            skills=skills,
            languages=frozenset(self.rng.sample(LANGUAGES, self.rng.randint(1, 2))),
            capacity={"voice": 1},
            presence=presence,
        )

    def callback_agent(self, n: int) -> Worker:
        return Worker(
            worker_id=f"callback-{n:05d}",
            name=f"Callback {n}",
            skills={CALLBACK: 3},
            languages=frozenset(LANGUAGES),
            capacity={"voice": 1},
            presence=Presence.AVAILABLE,
        )

    def task(self, now: datetime, requirement: Requirement | None = None) -> Task:
        n = next(self._tasks)
        needed = requirement or Requirement(self.rng.choice(SKILLS), self.rng.randint(1, 3))
        return Task(
            task_id=f"task-{n:07d}",
            customer_id=f"customer-{n % 50_000:05d}",
            created_at=now,
            channel="voice",
            priority=self.rng.randint(1, 4),
            tier=self.rng.choices(TIERS, TIER_WEIGHTS)[0],
            requirements=(needed,),
            language=self.rng.choice(LANGUAGES) if self.rng.random() < 0.5 else "",
        )


def measure(agents: int, waiting: int, rounds: int, seed: int, *, free_agents: int = 100, trace: bool = False) -> Load:
    """Fill an engine with ``agents`` (``free_agents`` of them kept free) and ``waiting`` tasks, then time ``rounds``
    rounds of decisions. ``trace`` also counts the engine's memory with tracemalloc (slows the fill down)."""
    if not 0 < free_agents < agents:
        raise ValueError(f"free_agents must be between 1 and agents - 1, not {free_agents} of {agents}")
    progress = Progress()
    world, timer = _World(seed), _Timer()
    busy_agents = agents - free_agents
    gc.collect()
    rss_before = _rss_mb()
    if trace:
        tracemalloc.start()
    counter = itertools.count(1)
    engine = Engine([QUEUE], ids=lambda: f"d{next(counter):09d}")
    fill_started = time.perf_counter()

    for n in range(free_agents):
        engine.put_worker(world.callback_agent(n), timer.now())
    on_break = [world.agent(n, Presence.BREAK) for n in range(busy_agents)]
    for n, worker in enumerate(on_break, 1):
        engine.put_worker(worker, timer.now())
        if n % 1000 == 0 or n == busy_agents:
            progress.show(f"latency: {n}/{busy_agents} agents on a break", final=n == busy_agents)
    # Enough tasks that, once every agent has taken one, ``waiting`` are left.
    arriving = waiting + busy_agents
    for n in range(1, arriving + 1):
        timer.run("add_task, no free agent (fill)", engine.add_task, world.task(timer.now()))
        if n % 5000 == 0 or n == arriving:
            progress.show(f"latency: {n}/{arriving} tasks waiting", final=n == arriving)
    assigned: list[str] = []
    for n, worker in enumerate(on_break, 1):
        back = dataclasses.replace(worker, presence=Presence.AVAILABLE)
        offer_id, worker_id = _offer_of(timer.run("back from break, picks (fill)", engine.put_worker, back))
        assigned.append(_assigned(engine.accept(offer_id, worker_id, timer.now())))
        if n % 1000 == 0 or n == busy_agents:
            progress.show(f"latency: {n}/{busy_agents} agents back, each took a task", final=n == busy_agents)
    fill_seconds = time.perf_counter() - fill_started
    traced_mb = None
    if trace:
        traced_mb = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
    gc.collect()
    rss_mb = _rss_mb() - rss_before

    for n in range(1, rounds + 1):
        task = world.task(timer.now(), Requirement(CALLBACK))
        offer_id, worker_id = _offer_of(timer.run("add_task, free agent", engine.add_task, task))
        timer.run("accept", engine.accept, offer_id, worker_id)
        timer.run("complete, nothing waits", engine.complete, task.task_id)

        index = world.rng.randrange(len(assigned))
        offer_id, worker_id = _offer_of(timer.run("complete, picks from waiting", engine.complete, assigned[index]))
        assigned[index] = _assigned(timer.run("accept", engine.accept, offer_id, worker_id))
        timer.run("add_task, no free agent", engine.add_task, world.task(timer.now()))

        timer.run("tick, nothing due", engine.tick)
        timer.run("stats (a read, not a decision)", engine.stats)
        if n % 200 == 0 or n == rounds:
            progress.show(f"latency: {n}/{rounds} rounds measured", final=n == rounds)

    return Load(
        agents=agents,
        waiting=waiting,
        free_agents=free_agents,
        fill_seconds=fill_seconds,
        rss_mb=rss_mb,
        traced_mb=traced_mb,
        latencies=timer.latencies(),
        quiet=[measure_quiet(agents, max(20, rounds // 10), seed, strategy, progress) for strategy in Strategy],
    )


def measure_quiet(agents: int, rounds: int, seed: int, strategy: Strategy, progress: Progress) -> Latency:
    """add_task when all ``agents`` are free and qualify: the strategy ranks every one of them."""
    world, timer = _World(seed), _Timer()
    counter = itertools.count(1)
    engine = Engine([dataclasses.replace(QUEUE, strategy=strategy)], ids=lambda: f"d{next(counter):09d}")
    for n in range(agents):
        engine.put_worker(world.callback_agent(n), timer.now())
    name = f"add_task, all {agents:,} free, {strategy}"
    for n in range(1, rounds + 1):
        task = world.task(timer.now(), Requirement(CALLBACK))
        offer_id, worker_id = _offer_of(timer.run(name, engine.add_task, task))
        engine.accept(offer_id, worker_id, timer.now())
        engine.complete(task.task_id, timer.now())
        progress.show(f"latency: {strategy} {n}/{rounds} with every agent free", final=n == rounds)
    (latency,) = timer.latencies()
    return latency
