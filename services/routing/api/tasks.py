"""The RoutingService servicer: tasks, the offers of them, and the stream of a worker's offers.

Roles are checked twice: by the chassis's interceptor (PERMISSIONS, before any work) and here or in
the use cases for what depends on the request: a worker accepts, rejects, watches and completes its
own offers and tasks; a supervisor (or an admin) may act for anyone.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from services.routing.api import convert
from services.routing.api.callers import STAFF
from services.routing.service import offers, tasks, workers
from services.routing.service.views import OfferView
from switchboard import paging
from switchboard.composition import Runtime
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.ids import new_id
from switchboard.routing.v1 import routing_pb2 as pb
from switchboard.routing.v1 import routing_pb2_grpc
from switchboard.rpc.auth import AGENT, INTEGRATION, SUPERVISOR
from switchboard.rpc.callers import acting_for, caller_id, oversees
from switchboard.rpc.calls import once
from switchboard.rpc.server import ApiBinding
from switchboard.rpc.streams import Looks

# Staff read, and act on their own offers and tasks (a supervisor on anyone's, checked per request).
_REQUESTERS = frozenset({AGENT, SUPERVISOR, INTEGRATION})
PERMISSIONS = {
    "CreateTask": _REQUESTERS,
    "GetTask": STAFF,
    "ListTasks": STAFF,
    "CancelTask": _REQUESTERS,
    "CompleteTask": STAFF,
    "AcceptOffer": STAFF,
    "RejectOffer": STAFF,
    "WatchOffers": STAFF,
}


class RoutingApi(routing_pb2_grpc.RoutingServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def CreateTask(  # noqa: N802 - gRPC method names
        self, request: pb.CreateTaskRequest, ctx: grpc.ServicerContext
    ) -> pb.CreateTaskResponse:
        task = convert.task_of(request, task_id=new_id(), created_at=utcnow())
        return once(
            self.runtime,
            "CreateTask",
            request,
            pb.CreateTaskResponse,
            lambda uow: pb.CreateTaskResponse(task=convert.task_proto(tasks.create_task(uow, task, origin="api"))),
        )

    def GetTask(  # noqa: N802
        self, request: pb.GetTaskRequest, ctx: grpc.ServicerContext
    ) -> pb.GetTaskResponse:
        as_of = utcnow()
        with self.runtime.reader() as uow:
            view = tasks.get_task(uow, request.task_id)
        return convert.task_view_proto(view, as_of)

    def ListTasks(  # noqa: N802
        self, request: pb.ListTasksRequest, ctx: grpc.ServicerContext
    ) -> pb.ListTasksResponse:
        position = paging.decode(request.page_token, expected={"after"})
        limit = paging.page_size(request.page_size)
        with self.runtime.reader() as uow:
            # One more than asked tells whether another page follows.
            found = tasks.list_tasks(
                uow,
                after_seq=paging.integer_at(position, "after"),
                limit=limit + 1,
                ticket_id=request.ticket_id,
                status=convert.task_status_of(request.status) if request.status else None,
            )
        page, token = paging.next_page(found, limit, lambda last: {"after": last.seq})
        return pb.ListTasksResponse(tasks=[convert.task_proto(t) for t in page], next_page_token=token)

    def CancelTask(  # noqa: N802
        self, request: pb.CancelTaskRequest, ctx: grpc.ServicerContext
    ) -> pb.CancelTaskResponse:
        actor = caller_id()

        def act(uow: UnitOfWork) -> pb.CancelTaskResponse:
            cancelled = tasks.cancel_task(uow, request.task_id, reason=request.reason, actor=actor)
            return pb.CancelTaskResponse(task=convert.task_proto(cancelled))

        return once(self.runtime, "CancelTask", request, pb.CancelTaskResponse, act)

    def CompleteTask(  # noqa: N802
        self, request: pb.CompleteTaskRequest, ctx: grpc.ServicerContext
    ) -> pb.CompleteTaskResponse:
        actor, supervisor = caller_id(), oversees()

        def act(uow: UnitOfWork) -> pb.CompleteTaskResponse:
            done = tasks.complete_task(uow, request.task_id, actor=actor, supervisor=supervisor)
            return pb.CompleteTaskResponse(task=_task_message(uow, done.task_id))

        return once(self.runtime, "CompleteTask", request, pb.CompleteTaskResponse, act)

    def AcceptOffer(  # noqa: N802
        self, request: pb.AcceptOfferRequest, ctx: grpc.ServicerContext
    ) -> pb.AcceptOfferResponse:
        worker_id, supervisor = caller_id(), oversees()

        def act(uow: UnitOfWork) -> pb.AcceptOfferResponse:
            offer, task = offers.accept_offer(uow, request.offer_id, worker_id=worker_id, supervisor=supervisor)
            return pb.AcceptOfferResponse(offer=convert.offer_proto(offer, task), task=_task_message(uow, task.task_id))

        return once(self.runtime, "AcceptOffer", request, pb.AcceptOfferResponse, act)

    def RejectOffer(  # noqa: N802
        self, request: pb.RejectOfferRequest, ctx: grpc.ServicerContext
    ) -> pb.RejectOfferResponse:
        worker_id, supervisor = caller_id(), oversees()

        def act(uow: UnitOfWork) -> pb.RejectOfferResponse:
            offer = offers.reject_offer(
                uow, request.offer_id, worker_id=worker_id, reason=request.reason, supervisor=supervisor
            )
            return pb.RejectOfferResponse(offer=convert.offer_proto(offer, tasks.get_task(uow, offer.task_id).task))

        return once(self.runtime, "RejectOffer", request, pb.RejectOfferResponse, act)

    def WatchOffers(  # noqa: N802
        self, request: pb.WatchOffersRequest, ctx: grpc.ServicerContext
    ) -> Iterator[pb.WatchOffersResponse]:
        worker_id = acting_for(request.worker_id, "watch the offers of")
        with self.runtime.reader() as uow:
            workers.get_worker(uow, worker_id)  # a mistyped worker is NOT_FOUND, not a stream that stays silent

        def concerns(payload: str) -> bool:
            # An empty payload names no worker (signals missed while nobody listened): it concerns everyone.
            return payload in ("", worker_id)

        with Looks(self.runtime.db, offers.OFFERS_CHANNEL, ctx, concerns) as looks:
            shown: set[str] = set()  # the offers this stream has shown as pending and still are
            for _ in looks:
                with self.runtime.reader() as uow:
                    pending = offers.offers_for(uow, worker_id)
                    gone = shown - {view.offer.offer_id for view in pending}
                    ended = _ended(uow, worker_id, gone) if gone else []
                new = [view for view in pending if view.offer.offer_id not in shown]
                shown = (shown - gone) | {view.offer.offer_id for view in new}
                for view in [*ended, *new]:
                    yield pb.WatchOffersResponse(offer=convert.offer_view_proto(view))


def _ended(uow: UnitOfWork, worker_id: str, gone: set[str]) -> list[OfferView]:
    """How the offers shown as pending that no longer are ended: accepted, rejected, expired or withdrawn.

    Read only on a change, so an idle stream costs one small query a second. One that ended so long ago
    that it is no longer among the worker's recent offers has nothing left to say. An offer made and
    closed between two looks is never shown: there was nothing the worker could have done with it.
    """
    return [view for view in offers.offers_for(uow, worker_id, pending_only=False) if view.offer.offer_id in gone]


def _task_message(uow: UnitOfWork, task_id: str) -> pb.Task:
    view = tasks.get_task(uow, task_id)
    return convert.task_proto(view.task, view.assigned_at)


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=RoutingApi(runtime),
        add_to_server=routing_pb2_grpc.add_RoutingServiceServicer_to_server,
        service_name=pb.DESCRIPTOR.services_by_name["RoutingService"].full_name,
        permissions=PERMISSIONS,
    )
