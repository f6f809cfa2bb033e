"""Routing rules as specifications: who gets which task first, and how that changes as a task waits."""

from __future__ import annotations

from datetime import time

from services.routing.domain.offers import TaskMoved
from services.routing.domain.queues import Step
from services.routing.domain.workers import Presence, Shift, WorkingHours
from tests.unit.services.routing.domain.routing_builders import (
    agent,
    at,
    engine,
    made,
    offered,
    queue,
    task,
    the_offer,
)

# ---- who qualifies ---------------------------------------------------------------------------------


def test_a_task_goes_only_to_workers_with_its_skills_language_and_team() -> None:
    routing = engine(queue())
    routing.put_worker(agent("low", skills={"boiler": 3}, languages=("de",), teams=("heating",)), at(0))
    routing.put_worker(agent("english", skills={"boiler": 5}, languages=("en",), teams=("heating",)), at(1))
    routing.put_worker(agent("plumber", skills={"boiler": 5}, languages=("de",), teams=("plumbing",)), at(2))
    routing.put_worker(agent("right", skills={"boiler": 4}, languages=("de", "en"), teams=("heating",)), at(3))

    decisions = routing.add_task(task("t1", skills={"boiler": 4}, language="de", team="heating"), at(10))

    assert offered(decisions) == [("t1", "right")]
    assert made(decisions)[0].reason.qualified == 1


def test_a_target_expression_narrows_who_qualifies() -> None:
    routing = engine(queue(target='worker.attributes["site"] == task.attributes["site"]'))
    routing.put_worker(agent("berlin", attributes={"site": "berlin"}), at(0))
    routing.put_worker(agent("hamburg", attributes={"site": "hamburg"}), at(1))

    decisions = routing.add_task(task("t1", attributes={"site": "hamburg"}), at(10))

    assert offered(decisions) == [("t1", "hamburg")]


def test_a_task_enters_the_first_queue_whose_filter_it_matches() -> None:
    routing = engine(
        queue("gold", filter='task.tier == "gold"', order=1),
        queue("heating", filter='"boiler" in task.skills', order=2),
    )

    routing.add_task(task("t1", tier="gold", skills={"boiler": 2}), at(0))
    routing.add_task(task("t2", skills={"boiler": 2}), at(0))
    routing.add_task(task("t3"), at(0))

    assert [getattr(routing.task(t), "queue_id", None) for t in ("t1", "t2", "t3")] == ["gold", "heating", "default"]


# ---- order -------------------------------------------------------------------------------------------


def test_a_worker_becoming_free_takes_the_most_urgent_task_they_qualify_for() -> None:
    routing = engine(queue(aging_seconds_per_level=0))
    routing.add_task(task("p3-old", created=0, priority=3), at(0))
    routing.add_task(task("p1-boiler", created=5, priority=1, skills={"boiler": 5}), at(5))
    routing.add_task(task("p2", created=10, priority=2), at(10))
    routing.add_task(task("p2-later", created=15, priority=2), at(15))

    decisions = routing.put_worker(agent("anna", skills={"boiler": 3}), at(20))

    assert offered(decisions) == [("p2", "anna")]


def test_priority_ages_with_waiting_time() -> None:
    routing = engine(queue(aging_seconds_per_level=60))
    routing.add_task(task("p4-old", created=0, priority=4), at(0))
    routing.add_task(task("p2-new", created=170, priority=2), at(170))

    # At 180 s the old task has aged three levels (to 1), the new one not at all.
    assert offered(routing.put_worker(agent("anna"), at(180))) == [("p4-old", "anna")]


def test_vip_customers_come_first() -> None:
    routing = engine(queue(vip_tiers=frozenset({"platinum"})))
    routing.add_task(task("urgent", created=0, priority=1), at(0))
    routing.add_task(task("vip", created=50, priority=4, tier="platinum"), at(50))

    assert offered(routing.put_worker(agent("anna"), at(60))) == [("vip", "anna")]


def test_vip_customers_go_to_dedicated_agents_when_one_is_ready() -> None:
    routing = engine(queue(dedicated_target='worker.attributes["desk"] == "vip"'))
    routing.put_worker(agent("longest-idle"), at(0))
    routing.put_worker(agent("desk", skills={}, attributes={"desk": "vip"}), at(30))

    vip = routing.add_task(task("vip", tier="platinum", skills={"boiler": 4}), at(60))
    standard = routing.add_task(task("std"), at(61))

    assert offered(vip) == [("vip", "desk")]
    assert made(vip)[0].reason.rule == "vip"
    assert offered(standard) == [("std", "longest-idle")]


