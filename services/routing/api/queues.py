"""The QueueService servicer: queues and their policies, and their live statistics, once or as a stream."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import grpc

from services.routing.api import convert
from services.routing.api.callers import STAFF
from services.routing.service import queues
from switchboard.composition import Runtime
from switchboard.db.uow import UnitOfWork
from switchboard.routing.v1 import queues_pb2 as pb
from switchboard.routing.v1 import queues_pb2_grpc
from switchboard.rpc.auth import SUPERVISOR
from switchboard.rpc.callers import caller_id
from switchboard.rpc.calls import once
from switchboard.rpc.server import ApiBinding
from switchboard.rpc.streams import Looks
from switchboard.timestamps import timestamp

PERMISSIONS = {
    "PutQueue": frozenset({SUPERVISOR}),  # and admin, whom the interceptor always lets through
    "ListQueues": STAFF,
    "GetQueueStats": STAFF,
    "WatchQueueStats": STAFF,
}


class QueueApi(queues_pb2_grpc.QueueServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def PutQueue(  # noqa: N802 - gRPC method names
        self, request: pb.PutQueueRequest, ctx: grpc.ServicerContext
    ) -> pb.PutQueueResponse:
        queue, actor = convert.queue_of(request.queue), caller_id()

        def act(uow: UnitOfWork) -> pb.PutQueueResponse:
            put = queues.put_queue(uow, queue, expected_version=request.expected_version, actor=actor)
            return pb.PutQueueResponse(queue=convert.queue_proto(put))

        return once(self.runtime, "PutQueue", request, pb.PutQueueResponse, act)

    def ListQueues(  # noqa: N802
        self, request: pb.ListQueuesRequest, ctx: grpc.ServicerContext
    ) -> pb.ListQueuesResponse:
        with self.runtime.reader() as uow:
            found = queues.list_queues(uow)
        return pb.ListQueuesResponse(queues=[convert.queue_proto(q) for q in found])

    def GetQueueStats(  # noqa: N802
        self, request: pb.GetQueueStatsRequest, ctx: grpc.ServicerContext
    ) -> pb.GetQueueStatsResponse:
        queue_stats, as_of = self._stats(request.queue_id)
        return pb.GetQueueStatsResponse(queues=queue_stats, as_of=timestamp(as_of))

    def WatchQueueStats(  # noqa: N802
        self, request: pb.WatchQueueStatsRequest, ctx: grpc.ServicerContext
    ) -> Iterator[pb.WatchQueueStatsResponse]:
        with Looks(self.runtime.db, queues.STATS_CHANNEL, ctx) as looks:
            shown: list[pb.QueueStats] | None = None
            for _ in looks:
                queue_stats, as_of = self._stats(request.queue_id)
                # A wallboard wants changes, not the same figures again with a newer time.
                if queue_stats != shown:
                    shown = queue_stats
                    yield pb.WatchQueueStatsResponse(queues=queue_stats, as_of=timestamp(as_of))

    def _stats(self, queue_id: str) -> tuple[list[pb.QueueStats], datetime]:
        with self.runtime.reader() as uow:
            found, as_of = queues.queue_stats(uow, queue_id)
        return [convert.stats_proto(s) for s in found], as_of


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=QueueApi(runtime),
        add_to_server=queues_pb2_grpc.add_QueueServiceServicer_to_server,
        service_name=pb.DESCRIPTOR.services_by_name["QueueService"].full_name,
        permissions=PERMISSIONS,
    )
