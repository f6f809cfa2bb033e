"""The DispatchService servicer: technicians recommended for a work order, and the day's plan of visits."""

from __future__ import annotations

from datetime import date

import grpc

from services.routing.api import convert
from services.routing.api.callers import STAFF
from services.routing.service import dispatch
from switchboard.composition import Runtime
from switchboard.db.uow import UnitOfWork
from switchboard.errors import FieldViolation, InvalidArgument
from switchboard.routing.v1 import dispatch_pb2 as pb
from switchboard.routing.v1 import dispatch_pb2_grpc
from switchboard.rpc.auth import SUPERVISOR
from switchboard.rpc.callers import caller_id
from switchboard.rpc.calls import once
from switchboard.rpc.server import ApiBinding

PERMISSIONS = {
    "RecommendTechnicians": STAFF,
    "PlanDay": frozenset({SUPERVISOR}),  # and admin, whom the interceptor always lets through
    "GetPlan": STAFF,
}

DEFAULT_RECOMMENDATIONS = 5
DEFAULT_TIME_LIMIT_SECONDS = 2.0


def _day(text: str) -> date:
    # The declared pattern admits 2025-02-30; the calendar does not.
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument([FieldViolation("day", f"{text!r} is not a day of the calendar")]) from None


class DispatchApi(dispatch_pb2_grpc.DispatchServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def RecommendTechnicians(  # noqa: N802 - gRPC method names
        self, request: pb.RecommendTechniciansRequest, ctx: grpc.ServicerContext
    ) -> pb.RecommendTechniciansResponse:
        with self.runtime.reader() as uow:
            found = dispatch.recommend(uow, request.work_order_id, limit=request.limit or DEFAULT_RECOMMENDATIONS)
        return pb.RecommendTechniciansResponse(recommendations=[convert.recommendation_proto(r) for r in found])

    def PlanDay(  # noqa: N802
        self, request: pb.PlanDayRequest, ctx: grpc.ServicerContext
    ) -> pb.PlanDayResponse:
        day, trigger = _day(request.day), f"requested by {caller_id()}"

        def act(uow: UnitOfWork) -> pb.PlanDayResponse:
            plan = dispatch.plan_day(
                uow,
                day,
                territory=request.territory,
                time_limit_seconds=request.time_limit_seconds or DEFAULT_TIME_LIMIT_SECONDS,
                trigger=trigger,
            )
            return pb.PlanDayResponse(plan=convert.plan_proto(plan))

        return once(self.runtime, "PlanDay", request, pb.PlanDayResponse, act)

    def GetPlan(  # noqa: N802
        self, request: pb.GetPlanRequest, ctx: grpc.ServicerContext
    ) -> pb.GetPlanResponse:
        day = _day(request.day)
        with self.runtime.reader() as uow:
            plan = dispatch.get_plan(uow, day, territory=request.territory)
        return pb.GetPlanResponse(plan=convert.plan_proto(plan))


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=DispatchApi(runtime),
        add_to_server=dispatch_pb2_grpc.add_DispatchServiceServicer_to_server,
        service_name=pb.DESCRIPTOR.services_by_name["DispatchService"].full_name,
        permissions=PERMISSIONS,
    )
