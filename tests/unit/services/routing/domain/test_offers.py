"""Offers as specifications: capacity, one winner among several, reject, expiry with a pause, wrap-up."""

from __future__ import annotations

import pytest

from services.routing.domain.engine import OfferNotOpen
from services.routing.domain.offers import OfferStatus
from services.routing.domain.tasks import TaskStatus
from services.routing.domain.workers import Presence
from switchboard.errors import FailedPrecondition, NotFound, PermissionDenied
from tests.unit.services.routing.domain.routing_builders import (
    agent,
    assigned,
    at,
    closed,
    engine,
    made,
    offered,
    queue,
    state_changes,
    task,
    the_offer,
)


def test_a_task_is_offered_at_once_to_a_ready_qualified_worker() -> None:
    routing = engine(queue())
    routing.put_worker(agent("anna", skills={"boiler": 4}), at(0))

    decisions = routing.add_task(task("t1", skills={"boiler": 3}), at(1))

    offer = the_offer(decisions)
    assert (offer.task_id, offer.worker_id, offer.channel) == ("t1", "anna", "voice")
    assert (offer.created_at, offer.expires_at) == (at(1), at(31))
    assert routing.offers_of("anna") == [offer]
    task_now = routing.task("t1")
    assert task_now is not None and task_now.status is TaskStatus.OFFERED


def test_a_pending_offer_holds_a_slot_so_capacity_is_never_exceeded() -> None:
    routing = engine(queue(offer_timeout_seconds=600))
    routing.put_worker(agent("anna", capacity={"chat": 2, "voice": 1}), at(0))

    first = routing.add_task(task("c1", channel="chat"), at(1))
    second = routing.add_task(task("c2", channel="chat"), at(2))
    third = routing.add_task(task("c3", channel="chat"), at(3))
    call = routing.add_task(task("v1", channel="voice"), at(4))

    assert offered(first + second + third + call) == [("c1", "anna"), ("c2", "anna"), ("v1", "anna")]
    routing.accept(the_offer(first).offer_id, "anna", at(5))
    assert offered(routing.complete("c1", at(60))) == []  # wrap-up first
    assert offered(routing.tick(at(90))) == [("c3", "anna")]


def test_an_offer_to_several_workers_has_exactly_one_winner() -> None:
    routing = engine(queue(offer_to=3))
    for name in ("anna", "ben", "carl", "dora"):
        routing.put_worker(agent(name), at(0))

    decisions = routing.add_task(task("t1"), at(10))
    offers = {offer.worker_id: offer for offer in made(decisions)[0].offers}
    assert sorted(offers) == ["anna", "ben", "carl"]

    won = routing.accept(offers["ben"].offer_id, "ben", at(11))

    assert assigned(won) == [("t1", "ben")]
    assert sorted(closed(won)) == [
        ("anna", "withdrawn", "accepted by ben"),
        ("carl", "withdrawn", "accepted by ben"),
    ]
    with pytest.raises(OfferNotOpen) as lost:
        routing.accept(offers["anna"].offer_id, "anna", at(11))
    assert lost.value.status is OfferStatus.WITHDRAWN
    with pytest.raises(OfferNotOpen):
        routing.accept(offers["ben"].offer_id, "ben", at(12))


def test_an_offer_is_accepted_only_by_its_worker_and_only_while_open() -> None:
    routing = engine(queue(offer_timeout_seconds=20))
    routing.put_worker(agent("anna"), at(0))
    routing.put_worker(agent("ben"), at(5))
    offer = the_offer(routing.add_task(task("t1"), at(10)))

    with pytest.raises(PermissionDenied):
        routing.accept(offer.offer_id, "ben", at(11))
    with pytest.raises(NotFound):
        routing.accept("no-such-offer", "anna", at(11))
    with pytest.raises(OfferNotOpen) as late:
        routing.accept(offer.offer_id, "anna", at(30))
    assert late.value.status is OfferStatus.EXPIRED
    assert routing.offers_of("anna") == [offer]  # a refused call changed nothing


def test_a_rejected_offer_goes_elsewhere_and_never_back_to_the_worker_who_rejected() -> None:
    routing = engine(queue())
    routing.put_worker(agent("anna"), at(0))
    routing.put_worker(agent("ben"), at(5))
    offer = the_offer(routing.add_task(task("t1"), at(10)))
    assert offer.worker_id == "anna"

    decisions = routing.reject(offer.offer_id, "anna", at(12))

    assert closed(decisions) == [("anna", "rejected", "rejected")]
    assert offered(decisions) == [("t1", "ben")]
    task_now = routing.task("t1")
    assert task_now is not None and task_now.avoid == {"anna"}
    assert offered(routing.reject(the_offer(decisions).offer_id, "ben", at(13))) == []
    assert routing.waiting("t1", at(14)) is not None


