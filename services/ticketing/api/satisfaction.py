"""The satisfaction servicer: a survey system, or an agent on the phone, records the customer's rating."""

from __future__ import annotations

import grpc

from services.ticketing.api.callers import current_actor, once
from services.ticketing.domain.satisfaction import Rating
from services.ticketing.service import satisfaction as service
from switchboard.composition import Runtime
from switchboard.rpc.auth import AGENT, INTEGRATION, SUPERVISOR
from switchboard.rpc.server import ApiBinding
from switchboard.ticketing.v1 import satisfaction_pb2 as pb
from switchboard.ticketing.v1 import satisfaction_pb2_grpc, ticketing_pb2
from switchboard.timestamps import timestamp

PERMISSIONS = {
    # The customer's portal or survey system relays it; agents and supervisors record a phone survey.
    "RateTicket": frozenset({INTEGRATION, AGENT, SUPERVISOR}),
}


def to_proto(rating: Rating) -> ticketing_pb2.Rating:
    """The rating as GetTicketResponse.rating and RateTicketResponse carry it."""
    return ticketing_pb2.Rating(
        score=rating.score,
        comment=rating.comment,
        rated_at=timestamp(rating.rated_at),
        follow_up_ticket_id=rating.follow_up_ticket_id,
    )


class SatisfactionApi(satisfaction_pb2_grpc.SatisfactionServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def RateTicket(  # noqa: N802 - gRPC method names
        self, request: pb.RateTicketRequest, ctx: grpc.ServicerContext
    ) -> pb.RateTicketResponse:
        actor = current_actor()
        return once(
            self.runtime,
            "RateTicket",
            request,
            pb.RateTicketResponse,
            lambda uow: pb.RateTicketResponse(
                rating=to_proto(
                    service.rate_ticket(
                        uow, request.ticket_id, score=request.score, comment=request.comment, actor=actor
                    )
                )
            ),
        )


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=SatisfactionApi(runtime),
        add_to_server=satisfaction_pb2_grpc.add_SatisfactionServiceServicer_to_server,
        service_name=pb.DESCRIPTOR.services_by_name["SatisfactionService"].full_name,
        permissions=PERMISSIONS,
    )
