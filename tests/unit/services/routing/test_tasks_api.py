"""The RoutingService servicer: tasks in and out, offers accepted and rejected by the worker they are for,
called directly (no server) with the matcher stepped by hand; and a console's stream of offers, served
in-process over gRPC with the matcher running as it does in the suite."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import grpc
import pytest

from services.routing.api.tasks import RoutingApi
from services.routing.api.workers import WorkerApi
from services.routing.service.matcher import Matcher
from services.routing.service.offers import OFFERS_CHANNEL
from switchboard import paging, signals
from switchboard.common.v1 import common_pb2
from switchboard.composition import Runtime
from switchboard.context import Caller
from switchboard.db.tables import outbox
from switchboard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from switchboard.routing.v1 import routing_pb2 as pb
from switchboard.routing.v1 import routing_pb2_grpc, workers_pb2
from switchboard.settings import Settings
from tests.unit.builders import ROUTING_MIGRATIONS, OpenDb, count
from tests.unit.services.routing.api_calls import (
    ALICE,
    BOB,
    PHONE_SYSTEM,
    SOFIA,
    Listening,
    Served,
    acting_as,
    agent,
    call_request,
    put_worker_request,
    served,
)


@pytest.fixture
def runtime(open_db: OpenDb, settings: Settings) -> Runtime:
    return Runtime(settings=settings, db=open_db("routing", ROUTING_MIGRATIONS))


@pytest.fixture
def api(runtime: Runtime) -> RoutingApi:
    return RoutingApi(runtime)


@pytest.fixture
def matcher(runtime: Runtime) -> Iterator[Matcher]:
    matcher = Matcher(runtime)
    yield matcher
    matcher.stop()


@pytest.fixture(autouse=True)
def _as_the_phone_system() -> Iterator[None]:
    with acting_as(PHONE_SYSTEM):
        yield


def _route(matcher: Matcher) -> None:
    """Let the matcher decide on everything changed so far, as its loop would on its next wake."""
    while matcher.step():
        pass


def _available(runtime: Runtime, *worker_ids: str) -> None:
    """Boiler agents who speak German, in the heating team, ready for calls."""
    workers = WorkerApi(runtime)
    for n, worker_id in enumerate(worker_ids, start=1):
        with acting_as(SOFIA):
            workers.PutWorker(put_worker_request(agent(worker_id), key=f"key-worker-{n:04d}"), None)  # type: ignore[arg-type]
        with acting_as(Caller(worker_id, frozenset({"agent"}))):
            request = workers_pb2.SetPresenceRequest(
                idempotency_key=f"key-presence-{n:04d}", presence=workers_pb2.PRESENCE_AVAILABLE
            )
            workers.SetPresence(request, None)  # type: ignore[arg-type]


def _create(api: RoutingApi, key: str = "key-task-0001", **overrides: object) -> pb.Task:
    return api.CreateTask(call_request(key, **overrides), None).task  # type: ignore[arg-type]


def _get(api: RoutingApi, task_id: str) -> pb.GetTaskResponse:
    return api.GetTask(pb.GetTaskRequest(task_id=task_id), None)  # type: ignore[arg-type]


def _list(api: RoutingApi, **request: object) -> pb.ListTasksResponse:
    return api.ListTasks(pb.ListTasksRequest(**request), None)  # type: ignore[arg-type]


def _accept(api: RoutingApi, offer_id: str, key: str = "key-accept-0001") -> pb.AcceptOfferResponse:
    return api.AcceptOffer(pb.AcceptOfferRequest(idempotency_key=key, offer_id=offer_id), None)  # type: ignore[arg-type]


def _reject(api: RoutingApi, offer_id: str, key: str = "key-reject-0001", reason: str = "") -> pb.Offer:
    request = pb.RejectOfferRequest(idempotency_key=key, offer_id=offer_id, reason=reason)
    return api.RejectOffer(request, None).offer  # type: ignore[arg-type]


def _complete(api: RoutingApi, task_id: str, key: str = "key-complete-0001") -> pb.Task:
    return api.CompleteTask(pb.CompleteTaskRequest(idempotency_key=key, task_id=task_id), None).task  # type: ignore[arg-type]


def _cancel(api: RoutingApi, task_id: str, key: str = "key-cancel-0001", reason: str = "") -> pb.Task:
    request = pb.CancelTaskRequest(idempotency_key=key, task_id=task_id, reason=reason)
    return api.CancelTask(request, None).task  # type: ignore[arg-type]


def _offered(api: RoutingApi, task_id: str) -> list[pb.Offer]:
    return [o for o in _get(api, task_id).offers if o.status == pb.OFFER_STATUS_PENDING]


# -- Tasks in and out ----------------------------------------------------------------------------


def test_an_inbound_call_becomes_a_queued_task_with_everything_the_request_said(api: RoutingApi) -> None:
    task = _create(api, last_agent="bob", avoid=["erik", "carl"], ticket_id="T-000042")

    assert (task.customer_id, task.ticket_id, task.status) == ("C-1001", "T-000042", pb.TASK_STATUS_QUEUED)
    assert (task.channel, task.priority, task.tier) == (
        common_pb2.CHANNEL_PHONE,
        common_pb2.PRIORITY_P2,
        common_pb2.CUSTOMER_TIER_GOLD,
    )
    assert [(r.skill, r.min_level) for r in task.requirements] == [("boiler", 3)]
    assert list(task.required_skills) == ["boiler"]
    assert (task.language, task.team, task.last_agent, list(task.avoid)) == ("de", "heating", "bob", ["carl", "erik"])
    assert dict(task.attributes) == {"fault": "F28"}
    assert task.created_at.seconds > 0
    assert not task.HasField("assigned_at")


def test_a_call_that_names_no_priority_or_tier_is_a_p3_standard_task(api: RoutingApi) -> None:
    task = _create(api, priority=common_pb2.PRIORITY_UNSPECIFIED, tier=common_pb2.CUSTOMER_TIER_UNSPECIFIED)

    assert (task.priority, task.tier) == (common_pb2.PRIORITY_P3, common_pb2.CUSTOMER_TIER_STANDARD)


def test_a_retried_create_answers_the_first_task_and_creates_one(api: RoutingApi, runtime: Runtime) -> None:
    first = _create(api)

    retried = _create(api)

    assert retried == first
    assert [t.task_id for t in _list(api).tasks] == [first.task_id]
    assert count(runtime.db, outbox) == 1  # one task.created


def test_a_used_key_for_another_request_is_refused_and_another_caller_may_use_it(api: RoutingApi) -> None:
    _create(api)

    with pytest.raises(AlreadyExists):
        _create(api, customer_id="C-2002")
    with acting_as(ALICE):
        alices = _create(api, customer_id="C-2002")

    assert alices.customer_id == "C-2002"


def test_tasks_page_in_the_order_they_arrived_with_opaque_tokens(api: RoutingApi) -> None:
    created = [_create(api, f"key-task-{n:04d}", customer_id=f"C-{n}") for n in range(1, 6)]

    first = _list(api, page_size=2)
    second = _list(api, page_size=2, page_token=first.next_page_token)
    third = _list(api, page_size=2, page_token=second.next_page_token)

    assert [t.task_id for page in (first, second, third) for t in page.tasks] == [t.task_id for t in created]
    assert [len(page.tasks) for page in (first, second, third)] == [2, 2, 1]
    assert third.next_page_token == ""


def test_tasks_are_listed_by_status(api: RoutingApi) -> None:
    kept = _create(api, "key-task-0001")
    dropped = _create(api, "key-task-0002", customer_id="C-2002")
    _cancel(api, dropped.task_id, reason="caller hung up")

    queued = _list(api, status=pb.TASK_STATUS_QUEUED)
    cancelled = _list(api, status=pb.TASK_STATUS_CANCELLED)

    assert [t.task_id for t in queued.tasks] == [kept.task_id]
    assert [t.task_id for t in cancelled.tasks] == [dropped.task_id]


def test_a_forged_page_token_is_invalid_argument_naming_it(api: RoutingApi) -> None:
    with pytest.raises(InvalidArgument) as refused:
        _list(api, page_token=paging.encode({"after": "1 OR 1=1"}))

    assert [v.field for v in refused.value.violations] == ["page_token"]


def test_a_task_nobody_can_take_says_why_it_waits(api: RoutingApi, matcher: Matcher) -> None:
    task = _create(api)
    _route(matcher)

    waiting = _get(api, task.task_id).waiting

    assert waiting.queue_id == "default"
    assert "boiler" in waiting.explanation
    assert waiting.waited_seconds >= 0
    assert waiting.as_of.seconds > 0


def test_get_of_an_unknown_task_is_not_found(api: RoutingApi) -> None:
    with pytest.raises(NotFound, match="task '0195a0c4-7d1e-7f00-8000-000000000009' does not exist"):
        _get(api, "0195a0c4-7d1e-7f00-8000-000000000009")


def test_a_cancelled_task_withdraws_its_offer(api: RoutingApi, runtime: Runtime, matcher: Matcher) -> None:
    _available(runtime, "alice")
    task = _create(api)
    _route(matcher)

    cancelled = _cancel(api, task.task_id, reason="caller hung up")

    assert cancelled.status == pb.TASK_STATUS_CANCELLED
    assert [(o.worker_id, o.status) for o in _get(api, task.task_id).offers] == [("alice", pb.OFFER_STATUS_WITHDRAWN)]


# -- Offers: accepted, rejected, and the work done ----------------------------------------------


def test_the_offered_agent_accepts_and_the_task_is_theirs(api: RoutingApi, runtime: Runtime, matcher: Matcher) -> None:
    _available(runtime, "alice")
    task = _create(api)
    _route(matcher)
    (offer,) = _offered(api, task.task_id)

    with acting_as(ALICE):
        accepted = _accept(api, offer.offer_id)

    assert (accepted.offer.offer_id, accepted.offer.worker_id, accepted.offer.status) == (
        offer.offer_id,
        "alice",
        pb.OFFER_STATUS_ACCEPTED,
    )
    # What the agent needs at a glance comes with the offer.
    assert (accepted.offer.customer_id, accepted.offer.channel, accepted.offer.priority) == (
        "C-1001",
        common_pb2.CHANNEL_PHONE,
        common_pb2.PRIORITY_P2,
    )
    assert (accepted.task.status, accepted.task.assignee) == (pb.TASK_STATUS_ASSIGNED, "alice")
    assert accepted.task.assigned_at.seconds > 0


def test_the_decision_behind_an_offer_is_readable_with_its_reason(
    api: RoutingApi, runtime: Runtime, matcher: Matcher
) -> None:
    _available(runtime, "alice")
    task = _create(api)
    _route(matcher)

    (decision,) = _get(api, task.task_id).decisions

    assert (decision.queue_id, decision.step, list(decision.offered_to)) == ("default", -1, ["alice"])
    assert decision.rule.startswith("strategy:")
    assert [c.worker_id for c in decision.candidates] == ["alice"]
    assert decision.qualified == 1
    assert decision.explanation


def test_a_retried_acceptance_answers_the_first_result(api: RoutingApi, runtime: Runtime, matcher: Matcher) -> None:
    _available(runtime, "alice")
    task = _create(api)
    _route(matcher)
    (offer,) = _offered(api, task.task_id)

    with acting_as(ALICE):
        first = _accept(api, offer.offer_id)
        retried = _accept(api, offer.offer_id)

    assert retried == first


def test_an_agent_cannot_see_or_accept_another_agents_offer(
    api: RoutingApi, runtime: Runtime, matcher: Matcher
) -> None:
    _available(runtime, "alice")
    task = _create(api)
    _route(matcher)
    (offer,) = _offered(api, task.task_id)

    with acting_as(BOB), pytest.raises(NotFound):
        _accept(api, offer.offer_id)


def test_a_supervisor_accepts_for_the_agent_the_offer_is_for(
    api: RoutingApi, runtime: Runtime, matcher: Matcher
) -> None:
    _available(runtime, "alice")
    task = _create(api)
    _route(matcher)
    (offer,) = _offered(api, task.task_id)

    with acting_as(SOFIA):
        accepted = _accept(api, offer.offer_id)

    assert accepted.task.assignee == "alice"


def test_an_offer_that_was_withdrawn_can_no_longer_be_accepted(
    api: RoutingApi, runtime: Runtime, matcher: Matcher
) -> None:
    _available(runtime, "alice")
    task = _create(api)
    _route(matcher)
    (offer,) = _offered(api, task.task_id)
    _cancel(api, task.task_id)

    with acting_as(ALICE), pytest.raises(FailedPrecondition, match="withdrawn"):
        _accept(api, offer.offer_id)


def test_a_rejected_offer_goes_to_the_next_agent(api: RoutingApi, runtime: Runtime, matcher: Matcher) -> None:
    _available(runtime, "alice", "bob")
    task = _create(api)
    _route(matcher)
    (first,) = _offered(api, task.task_id)
    first_worker = Caller(first.worker_id, frozenset({"agent"}))

    with acting_as(first_worker):
        rejected = _reject(api, first.offer_id, reason="on another call")
    _route(matcher)

    assert (rejected.status, rejected.customer_id, rejected.queue_id) == (pb.OFFER_STATUS_REJECTED, "C-1001", "default")
    (second,) = _offered(api, task.task_id)
    assert {first.worker_id, second.worker_id} == {"alice", "bob"}
    assert first.worker_id in _get(api, task.task_id).task.avoid


def test_the_assignee_completes_the_task_and_another_agent_may_not(
    api: RoutingApi, runtime: Runtime, matcher: Matcher
) -> None:
    _available(runtime, "alice")
    task = _create(api)
    _route(matcher)
    (offer,) = _offered(api, task.task_id)
    with acting_as(ALICE):
        _accept(api, offer.offer_id)

    with acting_as(BOB), pytest.raises(PermissionDenied, match="alice's"):
        _complete(api, task.task_id)
    with acting_as(ALICE):
        done = _complete(api, task.task_id, key="key-complete-0002")

    assert (done.status, done.assignee) == (pb.TASK_STATUS_COMPLETED, "alice")
    assert done.assigned_at.seconds > 0


def test_an_assigned_task_cannot_be_cancelled(api: RoutingApi, runtime: Runtime, matcher: Matcher) -> None:
    _available(runtime, "alice")
    task = _create(api)
    _route(matcher)
    (offer,) = _offered(api, task.task_id)
    with acting_as(ALICE):
        _accept(api, offer.offer_id)

    with pytest.raises(FailedPrecondition, match="complete it instead"):
        _cancel(api, task.task_id)


# -- WatchOffers, served over gRPC with the matcher running ------------------------------------


@pytest.fixture
def server(runtime: Runtime) -> Iterator[Served]:
    with served(runtime) as running:
        yield running


@pytest.fixture
def matching(runtime: Runtime) -> Iterator[Matcher]:
    """The matcher's loop in the background, woken by every change as in the running suite."""
    matcher, stop = Matcher(runtime), threading.Event()
    loop = threading.Thread(target=matcher.run, args=(stop,), name="test-matcher", daemon=True)
    loop.start()
    yield matcher
    stop.set()
    matcher.stop()
    loop.join(5)