def test_a_vip_customer_does_not_wait_for_a_busy_dedicated_agent() -> None:
    routing = engine(queue(dedicated_target='worker.attributes["desk"] == "vip"'))
    routing.put_worker(agent("desk", attributes={"desk": "vip"}, presence=Presence.BUSY), at(0))
    routing.put_worker(agent("anna"), at(1))

    decisions = routing.add_task(task("vip", tier="platinum"), at(10))

    assert offered(decisions) == [("vip", "anna")]
    assert made(decisions)[0].reason.rule == "strategy:longest_idle"
    assert "platinum customer, ahead of the line" in made(decisions)[0].reason.explanation


# ---- sticky ------------------------------------------------------------------------------------------


def test_a_task_goes_back_to_the_last_agent_at_once_when_they_are_free() -> None:
    routing = engine(queue(sticky_seconds=60))
    routing.put_worker(agent("anna"), at(0))
    routing.put_worker(agent("ben"), at(30))

    decisions = routing.add_task(task("t1", last_agent="ben"), at(40))

    assert offered(decisions) == [("t1", "ben")]
    assert made(decisions)[0].reason.rule == "sticky"


def test_a_task_waits_for_the_last_agent_within_the_sticky_window() -> None:
    routing = engine(queue(sticky_seconds=60, wrap_up_seconds=0))
    routing.put_worker(agent("anna"), at(0))
    routing.put_worker(agent("ben"), at(0))
    routing.add_task(task("call", created=0), at(0))  # anna, idle the longest by id
    routing.accept(routing.offers_of("anna")[0].offer_id, "anna", at(1))

    waiting = routing.add_task(task("again", created=10, last_agent="anna"), at(10))

    assert offered(waiting) == []
    reason = routing.waiting("again", at(20))
    assert reason is not None and reason.blocked_by == ("anna",)
    assert "waiting for anna, who last served this customer, for at most 50 s more" in reason.explanation
    assert offered(routing.complete("call", at(30))) == [("again", "anna")]


def test_after_the_sticky_window_anyone_qualified_takes_the_task() -> None:
    routing = engine(queue(sticky_seconds=60, wrap_up_seconds=0))
    routing.put_worker(agent("anna"), at(0))
    routing.put_worker(agent("ben"), at(0))
    routing.add_task(task("call", created=0), at(0))
    routing.accept(routing.offers_of("anna")[0].offer_id, "anna", at(1))
    routing.add_task(task("again", created=10, last_agent="anna"), at(10))

    assert routing.next_due() == at(70)
    assert offered(routing.tick(at(70))) == [("again", "ben")]


def test_a_task_does_not_wait_for_a_last_agent_who_is_not_working() -> None:
    routing = engine(queue(sticky_seconds=60))
    routing.put_worker(agent("anna", presence=Presence.OFFLINE), at(0))
    routing.put_worker(agent("ben"), at(0))

    assert offered(routing.add_task(task("t1", last_agent="anna"), at(10))) == [("t1", "ben")]


def test_a_task_stops_waiting_when_its_last_agent_goes_on_a_break() -> None:
    routing = engine(queue(sticky_seconds=60))
    routing.put_worker(agent("anna", presence=Presence.WRAP_UP), at(0))
    routing.put_worker(agent("ben"), at(0))
    assert offered(routing.add_task(task("t1", last_agent="anna"), at(10))) == []

    assert offered(routing.put_worker(agent("anna", presence=Presence.BREAK), at(20))) == [("t1", "ben")]


# ---- relaxation --------------------------------------------------------------------------------------


def test_requirements_relax_step_by_step_as_the_task_waits() -> None:
    routing = engine(
        queue(
            steps=(
                Step(after_seconds=30, lower_levels_by=1),
                Step(after_seconds=60, drop_skills=("gas",)),
                Step(after_seconds=90, widen_to_teams=("plumbing",)),
            )
        )
    )
    routing.put_worker(agent("plumber", skills={"boiler": 5, "gas": 5}, teams=("plumbing",)), at(0))
    routing.put_worker(agent("no-gas", skills={"boiler": 4}, teams=("heating",)), at(0))
    routing.put_worker(agent("level-3", skills={"boiler": 3, "gas": 3}, teams=("heating",)), at(0))

    assert offered(routing.add_task(task("t1", skills={"boiler": 4, "gas": 4}, team="heating"), at(0))) == []
    assert offered(routing.tick(at(29))) == []
    at_30 = routing.tick(at(30))
    assert offered(at_30) == [("t1", "level-3")]
    assert made(at_30)[0].reason.step == 0
    assert offered(routing.reject(the_offer(at_30).offer_id, "level-3", at(31))) == []
    at_60 = routing.tick(at(60))
    assert offered(at_60) == [("t1", "no-gas")]
    assert offered(routing.reject(the_offer(at_60).offer_id, "no-gas", at(61))) == []
    at_90 = routing.tick(at(90))
    assert offered(at_90) == [("t1", "plumber")]
    assert made(at_90)[0].reason.step == 2


