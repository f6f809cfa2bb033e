"""Ticketing's tables and queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Integer, MetaData, Row, SmallInteger, String, Table, Text, select
from sqlalchemy.orm import Session

from services.ticketing.domain.tickets import Status, Ticket, numbered, seq_of
from switchboard.db.types import BigIntId, UtcDateTime

metadata = MetaData()

tickets = Table(
    "tickets",
    metadata,
    # The number people read (T-000123) is this sequence, so it is never stored twice.
    Column("seq", BigIntId, primary_key=True, autoincrement=True),
    Column("ticket_id", String(36), nullable=False, unique=True),
    Column("customer_id", String(64), nullable=False, index=True),
    Column("asset_id", String(128), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("required_skills", JSON, nullable=False),
    Column("language", String(35), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
)


def _ticket(row: Row[Any]) -> Ticket:
    return Ticket(
        ticket_id=row.ticket_id,
        seq=row.seq,
        customer_id=row.customer_id,
        asset_id=row.asset_id,
        channel=row.channel,
        subject=row.subject,
        description=row.description,
        priority=row.priority,
        required_skills=tuple(row.required_skills),
        language=row.language,
        tags=tuple(row.tags),
        status=Status(row.status),
        created_by=row.created_by,
        created_at=row.created_at,
        version=row.version,
    )


class TicketStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, ticket: Ticket) -> Ticket:
        seq = self.session.execute(
            tickets.insert()
            .values(
                ticket_id=ticket.ticket_id,
                customer_id=ticket.customer_id,
                asset_id=ticket.asset_id,
                channel=ticket.channel,
                subject=ticket.subject,
                description=ticket.description,
                priority=ticket.priority,
                required_skills=list(ticket.required_skills),
                language=ticket.language,
                tags=list(ticket.tags),
                status=ticket.status.value,
                created_by=ticket.created_by,
                created_at=ticket.created_at,
                version=ticket.version,
            )
            .returning(tickets.c.seq)
        ).scalar_one()
        return numbered(ticket, seq)

    def get(self, ticket_id: str) -> Ticket | None:
        row = self.session.execute(select(tickets).where(tickets.c.ticket_id == ticket_id)).first()
        return _ticket(row) if row else None

    def get_by_number(self, number: str) -> Ticket | None:
        seq = seq_of(number)
        if seq is None:
            return None
        row = self.session.execute(select(tickets).where(tickets.c.seq == seq)).first()
        return _ticket(row) if row else None
