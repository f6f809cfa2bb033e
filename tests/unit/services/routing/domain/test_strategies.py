"""Strategies as specifications: which of several qualified workers is chosen, and that equally skilled
workers get an equal share of the work, measured over many tasks."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.routing.domain.offers import Decision, OfferMade
from services.routing.domain.queues import Strategy
from services.routing.domain.roster import Roster
from services.routing.domain.strategies import WALK_ABOVE, rank
from tests.unit.services.routing.domain.routing_builders import agent, at, engine, made, offered, queue, task, the_offer


def test_longest_idle_chooses_the_worker_idle_the_longest() -> None:
    routing = engine(queue(strategy=Strategy.LONGEST_IDLE, wrap_up_seconds=0))
    routing.put_worker(agent("ben"), at(0))
    routing.put_worker(agent("anna"), at(10))
    routing.accept(the_offer(routing.add_task(task("t1"), at(20))).offer_id, "ben", at(21))
    routing.complete("t1", at(30))

    decisions = routing.add_task(task("t2"), at(40))

    assert offered(decisions) == [("t2", "anna")]
    assert [(c.worker_id, c.score, c.note) for c in made(decisions)[0].reason.candidates] == [
        ("anna", 30.0, "idle 30 s"),
        ("ben", 10.0, "idle 10 s"),
    ]


def test_least_occupied_chooses_the_lowest_share_of_capacity_in_use() -> None:
    routing = engine(queue(strategy=Strategy.LEAST_OCCUPIED, offer_timeout_seconds=600))
    routing.put_worker(agent("anna", capacity={"chat": 4}), at(0))
    routing.put_worker(agent("ben", capacity={"chat": 2}), at(1))

    first = routing.add_task(task("c1", channel="chat"), at(10))
    second = routing.add_task(task("c2", channel="chat"), at(11))
    third = routing.add_task(task("c3", channel="chat"), at(12))

    # 0/4 vs 0/2: anna idle longer; then 1/4 beats 0/2? no: 0/2 = 0 < 1/4; then 1/4 < 1/2.
    assert offered(first + second + third) == [("c1", "anna"), ("c2", "ben"), ("c3", "anna")]
    assert made(third)[0].reason.candidates[0].note == "busy 1/4, idle 12 s"


def test_best_skill_chooses_the_highest_proficiency_over_the_required_skills() -> None:
    routing = engine(queue(strategy=Strategy.BEST_SKILL))
    routing.put_worker(agent("anna", skills={"boiler": 5, "gas": 2}), at(0))
    routing.put_worker(agent("ben", skills={"boiler": 4, "gas": 4}), at(5))

    decisions = routing.add_task(task("t1", skills={"boiler": 2, "gas": 1}), at(10))

    assert offered(decisions) == [("t1", "ben")]
    [best, second] = made(decisions)[0].reason.candidates
    assert (best.score, best.note) == (8.0, "boiler 4/5, gas 4/5, idle 5 s")
    assert second.score == 7.0


def test_round_robin_rotates_through_the_workers_whatever_their_idle_time() -> None:
    routing = engine(queue(strategy=Strategy.ROUND_ROBIN, wrap_up_seconds=0))
    for name in ("carl", "anna", "ben"):
        routing.put_worker(agent(name, capacity={"chat": 10}), at(0))

    decisions = [routing.add_task(task(f"c{n}", channel="chat"), at(n)) for n in range(1, 6)]

    assert [the_offer(d).worker_id for d in decisions] == ["anna", "ben", "carl", "anna", "ben"]
    assert routing.round_robin_cursors() == {"support//en/": "ben"}


def test_round_robin_takes_turns_per_kind_of_task_so_equal_agents_share_equally() -> None:
    routing = engine(queue(strategy=Strategy.ROUND_ROBIN, wrap_up_seconds=0))
    for name, skill in (("anna", "billing"), ("ben", "billing"), ("zoe", "technical")):
        routing.put_worker(agent(name, skills={skill: 3}), at(0))
    served: Counter[str] = Counter()

    for n in range(20):
        skill = "billing" if n % 2 == 0 else "technical"
        offer = the_offer(routing.add_task(task(f"t{n}", skills={skill: 1}), at(n)))
        routing.accept(offer.offer_id, offer.worker_id, at(n))
        routing.complete(f"t{n}", at(n))
        served[offer.worker_id] += 1

    assert served == {"anna": 5, "ben": 5, "zoe": 10}


def _simulate(strategy: Strategy, *, agents: int, tasks: int, seed: int) -> Counter[str]:
    """Calls every 20 s on average, handled in 60 s on average, by equally skilled agents who accept at
    once; events are played in time order, the engine's own moments (next_due) included."""
    rnd = random.Random(seed)
    routing = engine(queue(strategy=strategy, wrap_up_seconds=5))
    for n in range(agents):
        routing.put_worker(agent(f"agent-{n}", skills={"boiler": 3}), at(0))
    arrivals = []
    clock = 0.0
    for _ in range(tasks):
        clock += rnd.expovariate(1 / 20)
        arrivals.append(clock)
    arrivals.reverse()
    ends: dict[str, float] = {}
    served: Counter[str] = Counter()

    def handle(decisions: list[Decision], now: float) -> None:
        for decision in decisions:
            if isinstance(decision, OfferMade):
                [offer] = decision.offers
                routing.accept(offer.offer_id, offer.worker_id, at(now))
                served[offer.worker_id] += 1
                ends[decision.task_id] = now + rnd.expovariate(1 / 60)

    while arrivals or ends:
        due = routing.next_due()
        engine_at = (due - at(0)).total_seconds() if due else float("inf")
        task_id, end = min(ends.items(), key=lambda item: item[1], default=("", float("inf")))
        arrival = arrivals[-1] if arrivals else float("inf")
        now = min(engine_at, end, arrival)
        if now == engine_at:
            handle(routing.tick(at(now)), now)
        elif now == end:
            del ends[task_id]
            handle(routing.complete(task_id, at(now)), now)
        else:
            arrivals.pop()
            handle(routing.add_task(task(f"t{len(arrivals)}", created=now, skills={"boiler": 2}), at(now)), now)
    return served