def _watch(server: Served, caller: Caller, worker_id: str = "") -> Listening[pb.WatchOffersResponse]:
    stub = routing_pb2_grpc.RoutingServiceStub(server.channel)
    return Listening(stub.WatchOffers(pb.WatchOffersRequest(worker_id=worker_id), metadata=server.as_(caller)))


def _call_in(server: Served, key: str, **overrides: object) -> pb.Task:
    stub = routing_pb2_grpc.RoutingServiceStub(server.channel)
    return stub.CreateTask(call_request(key, **overrides), metadata=server.as_(PHONE_SYSTEM), timeout=10).task


def test_a_console_sees_a_new_offer_within_100_ms_of_its_commit(
    runtime: Runtime, server: Served, matching: Matcher
) -> None:
    _available(runtime, "alice")
    committed: list[float] = []
    unsubscribe = signals.subscribe(
        runtime.db, OFFERS_CHANNEL, lambda worker_id: committed.append(time.monotonic()) if worker_id else None
    )
    # Alice takes three chats at once: the first offer, shown at once, says the stream is listening.
    _call_in(server, "key-task-0001", channel=common_pb2.CHANNEL_CHAT)
    console = _watch(server, ALICE)
    try:
        console.wait_for(1)
        task = _call_in(server, "key-task-0002", channel=common_pb2.CHANNEL_CHAT, customer_id="C-2002")
        message = console.wait_for(2)[1]
    finally:
        console.close()
        unsubscribe()

    assert (message.offer.task_id, message.offer.worker_id, message.offer.status) == (
        task.task_id,
        "alice",
        pb.OFFER_STATUS_PENDING,
    )
    assert console.arrived[1] - committed[-1] < 0.1


