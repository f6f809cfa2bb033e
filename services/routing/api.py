"""Routing's gRPC servicer."""

from __future__ import annotations

import grpc

from services.routing import service
from services.routing.domain.tasks import Task
from switchboard import paging
from switchboard.composition import Runtime
from switchboard.routing.v1 import routing_pb2, routing_pb2_grpc
from switchboard.rpc.auth import AGENT, SUPERVISOR
from switchboard.rpc.server import ApiBinding
from switchboard.timestamps import timestamp

PERMISSIONS = {"ListTasks": frozenset({AGENT, SUPERVISOR})}


def to_proto(task: Task) -> routing_pb2.Task:
    return routing_pb2.Task(
        task_id=task.task_id,
        ticket_id=task.ticket_id,
        customer_id=task.customer_id,
        priority=task.priority,  # type: ignore[arg-type]
        required_skills=task.required_skills,
        language=task.language,
        status=routing_pb2.TaskStatus.Value(f"TASK_STATUS_{task.status.value.upper()}"),
        created_at=timestamp(task.created_at),
    )


class RoutingApi(routing_pb2_grpc.RoutingServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def ListTasks(  # noqa: N802 - gRPC method names
        self, request: routing_pb2.ListTasksRequest, ctx: grpc.ServicerContext
    ) -> routing_pb2.ListTasksResponse:
        position = paging.decode(request.page_token, expected={"after"})
        limit = paging.page_size(request.page_size)
        with self.runtime.reader() as uow:
            # One more than asked tells whether another page follows.
            found = service.list_tasks(
                uow, after_seq=paging.integer_at(position, "after"), limit=limit + 1, ticket_id=request.ticket_id
            )
        page, token = paging.next_page(found, limit, lambda last: {"after": last.seq})
        return routing_pb2.ListTasksResponse(tasks=[to_proto(t) for t in page], next_page_token=token)


def bindings(runtime: Runtime) -> list[ApiBinding]:
    return [
        ApiBinding(
            servicer=RoutingApi(runtime),
            add_to_server=routing_pb2_grpc.add_RoutingServiceServicer_to_server,
            service_name=routing_pb2.DESCRIPTOR.services_by_name["RoutingService"].full_name,
            permissions=PERMISSIONS,
        )
    ]
