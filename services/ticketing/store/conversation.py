"""What was said on a ticket (replies, notes, the customer's messages) and what was done (service records)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Integer, String, Table, Text, and_, case, or_, select, update
from sqlalchemy.orm import Session

from services.ticketing.store.schema import metadata
from switchboard.db.types import BigIntId, UtcDateTime

ticket_comments = Table(
    "ticket_comments",
    metadata,
    Column("seq", BigIntId, primary_key=True, autoincrement=True),
    Column("comment_id", String(36), nullable=False, unique=True),
    Column("ticket_id", String(36), nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("author", String(255), nullable=False),
    Column("from_customer", Boolean, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("merged_from", String(36), nullable=False),
)

service_records = Table(
    "service_records",
    metadata,
    Column("seq", BigIntId, primary_key=True, autoincrement=True),
    Column("record_id", String(36), nullable=False, unique=True),
    Column("ticket_id", String(36), nullable=False),
    Column("description", Text, nullable=False),
    Column("performed_by", String(255), nullable=False),
    Column("minutes_spent", Integer, nullable=False),
    Column("performed_at", UtcDateTime, nullable=False),
)


@dataclass(frozen=True)
class Comment:
    comment_id: str
    ticket_id: str
    # "public" or "internal"
    visibility: str
    author: str
    from_customer: bool
    body: str
    created_at: datetime
    # The duplicate it was written on, when a merge moved it to this ticket: it answered that
    # ticket's customer message, not this one's, so this ticket's SLA history leaves it out.
    merged_from: str = ""


@dataclass(frozen=True)
class ServiceRecord:
    record_id: str
    ticket_id: str
    description: str
    performed_by: str
    minutes_spent: int
    performed_at: datetime


class ConversationStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_comment(self, comment: Comment) -> Comment:
        self.session.execute(ticket_comments.insert().values(**comment.__dict__))
        return comment

    def comments(self, ticket_id: str) -> list[Comment]:
        rows = self.session.execute(
            select(ticket_comments).where(ticket_comments.c.ticket_id == ticket_id).order_by(ticket_comments.c.seq)
        )
        return [_comment(row) for row in rows]

    def written_on(self, ticket_id: str) -> list[Comment]:
        """The comments written on this ticket, wherever a merge has moved them since."""
        here = and_(ticket_comments.c.ticket_id == ticket_id, ticket_comments.c.merged_from == "")
        rows = self.session.execute(
            select(ticket_comments)
            .where(or_(here, ticket_comments.c.merged_from == ticket_id))
            .order_by(ticket_comments.c.seq)
        )
        return [_comment(row) for row in rows]

    def move_comments(self, source_id: str, target_id: str) -> int:
        """A merged duplicate's conversation continues on the ticket it was merged into."""
        return self.session.execute(
            update(ticket_comments)
            .where(ticket_comments.c.ticket_id == source_id)
            # A comment merged twice still names the ticket it was written on.
            .values(
                ticket_id=target_id,
                merged_from=case((ticket_comments.c.merged_from == "", source_id), else_=ticket_comments.c.merged_from),
            )
        ).rowcount

    def add_record(self, record: ServiceRecord) -> ServiceRecord:
        self.session.execute(service_records.insert().values(**record.__dict__))
        return record

    def records(self, ticket_id: str) -> list[ServiceRecord]:
        rows = self.session.execute(
            select(service_records).where(service_records.c.ticket_id == ticket_id).order_by(service_records.c.seq)
        )
        return [ServiceRecord(**{k: v for k, v in row._asdict().items() if k != "seq"}) for row in rows]


def _comment(row: Any) -> Comment:
    return Comment(**{k: v for k, v in row._asdict().items() if k != "seq"})
