"""What an agent's ticket screen shows, read in one transaction: the ticket, its conversation, its
service records, SLA clocks, work orders, children and rating."""

from __future__ import annotations

from dataclasses import dataclass

from services.ticketing.domain.satisfaction import Rating
from services.ticketing.domain.sla import ClockView
from services.ticketing.domain.tickets import Ticket
from services.ticketing.domain.work_orders import WorkOrderSummary
from services.ticketing.service import sla, tickets, work_orders
from services.ticketing.store.conversation import Comment, ConversationStore, ServiceRecord
from services.ticketing.store.ratings import RatingStore
from services.ticketing.store.tickets import TicketStore
from switchboard.db.uow import UnitOfWork


@dataclass(frozen=True)
class TicketDetail:
    ticket: Ticket
    comments: list[Comment]
    records: list[ServiceRecord]
    children: list[Ticket]
    rating: Rating | None
    work_orders: list[WorkOrderSummary]
    sla_clocks: list[ClockView]


def detail(uow: UnitOfWork, *, ticket_id: str = "", number: str = "") -> TicketDetail:
    ticket = tickets.get_ticket(uow, ticket_id=ticket_id, number=number)
    conversation = ConversationStore(uow.session)
    return TicketDetail(
        ticket=ticket,
        comments=conversation.comments(ticket.ticket_id),
        records=conversation.records(ticket.ticket_id),
        children=TicketStore(uow.session).children(ticket.ticket_id),
        rating=RatingStore(uow.session).get(ticket.ticket_id),
        work_orders=work_orders.summaries_of(uow, ticket.ticket_id),
        sla_clocks=sla.clocks_of(uow, ticket.ticket_id),
    )
