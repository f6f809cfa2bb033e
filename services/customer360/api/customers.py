"""The CustomerService servicer: decode, call a use case, encode. Validation and roles are the
interceptor's (protovalidate constraints and PERMISSIONS below)."""

from __future__ import annotations

from datetime import datetime

import grpc

from services.customer360 import config
from services.customer360.api import convert
from services.customer360.service import anomalies, erasure, merging, profiles, views
from switchboard import paging
from switchboard.composition import Runtime
from switchboard.customer360.v1 import customer360_pb2 as pb
from switchboard.customer360.v1 import customer360_pb2_grpc
from switchboard.db.types import utcnow
from switchboard.errors import FieldViolation, InvalidArgument
from switchboard.rpc.auth import AGENT, INTEGRATION, SUPERVISOR, TECHNICIAN
from switchboard.rpc.callers import caller_id
from switchboard.rpc.calls import once
from switchboard.rpc.server import ApiBinding
from switchboard.timestamps import moment, timestamp

READERS = frozenset({AGENT, SUPERVISOR, TECHNICIAN})
WRITERS = frozenset({AGENT, SUPERVISOR, INTEGRATION})
PERMISSIONS = {
    "GetCustomerView": READERS,
    "FindCustomers": READERS | {INTEGRATION},
    "ListTimeline": READERS,
    "CreateCustomer": WRITERS,
    "UpdateCustomer": WRITERS,
    "PutProduct": WRITERS,
    "AcknowledgeAnomaly": frozenset({AGENT, SUPERVISOR}),
    "MergeCustomers": frozenset({SUPERVISOR}),
    "UnmergeCustomers": frozenset({SUPERVISOR}),
    # Admins may call anything; the chassis adds them.
    "ExportCustomer": frozenset({SUPERVISOR}),
    "EraseCustomer": frozenset({SUPERVISOR}),
}
_TIMELINE_TOKEN = {"at", "id"}


def _held(request_customer: pb.Customer) -> list:  # type: ignore[type-arg]
    return profiles.identifiers_of(
        phones=list(request_customer.phones),
        emails=list(request_customer.emails),
        externals=[(e.system, e.id) for e in request_customer.external_ids],
        region=config.load().default_region,
        field="customer",
    )