def test_widening_to_another_team_lets_its_workers_take_the_task() -> None:
    routing = engine(queue(steps=(Step(after_seconds=45, widen_to_teams=("plumbing",)),)))
    routing.put_worker(agent("plumber", teams=("plumbing",)), at(0))
    routing.add_task(task("t1", team="heating"), at(0))

    assert routing.next_due() == at(45)
    decisions = routing.tick(at(100))

    [offer] = made(decisions)
    assert offer.offers[0].worker_id == "plumber"
    # It was made when the step came into force, not when tick happened to be called.
    assert offer.offers[0].created_at == at(45)
    assert "step 0: also teams plumbing" in offer.reason.explanation


def test_a_step_may_replace_the_target() -> None:
    routing = engine(
        queue(target='worker.attributes["level"] == "senior"', steps=(Step(after_seconds=20, target="True"),))
    )
    routing.put_worker(agent("junior", attributes={"level": "junior"}), at(0))
    routing.add_task(task("t1"), at(0))

    assert offered(routing.tick(at(19))) == []
    assert offered(routing.tick(at(20))) == [("t1", "junior")]


def test_a_step_may_overflow_the_task_to_another_queue_keeping_its_wait() -> None:
    routing = engine(
        queue("first-line", order=1, steps=(Step(after_seconds=60, overflow_to="second-line"),)),
        queue("second-line", order=2, filter="False", steps=(Step(after_seconds=30, lower_levels_by=1),)),
    )
    routing.add_task(task("t1", skills={"boiler": 4}), at(0))

    moved = routing.tick(at(60))

    assert moved == [TaskMoved("t1", "first-line", "second-line", 0)]
    moved_task = routing.task("t1")
    assert moved_task is not None and (moved_task.queue_id, moved_task.queued_at) == ("second-line", at(60))
    # The new queue's steps count from the move, the wait from the task's creation.
    assert routing.next_due() == at(90)
    routing.put_worker(agent("anna", skills={"boiler": 3}), at(70))
    decisions = routing.tick(at(90))
    assert offered(decisions) == [("t1", "anna")]
    waiting = routing.stats(at(90))
    assert (waiting["first-line"].waiting, waiting["second-line"].answered) == (0, 0)


def test_overflows_that_loop_stop_where_they_would_come_back() -> None:
    routing = engine(
        queue("a", order=1, steps=(Step(after_seconds=10, overflow_to="b"),)),
        queue("b", order=2, filter="False", steps=(Step(after_seconds=0, overflow_to="a"),)),
    )
    routing.add_task(task("t1"), at(0))

    moved = routing.tick(at(10))

    assert moved == [TaskMoved("t1", "a", "b", 0)]
    assert routing.next_due() is None


# ---- working hours -----------------------------------------------------------------------------------


def test_a_worker_outside_their_shift_gets_no_offer() -> None:
    # 2025-03-14 09:00 UTC is a Friday; the shift is 10:00-18:00 UTC.
    shift = WorkingHours("UTC", (Shift(4, time(10), time(18)),))
    routing = engine(queue())
    routing.put_worker(agent("anna", hours=shift), at(0))

    assert offered(routing.add_task(task("t1"), at(60))) == []
    assert routing.next_due() == at(3600)
    assert offered(routing.tick(at(3600))) == [("t1", "anna")]


def test_a_worker_whose_shift_ends_gets_no_more_offers() -> None:
    shift = WorkingHours("UTC", (Shift(4, time(8), time(9, 30)),))
    routing = engine(queue())
    routing.put_worker(agent("anna", hours=shift), at(0))
    routing.tick(at(1800))

    assert offered(routing.add_task(task("t1"), at(1801))) == []
    assert the_offer(routing.put_worker(agent("ben"), at(1802))).worker_id == "ben"
