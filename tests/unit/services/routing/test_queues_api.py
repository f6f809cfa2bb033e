"""The QueueService servicer: policies in their protobuf form, expressions refused by field, and the live
statistics once (called directly) or as a wallboard's stream (served in-process over gRPC)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime

import grpc
import pytest

from services.routing.api.queues import QueueApi
from services.routing.domain.stats import QueueStats
from services.routing.service.queues import STATS_CHANNEL
from services.routing.store.stats import StatsStore
from switchboard import signals
from switchboard.composition import Runtime
from switchboard.errors import Aborted, InvalidArgument, NotFound
from switchboard.routing.v1 import queues_pb2 as pb
from switchboard.routing.v1 import queues_pb2_grpc, workers_pb2
from switchboard.settings import Settings
from tests.unit.builders import ROUTING_MIGRATIONS, OpenDb
from tests.unit.services.routing.api_calls import ALICE, SOFIA, Listening, Served, acting_as, queue, served

PUBLISHED_AT = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
LATER = datetime(2025, 3, 14, 9, 31, tzinfo=UTC)
LATEST = datetime(2025, 3, 14, 9, 32, tzinfo=UTC)


@pytest.fixture
def runtime(open_db: OpenDb, settings: Settings) -> Runtime:
    return Runtime(settings=settings, db=open_db("routing", ROUTING_MIGRATIONS))


@pytest.fixture
def api(runtime: Runtime) -> QueueApi:
    return QueueApi(runtime)


@pytest.fixture(autouse=True)
def _as_sofia() -> Iterator[None]:
    with acting_as(SOFIA):
        yield


def _put(api: QueueApi, message: pb.Queue, key: str = "key-queue-0001", version: int = 0) -> pb.Queue:
    request = pb.PutQueueRequest(idempotency_key=key, queue=message, expected_version=version)
    return api.PutQueue(request, None).queue  # type: ignore[arg-type]


def _stats(api: QueueApi, queue_id: str = "") -> pb.GetQueueStatsResponse:
    return api.GetQueueStats(pb.GetQueueStatsRequest(queue_id=queue_id), None)  # type: ignore[arg-type]


def _publish(runtime: Runtime, *figures: QueueStats, at: datetime = PUBLISHED_AT) -> None:
    """What the matcher does each second the figures change: store them, and signal the watchers."""
    with runtime.uow() as uow:
        StatsStore(uow.session).put({s.queue_id: asdict(s) for s in figures}, at)
        signals.notify_on_commit(uow, STATS_CHANNEL)
        uow.commit()


def test_a_new_queue_comes_back_as_it_was_sent_at_version_one(api: QueueApi) -> None:
    sent = queue(vip_tiers=["platinum", "gold"], dedicated_target='worker.attributes["desk"] == "vip"')

    put = _put(api, sent)

    expected = pb.Queue()
    expected.CopyFrom(sent)
    # Tiers come back in the order of their enum, however they were written.
    expected.ClearField("vip_tiers")
    expected.vip_tiers.extend(["gold", "platinum"])
    expected.version = 1
    assert put == expected


def test_queues_are_listed_in_the_order_tasks_try_them_with_the_default_last(api: QueueApi) -> None:
    _put(api, queue("heating", order=10), key="key-queue-0001")
    _put(api, queue("emergency", name="Gas and CO", filter="task.priority == 1", order=1), key="key-queue-0002")

    listed = api.ListQueues(pb.ListQueuesRequest(), None).queues  # type: ignore[arg-type]

    assert [q.queue_id for q in listed] == ["emergency", "heating", "default"]


def test_a_retried_put_answers_the_first_result_and_a_stale_version_is_aborted(api: QueueApi) -> None:
    first = _put(api, queue())
    retried = _put(api, queue())

    with pytest.raises(Aborted, match="at version 1, not 2"):
        _put(api, queue(name="Heating"), key="key-queue-0002", version=2)

    assert retried == first


def test_bad_expressions_are_invalid_argument_naming_the_field_that_holds_them(api: QueueApi) -> None:
    broken = queue(
        target="worker.skills['boiler'] >=",
        steps=[
            pb.Step(after_seconds=30, lower_levels_by=1),
            pb.Step(after_seconds=90, target="worker.salary > 3"),
        ],
    )

    with pytest.raises(InvalidArgument) as refused:
        _put(api, broken)

    assert [v.field for v in refused.value.violations] == ["queue.target", "queue.steps[1].target"]


def test_the_figures_the_matcher_published_are_answered_per_queue(api: QueueApi, runtime: Runtime) -> None:
    _put(api, queue())
    _publish(
        runtime,
        QueueStats(
            "heating",
            waiting=3,
            longest_wait_seconds=42.5,
            answered=40,
            average_speed_of_answer_seconds=7.8,
            service_level_percent=88.8,
            abandoned=2,
            agents={"busy": 9, "available": 4, "break": 1},
            occupancy=0.82,
        ),
        QueueStats("default", waiting=0),
    )

    one = _stats(api, "heating")

    assert one.as_of.ToDatetime(tzinfo=UTC) == PUBLISHED_AT
    (heating,) = one.queues
    assert (heating.waiting, heating.longest_wait_seconds, heating.answered, heating.abandoned) == (3, 42.5, 40, 2)
    assert (heating.average_speed_of_answer_seconds, heating.service_level_percent, heating.occupancy) == (
        7.8,
        88.8,
        0.82,
    )
    # Agents by state come in the order of the presence enum.
    assert [(a.presence, a.workers) for a in heating.agents] == [
        (workers_pb2.PRESENCE_AVAILABLE, 4),
        (workers_pb2.PRESENCE_BUSY, 9),
        (workers_pb2.PRESENCE_BREAK, 1),
    ]
    assert [q.queue_id for q in _stats(api).queues] == ["default", "heating"]


def test_the_statistics_of_an_unknown_queue_are_not_found(api: QueueApi) -> None:
    with pytest.raises(NotFound, match="queue 'plumbing' does not exist"):
        _stats(api, "plumbing")


# -- WatchQueueStats, served over gRPC ----------------------------------------------------------


@pytest.fixture
def server(runtime: Runtime) -> Iterator[Served]:
    with served(runtime) as running:
        yield running


def test_a_wallboard_gets_the_figures_at_once_then_each_change_and_never_the_same_twice(
    runtime: Runtime, server: Served
) -> None:
    _publish(runtime, QueueStats("default", waiting=1, longest_wait_seconds=5.0))
    wallboard: Listening[pb.WatchQueueStatsResponse] = Listening(
        queues_pb2_grpc.QueueServiceStub(server.channel).WatchQueueStats(
            pb.WatchQueueStatsRequest(), metadata=server.as_(ALICE), timeout=10
        )
    )
    try:
        wallboard.wait_for(1)
        # The same figures published again at a later time are no news; the stream has time to look.
        _publish(runtime, QueueStats("default", waiting=1, longest_wait_seconds=5.0), at=LATER)
        time.sleep(0.2)
        _publish(runtime, QueueStats("default", waiting=2, longest_wait_seconds=6.0), at=LATEST)
        received = wallboard.wait_for(2)
    finally:
        wallboard.close()

    assert [[(q.queue_id, q.waiting) for q in m.queues] for m in wallboard.received] == [
        [("default", 1)],
        [("default", 2)],
    ]
    assert received[1].as_of.ToDatetime(tzinfo=UTC) == LATEST


def test_watching_an_unknown_queue_ends_the_stream_with_not_found(server: Served) -> None:
    stream = queues_pb2_grpc.QueueServiceStub(server.channel).WatchQueueStats(
        pb.WatchQueueStatsRequest(queue_id="plumbing"), metadata=server.as_(ALICE), timeout=10
    )

    with pytest.raises(grpc.RpcError) as failed:
        list(stream)

    assert failed.value.code() is grpc.StatusCode.NOT_FOUND
