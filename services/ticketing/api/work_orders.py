"""The WorkOrderService servicer: work orders, the parts catalogue and stock.

Roles are checked twice: here (PERMISSIONS, by the chassis's interceptor, before any work) and
by the use cases (a technician changes only its own work orders). A technician asking for another
technician's work order gets NOT_FOUND, the same answer as for one that does not exist, so it
cannot learn which work orders others have.
"""

from __future__ import annotations

from datetime import datetime

import grpc

from services.ticketing.api.callers import current_actor, once
from services.ticketing.domain.parts import LocationKind, Part, PartLine, PartUse, StockLevel, StockLocation
from services.ticketing.domain.work_orders import NewWorkOrder, WorkOrderStatus, WorkOrderSummary
from services.ticketing.service import work_orders as service
from services.ticketing.service.work_orders import WorkOrderView
from services.ticketing.store.work_orders import WorkOrderFilter
from switchboard import paging
from switchboard.composition import Runtime
from switchboard.db.uow import UnitOfWork
from switchboard.rpc.auth import AGENT, SUPERVISOR, TECHNICIAN
from switchboard.rpc.server import ApiBinding
from switchboard.ticketing.v1 import ticketing_pb2, work_orders_pb2, work_orders_pb2_grpc
from switchboard.timestamps import moment, timestamp

_DESK = frozenset({AGENT, SUPERVISOR})
_FIELD = frozenset({TECHNICIAN, SUPERVISOR})
_EVERYONE = frozenset({AGENT, SUPERVISOR, TECHNICIAN})
_STOCK_KEEPERS = frozenset({SUPERVISOR})  # and admin, whom the interceptor always lets through

PERMISSIONS = {
    "CreateWorkOrder": _DESK,
    "ScheduleWorkOrder": _DESK,
    "TransitionWorkOrder": _FIELD,
    "LogLabour": _FIELD,
    "RecordPartsUsed": _FIELD,
    "RecordSignOff": _FIELD,
    "CompleteWorkOrder": _FIELD,
    "CancelWorkOrder": _DESK,
    "GetWorkOrder": _EVERYONE,
    "ListWorkOrders": _EVERYONE,
    "PutPart": _STOCK_KEEPERS,
    "ListParts": _EVERYONE,
    "PutStockLocation": _STOCK_KEEPERS,
    "ListStockLocations": _EVERYONE,
    "AdjustStock": _STOCK_KEEPERS,
    "ListStock": _EVERYONE,
}

_STATUS_PREFIX = "WORK_ORDER_STATUS_"


def status_value(status: WorkOrderStatus) -> work_orders_pb2.WorkOrderStatus.ValueType:
    return work_orders_pb2.WorkOrderStatus.Value(_STATUS_PREFIX + status.value.upper())


def status_of(value: work_orders_pb2.WorkOrderStatus.ValueType) -> WorkOrderStatus:
    return WorkOrderStatus(work_orders_pb2.WorkOrderStatus.Name(value).removeprefix(_STATUS_PREFIX).lower())


def summary_proto(summary: WorkOrderSummary) -> ticketing_pb2.WorkOrderSummary:
    """A work order as GetTicket lists it (ticketing.v1.WorkOrderSummary)."""
    return ticketing_pb2.WorkOrderSummary(
        work_order_id=summary.work_order_id,
        status=summary.status.value,
        technician_id=summary.technician_id,
        window_start=timestamp(summary.window_start),
        window_end=timestamp(summary.window_end),
    )


def to_proto(view: WorkOrderView) -> work_orders_pb2.WorkOrder:
    w = view.work_order
    message = work_orders_pb2.WorkOrder(
        work_order_id=w.work_order_id,
        ticket_id=w.ticket_id,
        customer_id=w.customer_id,
        status=status_value(w.status),
        required_skills=w.required_skills,
        site_address=w.site_address,
        latitude=w.latitude,
        longitude=w.longitude,
        window_start=timestamp(w.window_start),
        window_end=timestamp(w.window_end),
        estimated_minutes=w.estimated_minutes,
        parts_needed=[_amount(line.sku, line.quantity) for line in w.parts_needed],
        technician_id=w.technician_id,
        stock_location_id=w.stock_location_id,
        reserved=[_amount(u.sku, u.quantity, u.location_id) for u in view.reserved],
        labour_minutes=w.labour_minutes,
        parts_used=[_amount(u.sku, u.quantity, u.location_id) for u in w.parts_used],
        parts_consumed=[_amount(u.sku, u.quantity, u.location_id) for u in w.parts_consumed],
        missing_parts=[_amount(line.sku, line.quantity) for line in w.missing_parts],
        signed_off_by=w.signed_off_by,
        note=w.note,
        created_by=w.created_by,
        created_at=timestamp(w.created_at),
        version=w.version,
    )
    for name in ("signed_off_at", "updated_at", "completed_at", "cancelled_at"):
        moment = getattr(w, name)
        if moment is not None:
            getattr(message, name).CopyFrom(timestamp(moment))
    return message


