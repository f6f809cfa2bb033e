"""Restore as a specification: a replica taking over from the persisted workers, open tasks and pending
offers continues as the engine it replaces would have."""

from __future__ import annotations

import itertools

from services.routing.domain.engine import Engine
from services.routing.domain.offers import Offer, TaskMoved
from services.routing.domain.queues import Queue, Step, Strategy
from services.routing.domain.tasks import Task
from services.routing.domain.workers import Worker
from tests.unit.services.routing.domain.routing_builders import agent, at, closed, offered, queue, task, the_offer


def _engine(*queues: Queue, start: int = 1) -> Engine:
    ids = itertools.count(start)
    return Engine(queues, ids=lambda: f"id-{next(ids):05d}")


def _persisted(engine: Engine, workers: list[str], tasks: list[str]) -> tuple[list[Worker], list[Task], list[Offer]]:
    """What the service would have stored: workers and open tasks as the engine has them, pending offers."""
    stored_workers = [w for w in (engine.worker(w) for w in workers) if w is not None]
    stored_tasks = [t for t in (engine.task(t) for t in tasks) if t is not None]
    offers = [offer for w in workers for offer in engine.offers_of(w)]
    return stored_workers, stored_tasks, offers


def test_a_replica_keeps_the_round_robin_rotation() -> None:
    rotation = queue(strategy=Strategy.ROUND_ROBIN, wrap_up_seconds=0)
    original = _engine(rotation)
    for name in ("anna", "ben", "carl"):
        original.put_worker(agent(name, capacity={"chat": 5}), at(0))
    original.add_task(task("c1", channel="chat"), at(1))
    original.add_task(task("c2", channel="chat"), at(2))
    workers, tasks, offers = _persisted(original, ["anna", "ben", "carl"], ["c1", "c2"])

    replica = _engine(rotation, start=100)
    replica.restore(workers, tasks, offers, at(2), cursors=original.round_robin_cursors())

    assert the_offer(replica.add_task(task("c3", channel="chat"), at(3))).worker_id == "carl"


def test_a_replica_keeps_pending_offers_and_the_slots_they_hold() -> None:
    original = _engine(queue(offer_timeout_seconds=30))
    original.put_worker(agent("anna"), at(0))
    offer = the_offer(original.add_task(task("t1"), at(5)))
    original.add_task(task("t2"), at(6))
    workers, tasks, offers = _persisted(original, ["anna"], ["t1", "t2"])

    replica = _engine(queue(offer_timeout_seconds=30), start=100)
    replica.restore(workers, tasks, offers, at(10))

    assert replica.offers_of("anna") == [offer]
    assert replica.next_due() == at(35)
    expired = replica.tick(at(35))
    assert closed(expired) == [("anna", "expired", "expired")]


def test_a_replica_keeps_the_longest_idle_order() -> None:
    original = _engine(queue(wrap_up_seconds=0))
    original.put_worker(agent("anna"), at(0))
    original.put_worker(agent("ben"), at(10))
    original.accept(the_offer(original.add_task(task("t1"), at(20))).offer_id, "anna", at(21))
    original.complete("t1", at(30))
    workers, tasks, offers = _persisted(original, ["anna", "ben"], [])

    replica = _engine(queue(wrap_up_seconds=0), start=100)
    replica.restore(workers, tasks, offers, at(40))

    assert offered(replica.add_task(task("t2"), at(41))) == [("t2", "ben")]


def test_a_step_that_came_into_force_while_no_replica_ran_is_decided_at_restore() -> None:
    relaxing = queue(steps=(Step(after_seconds=30, lower_levels_by=1),))
    original = _engine(relaxing)
    original.put_worker(agent("anna", skills={"boiler": 3}), at(0))
    original.add_task(task("t1", skills={"boiler": 4}), at(0))
    workers, tasks, offers = _persisted(original, ["anna"], ["t1"])

    replica = _engine(relaxing, start=100)
    decisions = replica.restore(workers, tasks, offers, at(90))

    assert offered(decisions) == [("t1", "anna")]


def test_an_overflow_that_fell_due_while_no_replica_ran_happens_at_its_moment() -> None:
    queues = (
        queue("first", order=1, steps=(Step(after_seconds=60, overflow_to="second"),)),
        queue("second", order=2, filter="False"),
    )
    original = _engine(*queues)
    original.add_task(task("t1"), at(0))
    _, tasks, _ = _persisted(original, [], ["t1"])

    replica = _engine(*queues, start=100)

    assert replica.restore([], tasks, [], at(75)) == [TaskMoved("t1", "first", "second", 0)]
    moved = replica.task("t1")
    assert moved is not None and (moved.queue_id, moved.queued_at) == ("second", at(60))


def test_a_fresh_snapshot_restores_with_nothing_to_decide() -> None:
    original = _engine(queue())
    original.put_worker(agent("anna"), at(0))
    original.add_task(task("t1"), at(1))
    original.add_task(task("t2"), at(2))
    workers, tasks, offers = _persisted(original, ["anna"], ["t1", "t2"])

    assert _engine(queue(), start=100).restore(workers, tasks, offers, at(2)) == []


def test_an_offered_task_without_its_pending_offers_is_routed_again() -> None:
    original = _engine(queue())
    original.put_worker(agent("anna"), at(0))
    original.add_task(task("t1"), at(1))
    # Anna and her offer are not in the snapshot: she was deleted meanwhile.
    _, tasks, _ = _persisted(original, [], ["t1"])

    decisions = _engine(queue(), start=100).restore([agent("ben")], tasks, [], at(2))

    assert offered(decisions) == [("t1", "ben")]
