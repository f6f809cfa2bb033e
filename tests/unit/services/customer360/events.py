"""What customer-360's tests share: real-looking events from other systems and ticketing, applied
through the subscriptions exactly as the consumer would (decoded from their wire bytes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import Message

from services.customer360.subscriptions import SUBSCRIPTIONS
from switchboard import envelope
from switchboard.db.engine import Database
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event
from switchboard.events.v1 import integration_events_pb2 as integration
from switchboard.events.v1 import ticketing_events_pb2 as ticketing
from switchboard.timestamps import timestamp

# Recent, so what happened counts in the trailing value window (a year by default).
T0 = (datetime.now(UTC) - timedelta(days=2)).replace(hour=9, minute=30, second=0, microsecond=0)
HANDLERS = {s.event_type: s.handler for s in SUBSCRIPTIONS}


def event(payload: Message, *, event_id: str, customer_id: str = "", at: datetime = T0) -> Event:
    sealed = envelope.seal(
        payload, correlation_id="corr-c360", customer_id=customer_id, occurred_at=at, event_id=event_id
    )
    return envelope.decode(envelope.to_json(sealed), envelope.JSON)


def apply(db: Database, *events: Event) -> None:
    """Each event in its own transaction, as the consumer applies them."""
    for e in events:
        with UnitOfWork(db) as uow:
            HANDLERS[e.type](uow, e)
            uow.commit()


def contact(**values: Any) -> integration.ContactPoint:
    return integration.ContactPoint(**values)


def order(
    order_id: str = "O-5001", *, at: datetime = T0, total: int = 129_900, **overrides: Any
) -> integration.OrderPlaced:
    """A washing machine bought in the web shop by a customer the shop knows as 88121."""
    values: dict[str, Any] = {
        "order_id": order_id,
        "contact": contact(email="Ada.Lovelace@Example.com ", external_system="shop", external_id="88121"),
        "lines": [
            integration.OrderLine(
                sku="WM-800",
                description="Washer 800",
                quantity=1,
                unit_price_minor=total,
                serials=["SN-WM-0001"],
                model="WM800",
            )
        ],
        "total_minor": total,
        "currency": "EUR",
        "placed_at": timestamp(at),
        "sales_channel": "web",
    }
    values.update(overrides)
    return integration.OrderPlaced(**values)


def call(call_id: str = "CALL-1", phone: str = "0171 1234567", *, at: datetime = T0) -> integration.CallEnded:
    return integration.CallEnded(
        call_id=call_id,
        contact=contact(phone=phone),
        direction="inbound",
        agent_id="alice",
        started_at=timestamp(at),
        duration_seconds=240,
        outcome="answered",
    )


def ticket_created(
    ticket_id: str = "T-1", customer_id: str = "C-1001", *, at: datetime = T0
) -> ticketing.TicketCreated:
    return ticketing.TicketCreated(
        ticket_id=ticket_id,
        number=f"N-{ticket_id}",
        customer_id=customer_id,
        subject="Washer leaks from the door",
        priority=2,  # type: ignore[arg-type]
        created_at=timestamp(at),
    )


def status_changed(
    ticket_id: str = "T-1", to: str = "in_progress", customer_id: str = "C-1001", *, at: datetime
) -> ticketing.TicketStatusChanged:
    return ticketing.TicketStatusChanged(
        ticket_id=ticket_id, number=f"N-{ticket_id}", customer_id=customer_id, to_status=to, changed_at=timestamp(at)
    )


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
