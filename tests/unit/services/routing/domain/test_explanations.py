"""Reasons and waiting explanations as specifications: every offer says which step, which rule, which
candidates and why this one; a waiting task says what it waits for."""

from __future__ import annotations

from services.routing.domain.queues import Step
from services.routing.domain.workers import Presence
from tests.unit.services.routing.domain.routing_builders import agent, at, engine, made, queue, task, the_offer


def test_every_offer_keeps_its_reason_with_the_best_five_candidates() -> None:
    routing = engine(queue())
    for n in range(7):
        routing.put_worker(agent(f"agent-{n}", skills={"boiler": 4}, languages=("de",)), at(n))

    [decision] = made(routing.add_task(task("t1", skills={"boiler": 4}, language="de"), at(60)))

    reason = decision.reason
    assert (reason.queue_id, reason.step, reason.rule, reason.qualified) == ("support", -1, "strategy:longest_idle", 7)
    assert [c.worker_id for c in reason.candidates] == [f"agent-{n}" for n in range(5)]
    assert reason.candidates[0].note == "idle 60 s"
    assert reason.explanation == (
        "7 ready worker(s) qualify (boiler>=4, speaking de, on voice); longest idle chose agent-0"
    )


def test_a_waiting_task_says_who_qualifies_and_why_they_cannot_take_it() -> None:
    routing = engine(queue(steps=(Step(after_seconds=60, lower_levels_by=1),)))
    routing.put_worker(agent("busy", skills={"boiler": 4}, languages=("de",), teams=("heating",)), at(0))
    routing.accept(the_offer(routing.add_task(task("first", language="de"), at(1))).offer_id, "busy", at(2))
    routing.put_worker(
        agent("wrapping", skills={"boiler": 5}, languages=("de",), teams=("heating",), presence=Presence.WRAP_UP), at(3)
    )
    routing.put_worker(agent("english", skills={"boiler": 5}, languages=("en",), teams=("heating",)), at(4))
    routing.add_task(task("t1", created=20, skills={"boiler": 4}, language="de", team="heating"), at(20))
    routing.add_task(task("t2", created=21, skills={"boiler": 4}, language="de", team="heating"), at(21))

    waiting = routing.waiting("t2", at(40))

    assert waiting is not None
    assert (waiting.queue_id, waiting.step, waiting.waited_seconds, waiting.next_step_in_seconds) == (
        "support",
        -1,
        19.0,
        41.0,
    )
    assert waiting.blocked_by == ("t1",)
    assert waiting.explanation == (
        "no ready worker boiler>=4, speaking de, in team heating, on voice; "
        "2 qualify: 1 busy on voice, 1 wrap-up; 1 task(s) ahead in line for the same workers; next step in 41 s"
    )


def test_an_offered_task_says_to_whom_and_until_when() -> None:
    routing = engine(queue(offer_to=2, offer_timeout_seconds=30))
    routing.put_worker(agent("anna"), at(0))
    routing.put_worker(agent("ben"), at(0))
    routing.add_task(task("t1"), at(10))

    waiting = routing.waiting("t1", at(25))

    assert waiting is not None and waiting.explanation == "offered to anna, ben; the offer expires in 15 s"


def test_an_assigned_or_unknown_task_is_not_waiting() -> None:
    routing = engine(queue())
    routing.put_worker(agent("anna"), at(0))
    routing.accept(the_offer(routing.add_task(task("t1"), at(1))).offer_id, "anna", at(2))

    assert routing.waiting("t1", at(3)) is None
    assert routing.waiting("nope", at(3)) is None


def test_a_task_nobody_could_take_says_so() -> None:
    routing = engine(queue())
    routing.put_worker(agent("anna", languages=("en",)), at(0))
    routing.add_task(task("t1", language="fi"), at(0))

    waiting = routing.waiting("t1", at(5))

    assert waiting is not None and waiting.explanation == "no ready worker speaking fi, on voice; nobody qualifies"
