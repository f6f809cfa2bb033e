"""Ticketing's gRPC servicer: decode, call a use case, encode. Validation, authentication and
error mapping happen before and around it, in the chassis's interceptor."""

from __future__ import annotations

import grpc

from services.ticketing import service
from services.ticketing.domain.tickets import NewTicket, Ticket
from switchboard import context
from switchboard.composition import Runtime
from switchboard.db import idempotency
from switchboard.enums import channel_name
from switchboard.rpc.auth import AGENT, INTEGRATION, SUPERVISOR, TECHNICIAN
from switchboard.rpc.server import ApiBinding
from switchboard.ticketing.v1 import ticketing_pb2, ticketing_pb2_grpc

PERMISSIONS = {
    "CreateTicket": frozenset({AGENT, SUPERVISOR, INTEGRATION}),
    "GetTicket": frozenset({AGENT, SUPERVISOR, TECHNICIAN}),
}


def to_proto(ticket: Ticket) -> ticketing_pb2.Ticket:
    return ticketing_pb2.Ticket(
        **service.proto_fields(ticket),
        description=ticket.description,
        status=ticketing_pb2.TicketStatus.Value(f"TICKET_STATUS_{ticket.status.value.upper()}"),
        version=ticket.version,
    )


class TicketingApi(ticketing_pb2_grpc.TicketingServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def CreateTicket(  # noqa: N802 - gRPC method names
        self, request: ticketing_pb2.CreateTicketRequest, ctx: grpc.ServicerContext
    ) -> ticketing_pb2.CreateTicketResponse:
        caller = context.current().caller
        new = NewTicket(
            customer_id=request.customer_id,
            asset_id=request.asset_id,
            channel=channel_name(request.channel),
            subject=request.subject,
            description=request.description,
            priority=request.priority or None,
            required_skills=tuple(request.required_skills),
            language=request.language,
            tags=tuple(request.tags),
            created_by=caller.subject,
        )
        return idempotency.once(
            self.runtime.uow,
            scope=f"{caller.subject}:CreateTicket",
            key=request.idempotency_key,
            request=request,
            response_type=ticketing_pb2.CreateTicketResponse,
            act=lambda uow: ticketing_pb2.CreateTicketResponse(ticket=to_proto(service.create_ticket(uow, new))),
        )

    def GetTicket(  # noqa: N802 - gRPC method names
        self, request: ticketing_pb2.GetTicketRequest, ctx: grpc.ServicerContext
    ) -> ticketing_pb2.GetTicketResponse:
        with self.runtime.uow() as uow:
            ticket = service.get_ticket(uow, ticket_id=request.ticket_id, number=request.number)
        return ticketing_pb2.GetTicketResponse(ticket=to_proto(ticket))


def bindings(runtime: Runtime) -> list[ApiBinding]:
    return [
        ApiBinding(
            servicer=TicketingApi(runtime),
            add_to_server=ticketing_pb2_grpc.add_TicketingServiceServicer_to_server,
            service_name=ticketing_pb2.DESCRIPTOR.services_by_name["TicketingService"].full_name,
            permissions=PERMISSIONS,
        )
    ]
