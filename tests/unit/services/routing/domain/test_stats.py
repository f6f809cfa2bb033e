"""Live statistics per queue as specifications."""

from __future__ import annotations

from services.routing.domain.workers import Presence
from tests.unit.services.routing.domain.routing_builders import agent, at, engine, queue, task, the_offer


def test_a_queue_counts_waiting_answered_abandoned_and_its_service_level() -> None:
    routing = engine(queue(service_level_seconds=20, wrap_up_seconds=0, offer_timeout_seconds=60))
    routing.put_worker(agent("anna"), at(0))
    routing.put_worker(agent("ben", capacity={"voice": 1, "chat": 2}), at(0))
    routing.put_worker(agent("carl", presence=Presence.BREAK), at(0))
    routing.put_worker(agent("dora", presence=Presence.OFFLINE), at(0))
    # Answered in 10 s and in 30 s.
    routing.add_task(task("fast", created=0), at(0))
    routing.add_task(task("slow", created=0), at(0))
    routing.accept(routing.offers_of("anna")[0].offer_id, "anna", at(10))
    routing.accept(routing.offers_of("ben")[0].offer_id, "ben", at(30))
    # One abandoned, two waiting since 40 s and 50 s.
    routing.add_task(task("gone", created=35), at(35))
    routing.cancel_task("gone", at(38))
    routing.add_task(task("w1", created=40), at(40))
    routing.add_task(task("w2", created=50), at(50))

    stats = routing.stats(at(100))["support"]

    assert (stats.waiting, stats.longest_wait_seconds) == (2, 60.0)
    assert (stats.answered, stats.average_speed_of_answer_seconds, stats.service_level_percent) == (2, 20.0, 50.0)
    assert stats.abandoned == 1
    assert stats.agents == {"break": 1, "busy": 2, "offline": 1}
    # Two tasks in hand over anna's 1 and ben's 3 slots.
    assert stats.occupancy == 0.5


def test_a_queue_with_nothing_answered_yet_reports_a_full_service_level() -> None:
    stats = engine(queue()).stats(at(0))["support"]

    assert (stats.waiting, stats.answered, stats.average_speed_of_answer_seconds, stats.service_level_percent) == (
        0,
        0,
        0.0,
        100.0,
    )


def test_a_queues_agents_are_those_its_target_admits() -> None:
    routing = engine(queue(target='"heating" in worker.teams'))
    routing.put_worker(agent("anna", teams=("heating",)), at(0))
    routing.put_worker(agent("ben", teams=("plumbing",)), at(0))

    stats = routing.stats(at(1))

    assert stats["support"].agents == {"available": 1}
    assert stats["default"].agents == {"available": 2}


def test_answered_counts_go_to_the_queue_that_answered() -> None:
    routing = engine(queue(filter='task.tier == "gold"'))
    routing.put_worker(agent("anna"), at(0))
    routing.accept(the_offer(routing.add_task(task("t1", tier="gold"), at(5))).offer_id, "anna", at(6))

    stats = routing.stats(at(7))

    assert (stats["support"].answered, stats["default"].answered) == (1, 0)
