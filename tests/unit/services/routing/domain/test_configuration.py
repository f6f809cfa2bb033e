"""Changing queues and workers while tasks wait, as specifications."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.routing.domain.offers import TaskMoved
from services.routing.domain.queues import Step
from services.routing.domain.workers import Presence
from switchboard.errors import InvalidArgument, NotFound
from tests.unit.services.routing.domain.routing_builders import (
    agent,
    at,
    closed,
    engine,
    offered,
    queue,
    task,
    the_offer,
)


def test_new_queues_refile_waiting_tasks_and_move_those_whose_queue_is_gone() -> None:
    routing = engine(queue("heating", filter='task.team == "heating"', order=1))
    routing.add_task(task("t1", team="heating"), at(0))
    routing.add_task(task("t2"), at(0))

    decisions = routing.set_queues([queue("plumbing", filter='task.team == "plumbing"')], at(10))

    assert decisions == [TaskMoved("t1", "heating", "default", -1)]
    moved = routing.task("t1")
    assert moved is not None and (moved.queue_id, moved.queued_at) == ("default", at(10))


def test_new_queues_apply_at_once_to_who_may_take_a_waiting_task() -> None:
    routing = engine(queue(target='worker.attributes["level"] == "senior"'))
    routing.put_worker(agent("junior", attributes={"level": "junior"}), at(0))
    routing.add_task(task("t1"), at(0))

    assert offered(routing.set_queues([queue()], at(5))) == [("t1", "junior")]


def test_a_broken_queue_set_changes_nothing() -> None:
    routing = engine(queue(steps=(Step(after_seconds=30, lower_levels_by=1),)))
    routing.add_task(task("t1"), at(0))

    with pytest.raises(InvalidArgument, match=r"queues\[support\]\.target: column 8: syntax"):
        routing.set_queues([queue(target="worker.")], at(5))
    assert routing.next_due() == at(30)


def test_a_removed_worker_loses_pending_offers_but_keeps_assigned_tasks() -> None:
    routing = engine(queue(offer_timeout_seconds=600))
    routing.put_worker(agent("anna", capacity={"chat": 2}), at(0))
    routing.put_worker(agent("ben", capacity={"chat": 1}), at(1))
    routing.accept(the_offer(routing.add_task(task("c1", channel="chat"), at(2))).offer_id, "anna", at(3))
    routing.add_task(task("c2", channel="chat"), at(4))  # ben, idle longer now
    routing.add_task(task("c3", channel="chat"), at(5))  # anna's second slot

    decisions = routing.remove_worker("anna", at(6))

    assert closed(decisions) == [("anna", "withdrawn", "worker removed")]
    assert routing.worker("anna") is None
    kept = routing.task("c1")
    assert kept is not None and kept.assignee == "anna"
    assert routing.complete("c1", at(7)) == []
    with pytest.raises(NotFound):
        routing.remove_worker("anna", at(8))


def test_a_profile_change_keeps_the_workers_place_in_the_longest_idle_order() -> None:
    routing = engine(queue())
    routing.put_worker(agent("anna"), at(0))
    routing.put_worker(agent("ben"), at(10))

    routing.put_worker(replace(agent("anna"), skills={"boiler": 5}), at(20))

    assert offered(routing.add_task(task("t1"), at(30))) == [("t1", "anna")]


def test_a_worker_coming_back_from_a_break_joins_the_end_of_the_idle_order() -> None:
    routing = engine(queue())
    routing.put_worker(agent("anna"), at(0))
    routing.put_worker(agent("ben"), at(10))
    routing.put_worker(agent("anna", presence=Presence.BREAK), at(20))

    routing.put_worker(agent("anna"), at(25))
    assert offered(routing.add_task(task("t1"), at(30))) == [("t1", "ben")]
