"""Ticketing's ticket servicer: decode, call a use case, encode. Validation, authentication and
error mapping happen before and around it, in the chassis's interceptor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from services.ticketing.api.callers import current_actor, once
from services.ticketing.api.satisfaction import to_proto as rating_proto
from services.ticketing.api.sla import clock_message
from services.ticketing.api.work_orders import summary_proto
from services.ticketing.domain.tickets import NewTicket, Status, Ticket
from services.ticketing.service import tickets as service
from services.ticketing.service import views
from services.ticketing.store.conversation import Comment, ServiceRecord
from services.ticketing.store.history import HistoryEntry
from services.ticketing.store.tickets import TicketFilter
from switchboard import paging
from switchboard.composition import Runtime
from switchboard.db.uow import UnitOfWork
from switchboard.enums import channel_name
from switchboard.events.v1 import ticketing_events_pb2 as events
from switchboard.rpc.auth import AGENT, INTEGRATION, SUPERVISOR, TECHNICIAN
from switchboard.rpc.server import ApiBinding
from switchboard.ticketing.v1 import ticketing_pb2 as pb
from switchboard.ticketing.v1 import ticketing_pb2_grpc
from switchboard.timestamps import timestamp

_STAFF = frozenset({AGENT, SUPERVISOR})
_FIELD = _STAFF | {TECHNICIAN}
PERMISSIONS = {
    "CreateTicket": _STAFF | {INTEGRATION},
    "GetTicket": _FIELD,
    "ListTickets": _FIELD,
    "CountTickets": _FIELD,
    "UpdateTicket": _STAFF,
    # Technicians resolve and park (pending_parts) the tickets they work on; the customer side
    # (integration) confirms, closes or reopens.
    "TransitionTicket": _FIELD | {INTEGRATION},
    "AssignTicket": _STAFF,
    "AddComment": _FIELD | {INTEGRATION},
    "AddServiceRecord": _FIELD,
    "MergeTickets": _STAFF,
    "SplitTicket": _STAFF,
    "SetParent": _STAFF,
    "ListTicketHistory": _FIELD,
}


def status_value(status: Status) -> pb.TicketStatus.ValueType:
    return pb.TicketStatus.Value(f"TICKET_STATUS_{status.value.upper()}")


def status_of(value: int) -> Status:
    return Status(pb.TicketStatus.Name(value).removeprefix("TICKET_STATUS_").lower())  # type: ignore[arg-type]


def _when(moment: datetime | None) -> Timestamp | None:
    return timestamp(moment) if moment is not None else None


def to_proto(ticket: Ticket) -> pb.Ticket:
    return pb.Ticket(
        **service.proto_fields(ticket),
        description=ticket.description,
        status=status_value(ticket.status),
        version=ticket.version,
        assignee=ticket.assignee,
        watchers=ticket.watchers,
        custom_fields=dict(ticket.custom_fields),
        resolution_code=ticket.resolution_code,
        parent_ticket_id=ticket.parent_id,
        merged_into=ticket.merged_into,
        updated_at=_when(ticket.updated_at),
        resolved_at=_when(ticket.resolved_at),
        closed_at=_when(ticket.closed_at),
        first_response_at=_when(ticket.first_response_at),
        reopen_count=ticket.reopen_count,
        sla_state=ticket.sla_state,
    )


def comment_proto(comment: Comment) -> pb.Comment:
    return pb.Comment(
        comment_id=comment.comment_id,
        visibility=(
            events.COMMENT_VISIBILITY_PUBLIC if comment.visibility == "public" else events.COMMENT_VISIBILITY_INTERNAL
        ),
        author=comment.author,
        from_customer=comment.from_customer,
        body=comment.body,
        created_at=timestamp(comment.created_at),
    )


def record_proto(record: ServiceRecord) -> pb.ServiceRecord:
    return pb.ServiceRecord(
        record_id=record.record_id,
        description=record.description,
        performed_by=record.performed_by,
        minutes_spent=record.minutes_spent,
        performed_at=timestamp(record.performed_at),
    )


def history_proto(entry: HistoryEntry) -> pb.HistoryEntry:
    return pb.HistoryEntry(
        field=entry.field,
        old_value=entry.old_value,
        new_value=entry.new_value,
        actor=entry.actor,
        changed_at=timestamp(entry.changed_at),
        reason=entry.reason,
        version=entry.version,
    )


def _filter(request: pb.TicketFilter) -> TicketFilter:
    return TicketFilter(
        statuses=tuple(status_of(s) for s in request.statuses),
        assignee=request.assignee,
        team=request.team,
        customer_id=request.customer_id,
        priority=request.priority,
        sla_state=request.sla_state,
        words=tuple(request.text.split()),
        category=request.category,
        open_only=request.open_only,
    )


class TicketingApi(ticketing_pb2_grpc.TicketingServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @property
    def _reopen_window(self) -> timedelta:
        return timedelta(days=self.runtime.settings.reopen_window_days)

    def CreateTicket(  # noqa: N802 - gRPC method names
        self, request: pb.CreateTicketRequest, ctx: grpc.ServicerContext
    ) -> pb.CreateTicketResponse:
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
            category=request.category,
            team=request.team,
            custom_fields=dict(request.custom_fields),
            watchers=tuple(request.watchers),
            parent_id=request.parent_ticket_id,
            created_by=current_actor().id,
        )
        return once(
            self.runtime,
            "CreateTicket",
            request,
            pb.CreateTicketResponse,
            lambda uow: pb.CreateTicketResponse(ticket=to_proto(service.create_ticket(uow, new))),
        )

    def GetTicket(  # noqa: N802
        self, request: pb.GetTicketRequest, ctx: grpc.ServicerContext
    ) -> pb.GetTicketResponse:
        with self.runtime.reader() as uow:
            detail = views.detail(uow, ticket_id=request.ticket_id, number=request.number)
        return pb.GetTicketResponse(
            ticket=to_proto(detail.ticket),
            comments=[comment_proto(c) for c in detail.comments],
            service_records=[record_proto(r) for r in detail.records],
            children=[
                pb.TicketRef(ticket_id=c.ticket_id, number=c.number, status=status_value(c.status), subject=c.subject)
                for c in detail.children
            ],
            rating=rating_proto(detail.rating) if detail.rating else None,
            work_orders=[summary_proto(w) for w in detail.work_orders],
            sla_clocks=[clock_message(c) for c in detail.sla_clocks],
        )

    def ListTickets(  # noqa: N802
        self, request: pb.ListTicketsRequest, ctx: grpc.ServicerContext
    ) -> pb.ListTicketsResponse:
        position = paging.decode(request.page_token, expected={"priority", "seq"})
        after = None
        if position is not None:
            after = (paging.integer_at(position, "priority"), paging.integer_at(position, "seq"))
        limit = paging.page_size(request.page_size)
        with self.runtime.reader() as uow:
            found = service.list_tickets(uow, _filter(request.filter), after=after, limit=limit + 1)
        page, token = paging.next_page(found, limit, lambda last: {"priority": last.priority, "seq": last.seq})
        return pb.ListTicketsResponse(tickets=[to_proto(t) for t in page], next_page_token=token)

    def CountTickets(  # noqa: N802
        self, request: pb.CountTicketsRequest, ctx: grpc.ServicerContext
    ) -> pb.CountTicketsResponse:
        with self.runtime.reader() as uow:
            counts = service.count_tickets(uow, team=request.team)
        return pb.CountTicketsResponse(
            counts=[
                pb.QueueCount(team=c.team, status=status_value(c.status), count=c.count, at_risk=c.at_risk)
                for c in counts
            ]
        )

    def UpdateTicket(  # noqa: N802
        self, request: pb.UpdateTicketRequest, ctx: grpc.ServicerContext
    ) -> pb.UpdateTicketResponse:
        values = {path: _updated_value(request.ticket, path) for path in request.update_mask.paths}
        return once(
            self.runtime,
            "UpdateTicket",
            request,
            pb.UpdateTicketResponse,
            lambda uow: pb.UpdateTicketResponse(
                ticket=to_proto(
                    service.update_fields(
                        uow,
                        request.ticket_id,
                        version=request.version,
                        values=values,
                        actor=current_actor(),
                        reason=request.reason,
                    )
                )
            ),
        )

    def TransitionTicket(  # noqa: N802
        self, request: pb.TransitionTicketRequest, ctx: grpc.ServicerContext
    ) -> pb.TransitionTicketResponse:
        return once(
            self.runtime,
            "TransitionTicket",
            request,
            pb.TransitionTicketResponse,
            lambda uow: pb.TransitionTicketResponse(
                ticket=to_proto(
                    service.transition(
                        uow,
                        request.ticket_id,
                        to=status_of(request.to_status),
                        actor=current_actor(),
                        version=request.version,
                        resolution_code=request.resolution_code,
                        reason=request.reason,
                        reopen_window=self._reopen_window,
                    )
                )
            ),
        )

    def AssignTicket(  # noqa: N802
        self, request: pb.AssignTicketRequest, ctx: grpc.ServicerContext
    ) -> pb.AssignTicketResponse:
        return once(
            self.runtime,
            "AssignTicket",
            request,
            pb.AssignTicketResponse,
            lambda uow: pb.AssignTicketResponse(
                ticket=to_proto(
                    service.assign(
                        uow,
                        request.ticket_id,
                        team=request.team,
                        assignee=request.assignee,
                        actor=current_actor(),
                        version=request.version,
                        reason=request.reason,
                    )
                )
            ),
        )

    def AddComment(  # noqa: N802
        self, request: pb.AddCommentRequest, ctx: grpc.ServicerContext
    ) -> pb.AddCommentResponse:
        def act(uow: UnitOfWork) -> pb.AddCommentResponse:
            comment, ticket = service.add_comment(
                uow,
                request.ticket_id,
                public=request.visibility == events.COMMENT_VISIBILITY_PUBLIC,
                body=request.body,
                from_customer=request.from_customer,
                actor=current_actor(),
            )
            return pb.AddCommentResponse(comment=comment_proto(comment), ticket=to_proto(ticket))

        return once(self.runtime, "AddComment", request, pb.AddCommentResponse, act)

    def AddServiceRecord(  # noqa: N802
        self, request: pb.AddServiceRecordRequest, ctx: grpc.ServicerContext
    ) -> pb.AddServiceRecordResponse:
        performed_at = request.performed_at.ToDatetime(tzinfo=UTC) if request.HasField("performed_at") else None
        return once(
            self.runtime,
            "AddServiceRecord",
            request,
            pb.AddServiceRecordResponse,
            lambda uow: pb.AddServiceRecordResponse(
                record=record_proto(
                    service.add_service_record(
                        uow,
                        request.ticket_id,
                        description=request.description,
                        minutes_spent=request.minutes_spent,
                        performed_at=performed_at,
                        actor=current_actor(),
                    )
                )
            ),
        )

    def MergeTickets(  # noqa: N802
        self, request: pb.MergeTicketsRequest, ctx: grpc.ServicerContext
    ) -> pb.MergeTicketsResponse:
        def act(uow: UnitOfWork) -> pb.MergeTicketsResponse:
            source, target = service.merge(
                uow,
                request.source_ticket_id,
                request.target_ticket_id,
                source_version=request.source_version,
                actor=current_actor(),
                reason=request.reason,
            )
            return pb.MergeTicketsResponse(source=to_proto(source), target=to_proto(target))

        return once(self.runtime, "MergeTickets", request, pb.MergeTicketsResponse, act)

    def SplitTicket(  # noqa: N802
        self, request: pb.SplitTicketRequest, ctx: grpc.ServicerContext
    ) -> pb.SplitTicketResponse:
        def act(uow: UnitOfWork) -> pb.SplitTicketResponse:
            original, split = service.split(
                uow,
                request.ticket_id,
                subject=request.subject,
                description=request.description,
                as_child=request.as_child,
                actor=current_actor(),
            )
            return pb.SplitTicketResponse(original=to_proto(original), split=to_proto(split))

        return once(self.runtime, "SplitTicket", request, pb.SplitTicketResponse, act)

    def SetParent(  # noqa: N802
        self, request: pb.SetParentRequest, ctx: grpc.ServicerContext
    ) -> pb.SetParentResponse:
        return once(
            self.runtime,
            "SetParent",
            request,
            pb.SetParentResponse,
            lambda uow: pb.SetParentResponse(
                ticket=to_proto(
                    service.set_parent(
                        uow,
                        request.ticket_id,
                        request.parent_ticket_id,
                        version=request.version,
                        actor=current_actor(),
                    )
                )
            ),
        )

    def ListTicketHistory(  # noqa: N802
        self, request: pb.ListTicketHistoryRequest, ctx: grpc.ServicerContext
    ) -> pb.ListTicketHistoryResponse:
        position = paging.decode(request.page_token, expected={"after"})
        limit = paging.page_size(request.page_size)
        with self.runtime.reader() as uow:
            entries = service.history(
                uow, request.ticket_id, after=paging.integer_at(position, "after"), limit=limit + 1
            )
        page, token = paging.next_page(entries, limit, lambda last: {"after": last.entry_id})
        return pb.ListTicketHistoryResponse(entries=[history_proto(e) for e in page], next_page_token=token)


def _updated_value(ticket: pb.Ticket, path: str) -> object:
    if path not in service.UPDATABLE:
        # Let the use case name every field that cannot be updated in one error.
        return None
    value = getattr(ticket, path)
    if path in ("required_skills", "tags", "watchers"):
        return tuple(value)
    if path == "custom_fields":
        return dict(value)
    return value


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=TicketingApi(runtime),
        add_to_server=ticketing_pb2_grpc.add_TicketingServiceServicer_to_server,
        service_name=pb.DESCRIPTOR.services_by_name["TicketingService"].full_name,
        permissions=PERMISSIONS,
    )
