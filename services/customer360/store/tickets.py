"""The customer's tickets as the view shows them, kept from ticketing's events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Index, SmallInteger, String, Table, select, update
from sqlalchemy.orm import Session

from services.customer360.domain.tickets import FINISHED, TicketState
from services.customer360.store.schema import insert_new, metadata
from switchboard.db.types import UtcDateTime

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("number", String(32), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("status", String(32), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    # When the event that set the status happened: an older one never overwrites it.
    Column("status_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("tickets_customer_status", "customer_id", "status"),
)


class TicketStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, ticket_id: str) -> TicketState | None:
        row = self.session.execute(select(tickets).where(tickets.c.ticket_id == ticket_id).with_for_update()).first()
        return _state(row) if row else None

    def put(self, state: TicketState, *, existed: bool) -> None:
        values = {
            "customer_id": state.customer_id,
            "number": state.number,
            "subject": state.subject[:300],
            "status": state.status,
            "priority": state.priority,
            "status_at": state.status_at,
            "updated_at": state.updated_at,
        }
        if existed or not insert_new(self.session, tickets, {"ticket_id": state.ticket_id, **values}):
            self.session.execute(update(tickets).where(tickets.c.ticket_id == state.ticket_id).values(**values))

    def open_of(self, customer_ids: Sequence[str], limit: int = 50) -> list[TicketState]:
        rows = self.session.execute(
            select(tickets)
            .where(tickets.c.customer_id.in_(list(customer_ids)), tickets.c.status.not_in(sorted(FINISHED)))
            .order_by(tickets.c.updated_at.desc(), tickets.c.ticket_id)
            .limit(limit)
        ).all()
        return [_state(r) for r in rows]

    def scrub(self, customer_id: str) -> None:
        self.session.execute(update(tickets).where(tickets.c.customer_id == customer_id).values(subject=""))


def _state(row: Any) -> TicketState:
    return TicketState(**row._asdict())
