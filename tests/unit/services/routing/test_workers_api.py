"""The WorkerService servicer, called directly (no server): profiles in their protobuf form, versions,
pages, and who may set whose presence."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from services.routing.api.workers import WorkerApi
from switchboard import paging
from switchboard.composition import Runtime
from switchboard.errors import Aborted, AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from switchboard.routing.v1 import workers_pb2 as pb
from switchboard.settings import Settings
from switchboard.timestamps import timestamp
from tests.unit.builders import ROUTING_MIGRATIONS, OpenDb
from tests.unit.services.routing.api_calls import ALICE, BOB, SOFIA, acting_as, agent, put_worker_request


@pytest.fixture
def api(open_db: OpenDb, settings: Settings) -> WorkerApi:
    return WorkerApi(Runtime(settings=settings, db=open_db("routing", ROUTING_MIGRATIONS)))


@pytest.fixture(autouse=True)
def _as_sofia() -> Iterator[None]:
    with acting_as(SOFIA):
        yield


def _put(api: WorkerApi, worker: pb.Worker, key: str = "key-worker-0001", version: int = 0) -> pb.Worker:
    return api.PutWorker(put_worker_request(worker, key, version), None).worker  # type: ignore[arg-type]


def _get(api: WorkerApi, worker_id: str) -> pb.Worker:
    return api.GetWorker(pb.GetWorkerRequest(worker_id=worker_id), None).worker  # type: ignore[arg-type]


def _list(api: WorkerApi, **request: object) -> pb.ListWorkersResponse:
    return api.ListWorkers(pb.ListWorkersRequest(**request), None)  # type: ignore[arg-type]


def _presence(api: WorkerApi, presence: int, key: str, **request: object) -> pb.Worker:
    message = pb.SetPresenceRequest(idempotency_key=key, presence=presence, **request)  # type: ignore[arg-type]
    return api.SetPresence(message, None).worker  # type: ignore[arg-type]


def _technician() -> pb.Worker:
    return pb.Worker(
        worker_id="tom",
        name="Tom Berger",
        kind=pb.WORKER_KIND_TECHNICIAN,
        skills=[pb.Skill(name="boiler", level=5), pb.Skill(name="gas-safe", level=3)],
        languages=["de"],
        teams=["field-north"],
        capacity=[pb.ChannelCapacity(channel="field", capacity=1)],
        hours=pb.WorkingHours(
            time_zone="Europe/Berlin",
            shifts=[pb.Shift(weekday=0, start="07:00", end="15:30"), pb.Shift(weekday=5, start="18:00", end="24:00")],
        ),
        attributes={"van": "VW-Crafter-12"},
        base_latitude=53.5511,
        base_longitude=9.9937,
        territory="hamburg",
        van_stock=[pb.StockItem(sku="PUMP-UPS2", quantity=2), pb.StockItem(sku="IGN-ELEC-7", quantity=5)],
    )


def test_a_new_worker_comes_back_as_it_was_sent_offline_at_version_one(api: WorkerApi) -> None:
    sent = _technician()

    put = _put(api, sent)

    assert (put.presence, put.version) == (pb.PRESENCE_OFFLINE, 1)
    assert [(c.channel, c.capacity) for c in put.load] == [("field", 0)]
    expected = pb.Worker()
    expected.CopyFrom(sent)
    # Sets and mappings come back ordered by name, whatever order they were sent in.
    expected.ClearField("van_stock")
    expected.van_stock.extend([pb.StockItem(sku="IGN-ELEC-7", quantity=5), pb.StockItem(sku="PUMP-UPS2", quantity=2)])
    expected.presence, expected.version = pb.PRESENCE_OFFLINE, 1
    expected.load.extend(put.load)
    assert put == expected
    assert _get(api, "tom") == put


def test_a_retried_put_answers_the_first_result_and_stores_one_version(api: WorkerApi) -> None:
    first = _put(api, agent("alice"))

    retried = _put(api, agent("alice"))

    assert retried == first
    assert _get(api, "alice").version == 1


def test_a_new_key_for_a_worker_that_exists_is_already_exists(api: WorkerApi) -> None:
    _put(api, agent("alice"))

    with pytest.raises(AlreadyExists, match="pass the version you read"):
        _put(api, agent("alice", name="Alice B."), key="key-worker-0002")


def test_a_change_names_the_version_it_replaces_and_a_stale_one_is_aborted(api: WorkerApi) -> None:
    _put(api, agent("alice"))
    changed = _put(api, agent("alice", teams=["heating", "billing"]), key="key-worker-0002", version=1)

    with pytest.raises(Aborted, match="at version 2, not 1"):
        _put(api, agent("alice", teams=["general"]), key="key-worker-0003", version=1)

    assert (list(changed.teams), changed.version) == (["billing", "heating"], 2)


def test_an_unknown_time_zone_is_invalid_argument_naming_the_field(api: WorkerApi) -> None:
    with pytest.raises(InvalidArgument) as refused:
        _put(api, agent("alice", hours=pb.WorkingHours(time_zone="Europe/Hamburg")))

    assert [v.field for v in refused.value.violations] == ["worker.hours.time_zone"]


def test_a_shift_ending_after_midnight_written_as_24_30_is_invalid_argument_naming_the_shift(api: WorkerApi) -> None:
    hours = pb.WorkingHours(time_zone="Europe/Berlin", shifts=[pb.Shift(weekday=4, start="20:00", end="24:30")])

    with pytest.raises(InvalidArgument) as refused:
        _put(api, agent("alice", hours=hours))

    assert [v.field for v in refused.value.violations] == ["worker.hours.shifts[0].end"]


def test_get_of_an_unknown_worker_is_not_found(api: WorkerApi) -> None:
    with pytest.raises(NotFound, match="worker 'zoe' does not exist"):
        _get(api, "zoe")


def test_workers_page_by_id_with_opaque_tokens(api: WorkerApi) -> None:
    for n, worker_id in enumerate(["dora", "alice", "erik", "carl", "bob"], start=1):
        _put(api, agent(worker_id), key=f"key-worker-{n:04d}")

    first = _list(api, page_size=2)
    second = _list(api, page_size=2, page_token=first.next_page_token)
    third = _list(api, page_size=2, page_token=second.next_page_token)

    assert [[w.worker_id for w in page.workers] for page in (first, second, third)] == [
        ["alice", "bob"],
        ["carl", "dora"],
        ["erik"],
    ]
    assert third.next_page_token == ""


def test_a_token_list_workers_did_not_return_is_invalid_argument_naming_it(api: WorkerApi) -> None:
    with pytest.raises(InvalidArgument) as refused:
        _list(api, page_token=paging.encode({"after": 7}))

    assert [v.field for v in refused.value.violations] == ["page_token"]


def test_workers_are_listed_by_kind_and_by_presence(api: WorkerApi) -> None:
    _put(api, agent("alice"), key="key-worker-0001")
    _put(api, agent("bob"), key="key-worker-0002")
    _put(api, _technician(), key="key-worker-0003")
    with acting_as(BOB):
        _presence(api, pb.PRESENCE_AVAILABLE, "key-presence-0001")

    technicians = _list(api, kind=pb.WORKER_KIND_TECHNICIAN)
    available = _list(api, presence=pb.PRESENCE_AVAILABLE)

    assert [w.worker_id for w in technicians.workers] == ["tom"]
    assert [w.worker_id for w in available.workers] == ["bob"]


def test_a_worker_sets_its_own_presence_with_when_it_ends(api: WorkerApi) -> None:
    _put(api, agent("alice"))
    back = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=15)

    with acting_as(ALICE):
        on_break = _presence(api, pb.PRESENCE_BREAK, "key-presence-0001", until=timestamp(back), reason="lunch")

    assert (on_break.worker_id, on_break.presence) == ("alice", pb.PRESENCE_BREAK)
    assert on_break.presence_until.ToDatetime(tzinfo=UTC) == back


def test_an_agent_may_not_set_another_workers_presence(api: WorkerApi) -> None:
    _put(api, agent("bob"))

    with acting_as(ALICE), pytest.raises(PermissionDenied, match="alice may not set the presence of bob"):
        _presence(api, pb.PRESENCE_OFFLINE, "key-presence-0001", worker_id="bob")

    assert _get(api, "bob").presence == pb.PRESENCE_OFFLINE


def test_a_supervisor_sets_anyones_presence(api: WorkerApi) -> None:
    _put(api, agent("bob"))

    bob = _presence(api, pb.PRESENCE_AVAILABLE, "key-presence-0001", worker_id="bob")

    assert bob.presence == pb.PRESENCE_AVAILABLE


def test_a_presence_ending_in_the_past_is_invalid_argument_naming_until(api: WorkerApi) -> None:
    _put(api, agent("alice"))
    earlier = datetime.now(UTC) - timedelta(minutes=5)

    with acting_as(ALICE), pytest.raises(InvalidArgument) as refused:
        _presence(api, pb.PRESENCE_BREAK, "key-presence-0001", until=timestamp(earlier))

    assert [v.field for v in refused.value.violations] == ["until"]


def test_a_skill_given_twice_is_invalid_argument_naming_the_second(api: WorkerApi) -> None:
    twice = agent("alice", skills=[pb.Skill(name="boiler", level=4), pb.Skill(name="boiler", level=2)])

    with pytest.raises(InvalidArgument) as refused:
        _put(api, twice)

    assert [v.field for v in refused.value.violations] == ["worker.skills[1]"]