class CustomerApi(customer360_pb2_grpc.CustomerServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def GetCustomerView(  # noqa: N802 - gRPC method names
        self, request: pb.GetCustomerViewRequest, ctx: grpc.ServicerContext
    ) -> pb.GetCustomerViewResponse:
        with self.runtime.reader() as uow:
            found = views.customer_view(uow, request.customer_id)
        return pb.GetCustomerViewResponse(view=convert.view(found, utcnow().date()), requested_id=found.requested_id)

    def FindCustomers(  # noqa: N802
        self, request: pb.FindCustomersRequest, ctx: grpc.ServicerContext
    ) -> pb.FindCustomersResponse:
        by = request.WhichOneof("by")
        external = (request.external.system, request.external.id) if by == "external" else None
        with self.runtime.reader() as uow:
            found = views.find(
                uow,
                phone=request.phone,
                email=request.email,
                external=external,
                serial=request.serial,
                name_prefix=request.name_prefix,
                limit=paging.page_size(request.page_size, 100),
            )
        today = utcnow().date()
        return pb.FindCustomersResponse(customers=[convert.customer(p, today) for p in found])

    def CreateCustomer(  # noqa: N802
        self, request: pb.CreateCustomerRequest, ctx: grpc.ServicerContext
    ) -> pb.CreateCustomerResponse:
        if not request.customer.customer_id:
            raise InvalidArgument([FieldViolation("customer.customer_id", "required: the id the suite shares")])
        details, held, actor = convert.details_of(request.customer), _held(request.customer), caller_id()
        return once(
            self.runtime,
            "CreateCustomer",
            request,
            pb.CreateCustomerResponse,
            lambda uow: pb.CreateCustomerResponse(
                customer=convert.customer(
                    profiles.create_customer(uow, request.customer.customer_id, details, held, actor=actor),
                    utcnow().date(),
                )
            ),
        )

    def UpdateCustomer(  # noqa: N802
        self, request: pb.UpdateCustomerRequest, ctx: grpc.ServicerContext
    ) -> pb.UpdateCustomerResponse:
        mask = list(request.update_mask.paths)
        touches_identifiers = not mask or {"phones", "emails", "external_ids"} & set(mask)
        held = _held(request.customer) if touches_identifiers else None
        details, actor = convert.details_of(request.customer), caller_id()
        return once(
            self.runtime,
            "UpdateCustomer",
            request,
            pb.UpdateCustomerResponse,
            lambda uow: pb.UpdateCustomerResponse(
                customer=convert.customer(
                    profiles.update_customer(
                        uow,
                        request.customer_id,
                        version=request.version,
                        details=details,
                        held=held,
                        mask=mask,
                        actor=actor,
                    ),
                    utcnow().date(),
                )
            ),
        )

    def MergeCustomers(  # noqa: N802
        self, request: pb.MergeCustomersRequest, ctx: grpc.ServicerContext
    ) -> pb.MergeCustomersResponse:
        actor = caller_id()
        return once(
            self.runtime,
            "MergeCustomers",
            request,
            pb.MergeCustomersResponse,
            lambda uow: pb.MergeCustomersResponse(
                merge=convert.merge(merging.merge(uow, request.survivor_id, request.merged_id, actor=actor))
            ),
        )

    def UnmergeCustomers(  # noqa: N802
        self, request: pb.UnmergeCustomersRequest, ctx: grpc.ServicerContext
    ) -> pb.UnmergeCustomersResponse:
        actor = caller_id()
        return once(
            self.runtime,
            "UnmergeCustomers",
            request,
            pb.UnmergeCustomersResponse,
            lambda uow: pb.UnmergeCustomersResponse(
                merge=convert.merge(merging.unmerge(uow, request.merged_id, actor=actor))
            ),
        )

    def ListTimeline(  # noqa: N802
        self, request: pb.ListTimelineRequest, ctx: grpc.ServicerContext
    ) -> pb.ListTimelineResponse:
        position = paging.decode(request.page_token, expected=_TIMELINE_TOKEN)
        after = None
        if position is not None:
            try:
                after = (datetime.fromisoformat(paging.text_at(position, "at")), paging.text_at(position, "id"))
            except ValueError:
                raise paging.forged() from None
        limit = paging.page_size(request.page_size)
        with self.runtime.reader() as uow:
            found = views.timeline_page(
                uow,
                request.customer_id,
                limit=limit + 1,
                kinds=list(request.kinds),
                since=moment(request.since) if request.HasField("since") else None,
                until=moment(request.until) if request.HasField("until") else None,
                after=after,
            )
        page, token = paging.next_page(found, limit, lambda e: {"at": e.occurred_at.isoformat(), "id": e.entry_id})
        return pb.ListTimelineResponse(entries=[convert.entry(e) for e in page], next_page_token=token)

    def PutProduct(self, request: pb.PutProductRequest, ctx: grpc.ServicerContext) -> pb.PutProductResponse:  # noqa: N802
        product = convert.product_of(request.product)
        if not product.customer_id:
            raise InvalidArgument([FieldViolation("product.customer_id", "required: whose product it is")])
        return once(
            self.runtime,
            "PutProduct",
            request,
            pb.PutProductResponse,
            lambda uow: pb.PutProductResponse(
                product=convert.product(views.put_product(uow, product), utcnow().date())
            ),
        )

    def AcknowledgeAnomaly(  # noqa: N802
        self, request: pb.AcknowledgeAnomalyRequest, ctx: grpc.ServicerContext
    ) -> pb.AcknowledgeAnomalyResponse:
        actor = caller_id()
        return once(
            self.runtime,
            "AcknowledgeAnomaly",
            request,
            pb.AcknowledgeAnomalyResponse,
            lambda uow: pb.AcknowledgeAnomalyResponse(
                anomaly=convert.anomaly(anomalies.acknowledge(uow, request.anomaly_id, actor=actor))
            ),
        )

    def ExportCustomer(  # noqa: N802
        self, request: pb.ExportCustomerRequest, ctx: grpc.ServicerContext
    ) -> pb.ExportCustomerResponse:
        now = utcnow()
        with self.runtime.reader() as uow:
            found = views.export(uow, request.customer_id, now)
        response = convert.export(found, now.date())
        response.exported_at.CopyFrom(timestamp(now))
        return response

    def EraseCustomer(  # noqa: N802
        self, request: pb.EraseCustomerRequest, ctx: grpc.ServicerContext
    ) -> pb.EraseCustomerResponse:
        actor = caller_id()
        return once(
            self.runtime,
            "EraseCustomer",
            request,
            pb.EraseCustomerResponse,
            lambda uow: pb.EraseCustomerResponse(
                erased_ids=erasure.erase(uow, request.customer_id, actor=actor, reason=request.reason)
            ),
        )


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=CustomerApi(runtime),
        add_to_server=customer360_pb2_grpc.add_CustomerServiceServicer_to_server,
        service_name=pb.DESCRIPTOR.services_by_name["CustomerService"].full_name,
        permissions=PERMISSIONS,
    )
