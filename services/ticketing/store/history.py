"""The audit trail: one row per changed field, written in the transaction that changed it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer, String, Table, Text, select
from sqlalchemy.orm import Session

from services.ticketing.domain.tickets import FieldChange
from services.ticketing.store.schema import metadata
from switchboard.db.types import BigIntId, UtcDateTime

ticket_history = Table(
    "ticket_history",
    metadata,
    Column("entry_id", BigIntId, primary_key=True, autoincrement=True),
    Column("ticket_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("field", String(64), nullable=False),
    Column("old_value", Text, nullable=False),
    Column("new_value", Text, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)


@dataclass(frozen=True)
class HistoryEntry:
    entry_id: int
    ticket_id: str
    version: int
    field: str
    old_value: str
    new_value: str
    actor: str
    reason: str
    changed_at: datetime


class HistoryStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self, ticket_id: str, version: int, changes: Sequence[FieldChange], *, actor: str, reason: str, at: datetime
    ) -> None:
        if not changes:
            return
        self.session.execute(
            ticket_history.insert(),
            [
                {
                    "ticket_id": ticket_id,
                    "version": version,
                    "field": change.field,
                    "old_value": change.old,
                    "new_value": change.new,
                    "actor": actor,
                    "reason": reason[:500],
                    "changed_at": at,
                }
                for change in changes
            ],
        )

    def page(self, ticket_id: str, *, after: int, limit: int) -> list[HistoryEntry]:
        rows = self.session.execute(
            select(ticket_history)
            .where(ticket_history.c.ticket_id == ticket_id, ticket_history.c.entry_id > after)
            .order_by(ticket_history.c.entry_id)
            .limit(limit)
        )
        return [_entry(row) for row in rows]

    def of(self, ticket_id: str) -> list[HistoryEntry]:
        """The whole history of one ticket, oldest first: what the SLA state is recomputed from."""
        rows = self.session.execute(
            select(ticket_history).where(ticket_history.c.ticket_id == ticket_id).order_by(ticket_history.c.entry_id)
        )
        return [_entry(row) for row in rows]


def _entry(row: Any) -> HistoryEntry:
    return HistoryEntry(**row._asdict())