def test_a_console_gets_the_pending_offers_at_once_then_how_each_ends(
    api: RoutingApi, runtime: Runtime, server: Served, matching: Matcher
) -> None:
    _available(runtime, "alice")
    first = _call_in(server, "key-task-0001")
    console = _watch(server, ALICE)
    try:
        (pending,) = console.wait_for(1)
        _cancel(api, first.task_id, reason="caller hung up")
        second = _call_in(server, "key-task-0002", customer_id="C-2002")
        received = console.wait_for(3)
    finally:
        console.close()

    assert (pending.offer.task_id, pending.offer.status) == (first.task_id, pb.OFFER_STATUS_PENDING)
    assert [(m.offer.task_id, m.offer.status) for m in received[1:]] == [
        (first.task_id, pb.OFFER_STATUS_WITHDRAWN),
        (second.task_id, pb.OFFER_STATUS_PENDING),
    ]


def test_a_supervisor_watches_any_agents_offers_and_an_agent_only_their_own(
    runtime: Runtime, server: Served, matching: Matcher
) -> None:
    _available(runtime, "alice")
    task = _call_in(server, "key-task-0001")
    supervisor = _watch(server, SOFIA, worker_id="alice")
    colleague = _watch(server, BOB, worker_id="alice")
    try:
        (seen,) = supervisor.wait_for(1)
        with pytest.raises(AssertionError, match="ended after 0"):
            colleague.wait_for(1)
    finally:
        supervisor.close()
        colleague.close()

    assert seen.offer.task_id == task.task_id
    assert colleague.error is not None
    assert colleague.error.code() is grpc.StatusCode.PERMISSION_DENIED


def test_watching_the_offers_of_a_worker_routing_does_not_know_is_not_found(server: Served) -> None:
    console = _watch(server, SOFIA, worker_id="zoe")
    try:
        with pytest.raises(AssertionError, match="ended after 0"):
            console.wait_for(1)
    finally:
        console.close()

    assert console.error is not None
    assert console.error.code() is grpc.StatusCode.NOT_FOUND


def test_offers_carry_their_times(api: RoutingApi, runtime: Runtime, matcher: Matcher) -> None:
    _available(runtime, "alice")
    task = _create(api)
    _route(matcher)

    (offer,) = _offered(api, task.task_id)

    created, expires = offer.created_at.ToDatetime(tzinfo=UTC), offer.expires_at.ToDatetime(tzinfo=UTC)
    assert created <= datetime.now(UTC)
    assert (expires - created).total_seconds() == 30  # the default queue's offer timeout
