"""Routing's four gRPC services as the chassis serves them: every method has a rule of who may call it,
a forbidden role is PERMISSION_DENIED and a malformed request INVALID_ARGUMENT naming the field, before
any work; served in-process over gRPC on a localhost port."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.routing import api
from switchboard.common.v1 import common_pb2
from switchboard.composition import Runtime
from switchboard.routing.v1 import (
    dispatch_pb2,
    queues_pb2,
    queues_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
    workers_pb2,
    workers_pb2_grpc,
)
from switchboard.settings import Settings
from tests.unit.builders import ROUTING_MIGRATIONS, OpenDb
from tests.unit.services.routing.api_calls import (
    ALICE,
    PHONE_SYSTEM,
    SOFIA,
    TOM,
    Served,
    agent,
    call_request,
    put_worker_request,
    queue,
    served,
)

PROTOS = {
    "RoutingService": routing_pb2,
    "WorkerService": workers_pb2,
    "QueueService": queues_pb2,
    "DispatchService": dispatch_pb2,
}


@pytest.fixture
def runtime(open_db: OpenDb, settings: Settings) -> Runtime:
    return Runtime(settings=settings, db=open_db("routing", ROUTING_MIGRATIONS))


@pytest.fixture
def server(runtime: Runtime) -> Iterator[Served]:
    with served(runtime) as running:
        yield running


def _who_may(runtime: Runtime) -> dict[str, dict[str, set[str]]]:
    return {
        b.service_name.rpartition(".")[2]: {method: set(roles) for method, roles in b.permissions.items()}
        for b in api.bindings(runtime)
    }


def _violations(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    request = error_details_pb2.BadRequest()
    (detail,) = status.details
    detail.Unpack(request)
    return [v.field for v in request.field_violations]


def test_every_method_the_protos_declare_is_served_with_a_rule_of_who_may_call_it(runtime: Runtime) -> None:
    served_methods = {service: set(methods) for service, methods in _who_may(runtime).items()}

    declared = {
        service: {m.name for m in module.DESCRIPTOR.services_by_name[service].methods}
        for service, module in PROTOS.items()
    }

    assert served_methods == declared


def test_supervisors_configure_workers_and_queues_and_plan_days(runtime: Runtime) -> None:
    rules = _who_may(runtime)

    configure = [
        rules["WorkerService"]["PutWorker"],
        rules["QueueService"]["PutQueue"],
        rules["DispatchService"]["PlanDay"],
    ]

    # Admins are let through every door by the interceptor itself.
    assert configure == [{"supervisor"}] * 3


def test_workers_act_on_their_own_offers_and_tasks_and_requesters_open_and_cancel_tasks(runtime: Runtime) -> None:
    routing = _who_may(runtime)["RoutingService"]

    assert {m: routing[m] for m in ("AcceptOffer", "RejectOffer", "WatchOffers", "CompleteTask")} == {
        m: {"agent", "technician", "supervisor"} for m in ("AcceptOffer", "RejectOffer", "WatchOffers", "CompleteTask")
    }
    assert routing["CreateTask"] == routing["CancelTask"] == {"agent", "supervisor", "integration"}


def test_everyone_who_works_the_queues_reads_and_other_systems_do_not(runtime: Runtime) -> None:
    rules = _who_may(runtime)
    reads = [
        ("RoutingService", "GetTask"),
        ("RoutingService", "ListTasks"),
        ("WorkerService", "GetWorker"),
        ("WorkerService", "ListWorkers"),
        ("QueueService", "ListQueues"),
        ("QueueService", "GetQueueStats"),
        ("QueueService", "WatchQueueStats"),
        ("DispatchService", "RecommendTechnicians"),
        ("DispatchService", "GetPlan"),
    ]

    assert [rules[service][method] for service, method in reads] == [{"agent", "technician", "supervisor"}] * len(reads)


def test_an_agent_may_not_change_a_queue(server: Served) -> None:
    request = queues_pb2.PutQueueRequest(idempotency_key="key-queue-0001", queue=queue())

    with pytest.raises(grpc.RpcError) as refused:
        queues_pb2_grpc.QueueServiceStub(server.channel).PutQueue(request, metadata=server.as_(ALICE), timeout=10)

    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "alice (roles: agent) may not call /switchboard.routing.v1.QueueService/PutQueue" in str(
        refused.value.details()
    )


def test_a_technician_may_not_open_a_task_nor_another_system_read_workers(server: Served) -> None:
    routing = routing_pb2_grpc.RoutingServiceStub(server.channel)
    workers = workers_pb2_grpc.WorkerServiceStub(server.channel)

    with pytest.raises(grpc.RpcError) as technician:
        routing.CreateTask(call_request(), metadata=server.as_(TOM), timeout=10)
    with pytest.raises(grpc.RpcError) as integration:
        workers.ListWorkers(workers_pb2.ListWorkersRequest(), metadata=server.as_(PHONE_SYSTEM), timeout=10)

    assert technician.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert integration.value.code() is grpc.StatusCode.PERMISSION_DENIED


def test_a_malformed_task_is_invalid_argument_naming_every_field_before_any_work(server: Served) -> None:
    routing = routing_pb2_grpc.RoutingServiceStub(server.channel)
    request = call_request(
        idempotency_key="short",
        customer_id="",
        channel=common_pb2.CHANNEL_UNSPECIFIED,
        requirements=[routing_pb2.Requirement(skill="Boiler Repair", min_level=7)],
        language="deutsch!",
    )

    with pytest.raises(grpc.RpcError) as refused:
        routing.CreateTask(request, metadata=server.as_(PHONE_SYSTEM), timeout=10)

    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert set(_violations(refused.value)) == {
        "idempotency_key",
        "customer_id",
        "channel",
        "requirements[0].skill",
        "requirements[0].min_level",
        "language",
    }
    listed = routing.ListTasks(routing_pb2.ListTasksRequest(), metadata=server.as_(ALICE), timeout=10)
    assert list(listed.tasks) == []


def test_a_worker_profile_the_service_refuses_is_invalid_argument_naming_its_field(server: Served) -> None:
    workers = workers_pb2_grpc.WorkerServiceStub(server.channel)
    bad_zone = agent("alice", hours=workers_pb2.WorkingHours(time_zone="Mars/Olympus_Mons"))
    bad_level = agent("bob", skills=[workers_pb2.Skill(name="boiler", level=9)])

    with pytest.raises(grpc.RpcError) as zone:
        workers.PutWorker(put_worker_request(bad_zone), metadata=server.as_(SOFIA), timeout=10)
    with pytest.raises(grpc.RpcError) as level:
        workers.PutWorker(put_worker_request(bad_level, key="key-worker-0002"), metadata=server.as_(SOFIA), timeout=10)

    assert _violations(zone.value) == ["worker.hours.time_zone"]
    assert _violations(level.value) == ["worker.skills[0].level"]


def test_a_supervisor_sets_up_a_queue_and_an_agent_reads_it(server: Served) -> None:
    queues = queues_pb2_grpc.QueueServiceStub(server.channel)

    put = queues.PutQueue(
        queues_pb2.PutQueueRequest(idempotency_key="key-queue-0001", queue=queue()),
        metadata=server.as_(SOFIA),
        timeout=10,
    )
    listed = queues.ListQueues(queues_pb2.ListQueuesRequest(), metadata=server.as_(ALICE), timeout=10)

    assert put.queue.version == 1
    assert [q.queue_id for q in listed.queues] == ["heating", "default"]