def part_proto(part: Part) -> work_orders_pb2.Part:
    return work_orders_pb2.Part(sku=part.sku, name=part.name, unit=part.unit)


def location_proto(location: StockLocation) -> work_orders_pb2.StockLocation:
    return work_orders_pb2.StockLocation(
        location_id=location.location_id,
        kind=work_orders_pb2.StockLocationKind.Value(f"STOCK_LOCATION_KIND_{location.kind.value.upper()}"),
        name=location.name,
        technician_id=location.technician_id,
    )


def level_proto(level: StockLevel) -> work_orders_pb2.StockLevel:
    return work_orders_pb2.StockLevel(
        sku=level.sku,
        location_id=level.location_id,
        on_hand=level.on_hand,
        reserved=level.reserved,
        available=level.available,
    )


class WorkOrderApi(work_orders_pb2_grpc.WorkOrderServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    # -- work orders ---------------------------------------------------------------------------

    def CreateWorkOrder(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.CreateWorkOrderRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.CreateWorkOrderResponse:
        actor = current_actor()
        new = NewWorkOrder(
            ticket_id=request.ticket_id,
            site_address=request.site_address,
            latitude=request.latitude,
            longitude=request.longitude,
            window_start=moment(request.window_start),
            window_end=moment(request.window_end),
            estimated_minutes=request.estimated_minutes,
            created_by=actor.id,
            required_skills=tuple(request.required_skills),
            parts_needed=tuple(PartLine(p.sku, p.quantity) for p in request.parts_needed),
        )

        def act(uow: UnitOfWork) -> work_orders_pb2.CreateWorkOrderResponse:
            created = service.create_work_order(uow, new, actor=actor)
            return work_orders_pb2.CreateWorkOrderResponse(work_order=to_proto(service.view_of(uow, created)))

        return once(self.runtime, "CreateWorkOrder", request, work_orders_pb2.CreateWorkOrderResponse, act)

    def ScheduleWorkOrder(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.ScheduleWorkOrderRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.ScheduleWorkOrderResponse:
        actor = current_actor()

        def act(uow: UnitOfWork) -> work_orders_pb2.ScheduleWorkOrderResponse:
            booked = service.schedule(
                uow,
                request.work_order_id,
                actor=actor,
                version=request.version,
                technician_id=request.technician_id,
                window_start=moment(request.window_start),
                window_end=moment(request.window_end),
                stock_location_id=request.stock_location_id,
            )
            return work_orders_pb2.ScheduleWorkOrderResponse(work_order=to_proto(service.view_of(uow, booked)))

        return once(self.runtime, "ScheduleWorkOrder", request, work_orders_pb2.ScheduleWorkOrderResponse, act)

    def TransitionWorkOrder(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.TransitionWorkOrderRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.TransitionWorkOrderResponse:
        actor = current_actor()

        def act(uow: UnitOfWork) -> work_orders_pb2.TransitionWorkOrderResponse:
            moved = service.move(
                uow,
                request.work_order_id,
                to=status_of(request.to_status),
                actor=actor,
                version=request.version,
                note=request.note,
                missing_parts=[PartLine(p.sku, p.quantity) for p in request.missing_parts],
            )
            return work_orders_pb2.TransitionWorkOrderResponse(work_order=to_proto(service.view_of(uow, moved)))

        return once(self.runtime, "TransitionWorkOrder", request, work_orders_pb2.TransitionWorkOrderResponse, act)

    def LogLabour(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.LogLabourRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.LogLabourResponse:
        actor = current_actor()

        def act(uow: UnitOfWork) -> work_orders_pb2.LogLabourResponse:
            logged = service.log_labour(
                uow, request.work_order_id, actor=actor, version=request.version, minutes=request.minutes
            )
            return work_orders_pb2.LogLabourResponse(work_order=to_proto(service.view_of(uow, logged)))

        return once(self.runtime, "LogLabour", request, work_orders_pb2.LogLabourResponse, act)

    def RecordPartsUsed(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.RecordPartsUsedRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.RecordPartsUsedResponse:
        actor = current_actor()
        used = [PartUse(p.sku, p.location_id, p.quantity) for p in request.parts]

        def act(uow: UnitOfWork) -> work_orders_pb2.RecordPartsUsedResponse:
            recorded = service.record_parts_used(
                uow, request.work_order_id, actor=actor, version=request.version, used=used
            )
            return work_orders_pb2.RecordPartsUsedResponse(work_order=to_proto(service.view_of(uow, recorded)))

        return once(self.runtime, "RecordPartsUsed", request, work_orders_pb2.RecordPartsUsedResponse, act)

    def RecordSignOff(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.RecordSignOffRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.RecordSignOffResponse:
        actor = current_actor()

        def act(uow: UnitOfWork) -> work_orders_pb2.RecordSignOffResponse:
            signed = service.record_sign_off(
                uow, request.work_order_id, actor=actor, version=request.version, signed_off_by=request.signed_off_by
            )
            return work_orders_pb2.RecordSignOffResponse(work_order=to_proto(service.view_of(uow, signed)))

        return once(self.runtime, "RecordSignOff", request, work_orders_pb2.RecordSignOffResponse, act)

    def CompleteWorkOrder(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.CompleteWorkOrderRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.CompleteWorkOrderResponse:
        actor = current_actor()

        def act(uow: UnitOfWork) -> work_orders_pb2.CompleteWorkOrderResponse:
            done = service.complete(uow, request.work_order_id, actor=actor, version=request.version)
            return work_orders_pb2.CompleteWorkOrderResponse(work_order=to_proto(service.view_of(uow, done)))

        return once(self.runtime, "CompleteWorkOrder", request, work_orders_pb2.CompleteWorkOrderResponse, act)

    def CancelWorkOrder(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.CancelWorkOrderRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.CancelWorkOrderResponse:
        actor = current_actor()

        def act(uow: UnitOfWork) -> work_orders_pb2.CancelWorkOrderResponse:
            called_off = service.cancel(
                uow, request.work_order_id, actor=actor, version=request.version, reason=request.reason
            )
            return work_orders_pb2.CancelWorkOrderResponse(work_order=to_proto(service.view_of(uow, called_off)))

        return once(self.runtime, "CancelWorkOrder", request, work_orders_pb2.CancelWorkOrderResponse, act)

    def GetWorkOrder(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.GetWorkOrderRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.GetWorkOrderResponse:
        with self.runtime.reader() as uow:
            found = service.get_work_order(uow, request.work_order_id, actor=current_actor())
            return work_orders_pb2.GetWorkOrderResponse(work_order=to_proto(service.view_of(uow, found)))

    def ListWorkOrders(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.ListWorkOrdersRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.ListWorkOrdersResponse:
        position = paging.decode(request.page_token, expected={"start", "id"})
        limit = paging.page_size(request.page_size)
        f = request.filter
        where = WorkOrderFilter(
            ticket_id=f.ticket_id,
            technician_id=f.technician_id,
            customer_id=f.customer_id,
            statuses=tuple(status_of(s) for s in f.statuses),
            window_from=moment(f.window_from) if f.HasField("window_from") else None,
            window_to=moment(f.window_to) if f.HasField("window_to") else None,
        )
        with self.runtime.reader() as uow:
            # One more than asked tells whether another page follows.
            found = service.list_work_orders(
                uow, where, actor=current_actor(), after=_work_order_position(position), limit=limit + 1
            )
            shown, token = paging.next_page(
                found, limit, lambda last: {"start": last.window_start.isoformat(), "id": last.work_order_id}
            )
            page = service.views_of(uow, shown)
        return work_orders_pb2.ListWorkOrdersResponse(
            work_orders=[to_proto(view) for view in page], next_page_token=token
        )

    # -- parts catalogue and stock -------------------------------------------------------------

    def PutPart(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.PutPartRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.PutPartResponse:
        actor = current_actor()
        part = Part(sku=request.sku, name=request.name, unit=request.unit)

        def act(uow: UnitOfWork) -> work_orders_pb2.PutPartResponse:
            return work_orders_pb2.PutPartResponse(part=part_proto(service.put_part(uow, part, actor=actor)))

        return once(self.runtime, "PutPart", request, work_orders_pb2.PutPartResponse, act)

    def ListParts(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.ListPartsRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.ListPartsResponse:
        after = paging.text_at(paging.decode(request.page_token, expected={"sku"}), "sku")
        limit = paging.page_size(request.page_size)
        with self.runtime.reader() as uow:
            found = service.list_parts(uow, after=after, limit=limit + 1)
        page, token = paging.next_page(found, limit, lambda last: {"sku": last.sku})
        return work_orders_pb2.ListPartsResponse(parts=[part_proto(p) for p in page], next_page_token=token)

    def PutStockLocation(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.PutStockLocationRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.PutStockLocationResponse:
        actor = current_actor()
        kind = work_orders_pb2.StockLocationKind.Name(request.kind).removeprefix("STOCK_LOCATION_KIND_").lower()
        location = StockLocation(
            location_id=request.location_id,
            kind=LocationKind(kind),
            name=request.name,
            technician_id=request.technician_id,
        )

        def act(uow: UnitOfWork) -> work_orders_pb2.PutStockLocationResponse:
            stored = service.put_location(uow, location, actor=actor)
            return work_orders_pb2.PutStockLocationResponse(location=location_proto(stored))

        return once(self.runtime, "PutStockLocation", request, work_orders_pb2.PutStockLocationResponse, act)

    def ListStockLocations(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.ListStockLocationsRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.ListStockLocationsResponse:
        after = paging.text_at(paging.decode(request.page_token, expected={"location"}), "location")
        limit = paging.page_size(request.page_size)
        with self.runtime.reader() as uow:
            found = service.list_locations(uow, technician_id=request.technician_id, after=after, limit=limit + 1)
        page, token = paging.next_page(found, limit, lambda last: {"location": last.location_id})
        return work_orders_pb2.ListStockLocationsResponse(
            locations=[location_proto(location) for location in page], next_page_token=token
        )

    def AdjustStock(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.AdjustStockRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.AdjustStockResponse:
        actor = current_actor()

        def act(uow: UnitOfWork) -> work_orders_pb2.AdjustStockResponse:
            if request.WhichOneof("adjustment") == "receive":
                level = service.receive_stock(
                    uow, request.sku, request.location_id, quantity=request.receive, actor=actor
                )
            else:
                level = service.count_stock(uow, request.sku, request.location_id, counted=request.count, actor=actor)
            return work_orders_pb2.AdjustStockResponse(level=level_proto(level))

        return once(self.runtime, "AdjustStock", request, work_orders_pb2.AdjustStockResponse, act)

    def ListStock(  # noqa: N802 - gRPC method names
        self, request: work_orders_pb2.ListStockRequest, ctx: grpc.ServicerContext
    ) -> work_orders_pb2.ListStockResponse:
        position = paging.decode(request.page_token, expected={"location", "sku"})
        after = (
            (paging.text_at(position, "location"), paging.text_at(position, "sku")) if position is not None else None
        )
        limit = paging.page_size(request.page_size)
        with self.runtime.reader() as uow:
            found = service.list_stock(
                uow, location_id=request.location_id, sku=request.sku, after=after, limit=limit + 1
            )
        page, token = paging.next_page(found, limit, lambda last: {"location": last.location_id, "sku": last.sku})
        return work_orders_pb2.ListStockResponse(levels=[level_proto(level) for level in page], next_page_token=token)


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=WorkOrderApi(runtime),
        add_to_server=work_orders_pb2_grpc.add_WorkOrderServiceServicer_to_server,
        service_name=work_orders_pb2.DESCRIPTOR.services_by_name["WorkOrderService"].full_name,
        permissions=PERMISSIONS,
    )


def _amount(sku: str, quantity: int, location_id: str = "") -> work_orders_pb2.PartAmount:
    return work_orders_pb2.PartAmount(sku=sku, quantity=quantity, location_id=location_id)


def _work_order_position(position: dict[str, str | int] | None) -> tuple[datetime, str] | None:
    if position is None:
        return None
    try:
        start = datetime.fromisoformat(paging.text_at(position, "start"))
    except ValueError:
        raise paging.forged() from None
    if start.tzinfo is None:
        raise paging.forged()
    return start, paging.text_at(position, "id")