def test_an_expired_offer_pauses_the_worker_and_goes_elsewhere() -> None:
    routing = engine(queue(offer_timeout_seconds=20, missed_offer_pause_seconds=60))
    routing.put_worker(agent("anna"), at(0))
    routing.put_worker(agent("ben"), at(5))
    offer = the_offer(routing.add_task(task("t1"), at(10)))
    assert routing.next_due() == at(30)

    decisions = routing.tick(at(30))

    assert closed(decisions) == [("anna", "expired", "expired")]
    [paused] = state_changes(decisions)
    assert (paused.worker_id, paused.why, paused.paused_until) == ("anna", "missed offer", at(90))
    assert offered(decisions) == [("t1", "ben")]
    with pytest.raises(OfferNotOpen):
        routing.expire(offer.offer_id, at(31))


def test_a_paused_worker_gets_no_offer_until_the_pause_is_over() -> None:
    routing = engine(queue(offer_timeout_seconds=20, missed_offer_pause_seconds=60))
    routing.put_worker(agent("anna"), at(0))
    offer = the_offer(routing.add_task(task("t1"), at(10)))

    expired = routing.expire(offer.offer_id, at(25))

    assert closed(expired) == [("anna", "expired", "expired")]
    assert offered(expired) == []
    assert offered(routing.add_task(task("t2"), at(40))) == []
    resumed = routing.tick(at(85))
    assert [change.why for change in state_changes(resumed)] == ["pause over"]
    # t1 waited longest at the same priority: it goes first.
    assert offered(resumed) == [("t1", "anna")]


def test_an_explicit_expire_of_an_offer_already_due_returns_that_expiry() -> None:
    routing = engine(queue(offer_timeout_seconds=20))
    routing.put_worker(agent("anna"), at(0))
    offer = the_offer(routing.add_task(task("t1"), at(10)))

    decisions = routing.expire(offer.offer_id, at(45))

    assert closed(decisions) == [("anna", "expired", "expired")]


def test_a_completed_task_frees_the_worker_after_wrap_up() -> None:
    routing = engine(queue(wrap_up_seconds=30))
    routing.put_worker(agent("anna"), at(0))
    routing.accept(the_offer(routing.add_task(task("t1"), at(1))).offer_id, "anna", at(2))
    routing.add_task(task("t2"), at(3))

    completed = routing.complete("t1", at(100))

    [wrap] = state_changes(completed)
    assert (wrap.presence, wrap.until, wrap.why) == (Presence.WRAP_UP, at(130), "wrap-up")
    assert offered(completed) == []
    assert routing.next_due() == at(130)
    over = routing.tick(at(130))
    assert [(c.presence, c.why) for c in state_changes(over)] == [(Presence.AVAILABLE, "wrap-up over")]
    assert offered(over) == [("t2", "anna")]
    assert routing.task("t1") is None


def test_only_an_assigned_task_can_be_completed() -> None:
    routing = engine(queue())
    routing.add_task(task("t1"), at(0))

    with pytest.raises(FailedPrecondition, match="queued, not assigned"):
        routing.complete("t1", at(1))
    with pytest.raises(NotFound):
        routing.complete("t9", at(1))


def test_a_cancelled_task_withdraws_its_offers() -> None:
    routing = engine(queue(offer_to=2))
    routing.put_worker(agent("anna"), at(0))
    routing.put_worker(agent("ben"), at(1))
    routing.add_task(task("t1"), at(2))

    decisions = routing.cancel_task("t1", at(3))

    assert sorted(closed(decisions)) == [
        ("anna", "withdrawn", "task cancelled"),
        ("ben", "withdrawn", "task cancelled"),
    ]
    assert routing.task("t1") is None
    assert offered(routing.add_task(task("t2"), at(4))) == [("t2", "anna"), ("t2", "ben")]


def test_a_worker_who_leaves_loses_their_pending_offers() -> None:
    routing = engine(queue())
    routing.put_worker(agent("anna"), at(0))
    routing.put_worker(agent("ben"), at(1))
    routing.add_task(task("t1"), at(2))

    decisions = routing.put_worker(agent("anna", presence=Presence.BREAK), at(3))

    assert closed(decisions) == [("anna", "withdrawn", "worker unavailable")]
    assert offered(decisions) == [("t1", "ben")]


def test_offers_beyond_a_reduced_capacity_are_withdrawn_newest_first() -> None:
    routing = engine(queue(offer_timeout_seconds=600))
    routing.put_worker(agent("anna", capacity={"chat": 3}), at(0))
    for n in range(1, 4):
        routing.add_task(task(f"c{n}", channel="chat"), at(n))

    decisions = routing.put_worker(agent("anna", capacity={"chat": 1}), at(10))

    assert [(d[0], d[2]) for d in closed(decisions)] == [("anna", "capacity reduced")] * 2
    assert [offer.task_id for offer in routing.offers_of("anna")] == ["c1"]


def test_a_task_is_added_only_once() -> None:
    routing = engine(queue())
    routing.add_task(task("t1"), at(0))

    with pytest.raises(Exception, match="already being routed"):
        routing.add_task(task("t1"), at(1))
