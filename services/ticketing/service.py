"""Ticketing's use cases. Each runs inside a unit of work its caller commits, so the change and
its events land together; the gRPC API and the event subscriptions call the same functions."""

from __future__ import annotations

from typing import Any

from services.ticketing.domain import tickets
from services.ticketing.domain.tickets import NewTicket, Ticket
from services.ticketing.store import TicketStore
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.enums import channel_value
from switchboard.envelope import Event
from switchboard.errors import NotFound
from switchboard.events.v1.integration_events_pb2 import DeviceFaultReported
from switchboard.events.v1.ticketing_events_pb2 import TicketCreated
from switchboard.ids import new_id
from switchboard.timestamps import timestamp


def proto_fields(ticket: Ticket) -> dict[str, Any]:
    """The fields a ticket's event payloads and its API message share, in their protobuf form."""
    return {
        "ticket_id": ticket.ticket_id,
        "number": ticket.number,
        "customer_id": ticket.customer_id,
        "asset_id": ticket.asset_id,
        "channel": channel_value(ticket.channel),
        "subject": ticket.subject,
        "priority": ticket.priority,
        "required_skills": ticket.required_skills,
        "language": ticket.language,
        "tags": ticket.tags,
        "created_at": timestamp(ticket.created_at),
        "created_by": ticket.created_by,
    }


def create_ticket(uow: UnitOfWork, new: NewTicket) -> Ticket:
    ticket = TicketStore(uow.session).add(tickets.open_ticket(new, ticket_id=new_id(), now=utcnow()))
    uow.emit(TicketCreated(**proto_fields(ticket)), customer_id=ticket.customer_id)
    return ticket


def open_ticket_from_fault(uow: UnitOfWork, event: Event) -> None:
    """A connected product reported a fault: open a ticket for its owner (once per event, by the inbox)."""
    fault = event.payload
    assert isinstance(fault, DeviceFaultReported)
    create_ticket(
        uow,
        tickets.from_device_fault(
            asset_id=fault.asset_id,
            customer_id=fault.customer_id,
            fault_code=fault.fault_code,
            description=fault.description,
            event_id=event.event_id,
        ),
    )


def get_ticket(uow: UnitOfWork, *, ticket_id: str = "", number: str = "") -> Ticket:
    store = TicketStore(uow.session)
    found = store.get(ticket_id) if ticket_id else store.get_by_number(number)
    if found is None:
        raise NotFound("ticket", ticket_id or number)
    return found
