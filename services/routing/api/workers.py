"""The WorkerService servicer: agents' and technicians' profiles, and the presence they set."""

from __future__ import annotations

import grpc

from services.routing.api import convert
from services.routing.api.callers import STAFF
from services.routing.service import workers
from switchboard import paging
from switchboard.composition import Runtime
from switchboard.db.uow import UnitOfWork
from switchboard.routing.v1 import workers_pb2 as pb
from switchboard.routing.v1 import workers_pb2_grpc
from switchboard.rpc.auth import SUPERVISOR
from switchboard.rpc.callers import acting_for, caller_id
from switchboard.rpc.calls import once
from switchboard.rpc.server import ApiBinding
from switchboard.timestamps import moment

PERMISSIONS = {
    "PutWorker": frozenset({SUPERVISOR}),  # and admin, whom the interceptor always lets through
    "GetWorker": STAFF,
    "ListWorkers": STAFF,
    # A worker sets its own presence; another's needs a supervisor (checked per request).
    "SetPresence": STAFF,
}


class WorkerApi(workers_pb2_grpc.WorkerServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def PutWorker(  # noqa: N802 - gRPC method names
        self, request: pb.PutWorkerRequest, ctx: grpc.ServicerContext
    ) -> pb.PutWorkerResponse:
        worker, actor = convert.worker_of(request.worker), caller_id()

        def act(uow: UnitOfWork) -> pb.PutWorkerResponse:
            put = workers.put_worker(uow, worker, expected_version=request.expected_version, actor=actor)
            return pb.PutWorkerResponse(worker=convert.worker_proto(put))

        return once(self.runtime, "PutWorker", request, pb.PutWorkerResponse, act)

    def GetWorker(  # noqa: N802
        self, request: pb.GetWorkerRequest, ctx: grpc.ServicerContext
    ) -> pb.GetWorkerResponse:
        with self.runtime.reader() as uow:
            view = workers.get_worker(uow, request.worker_id)
        return pb.GetWorkerResponse(worker=convert.worker_proto(view))

    def ListWorkers(  # noqa: N802
        self, request: pb.ListWorkersRequest, ctx: grpc.ServicerContext
    ) -> pb.ListWorkersResponse:
        after = paging.text_at(paging.decode(request.page_token, expected={"after"}), "after")
        limit = paging.page_size(request.page_size)
        with self.runtime.reader() as uow:
            # One more than asked tells whether another page follows.
            found = workers.list_workers(
                uow,
                after=after,
                limit=limit + 1,
                team=request.team,
                kind=convert.kind_of(request.kind) if request.kind else None,
                presence=convert.presence_of(request.presence) if request.presence else None,
            )
        page, token = paging.next_page(found, limit, lambda last: {"after": last.worker.worker_id})
        return pb.ListWorkersResponse(workers=[convert.worker_proto(v) for v in page], next_page_token=token)

    def SetPresence(  # noqa: N802
        self, request: pb.SetPresenceRequest, ctx: grpc.ServicerContext
    ) -> pb.SetPresenceResponse:
        worker_id, actor = acting_for(request.worker_id, "set the presence of"), caller_id()
        until = moment(request.until) if request.HasField("until") else None

        def act(uow: UnitOfWork) -> pb.SetPresenceResponse:
            view = workers.set_presence(
                uow,
                worker_id,
                convert.presence_of(request.presence),
                until=until,
                reason=request.reason,
                actor=actor,
            )
            return pb.SetPresenceResponse(worker=convert.worker_proto(view))

        return once(self.runtime, "SetPresence", request, pb.SetPresenceResponse, act)


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=WorkerApi(runtime),
        add_to_server=workers_pb2_grpc.add_WorkerServiceServicer_to_server,
        service_name=pb.DESCRIPTOR.services_by_name["WorkerService"].full_name,
        permissions=PERMISSIONS,
    )