@pytest.mark.parametrize("strategy", list(Strategy))
def test_equally_skilled_agents_get_an_equal_share_of_the_work(strategy: Strategy) -> None:
    served = _simulate(strategy, agents=5, tasks=600, seed=11)

    # Jain's fairness index: 1 is a perfectly equal share. Handle times are random, so shares spread a
    # little (0.999 for longest idle here; round robin skips busy agents, so whoever follows a long call
    # in the rotation gains: 0.995).
    shares = list(served.values())
    jain = sum(shares) ** 2 / (len(shares) * sum(share * share for share in shares))
    assert len(shares) == 5
    assert sum(shares) == 600
    assert jain > 0.99, served


@settings(max_examples=40, deadline=None)
@given(
    strategy=st.sampled_from(list(Strategy)),
    workers=st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 3), st.integers(1, 5)), min_size=WALK_ABOVE + 1, max_size=120
    ),
    chosen=st.data(),
    skills=st.sampled_from([{}, {"boiler": 2}]),
)
def test_ranking_many_candidates_by_walking_an_order_ranks_as_scoring_each_would(
    strategy: Strategy, workers: list[tuple[int, int, int]], chosen: st.DataObject, skills: dict[str, int]
) -> None:
    roster = Roster()
    for n, (idle, busy, boiler) in enumerate(workers):
        worker_id = f"w{n:03d}"
        roster.put(
            replace(agent(worker_id, skills={"boiler": boiler}, capacity={"chat": 3}), idle_since=at(idle)), at(60)
        )
        for _ in range(busy):
            roster.hold(worker_id, "chat", 1, at(60))
    everyone = [f"w{n:03d}" for n in range(len(workers))]
    candidates = set(chosen.draw(st.lists(st.sampled_from(everyone), min_size=WALK_ABOVE + 1, unique=True)))
    cursor = chosen.draw(st.sampled_from(["", *everyone]))
    the_task = task("t1", skills=skills)

    def spec(worker_id: str) -> tuple[object, ...]:
        idle = roster.idle_since(worker_id)
        if strategy is Strategy.LEAST_OCCUPIED:
            used, total = roster.occupancy(worker_id)
            return (used / total, idle, worker_id)
        if strategy is Strategy.BEST_SKILL:
            return (-sum(roster.skill(worker_id, s) for s in skills), idle, worker_id)
        if strategy is Strategy.ROUND_ROBIN:
            return (worker_id <= cursor, worker_id)
        return (idle, worker_id)

    ranked = rank(strategy, candidates, task=the_task, standing=roster, cursor=cursor, now=at(60), top=5)

    assert [c.worker_id for c in ranked] == sorted(candidates, key=spec)[:5]
