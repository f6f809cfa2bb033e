"""Which profile each identifier belongs to: the table every lookup by phone, email or external id reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Column, Index, String, Table, and_, delete, or_, select, tuple_
from sqlalchemy.orm import Session

from services.customer360.domain.identity import Identifier
from services.customer360.store.schema import insert_new, metadata
from switchboard.db.types import UtcDateTime

identifiers = Table(
    "identifiers",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("value", String(300), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    # "api" or the event type that first named it.
    Column("source", String(64), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Index("identifiers_customer", "customer_id"),
)


class IdentifierStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def owners(self, found: Sequence[Identifier]) -> dict[Identifier, str]:
        """The profile each of these identifiers belongs to (absent when none)."""
        if not found:
            return {}
        rows = self.session.execute(
            select(identifiers.c.kind, identifiers.c.value, identifiers.c.customer_id).where(
                or_(*(and_(identifiers.c.kind == i.kind, identifiers.c.value == i.value) for i in found))
            )
        ).all()
        return {Identifier(r.kind, r.value): r.customer_id for r in rows}

    def owner(self, identifier: Identifier) -> str | None:
        return self.owners([identifier]).get(identifier)

    def add(self, identifier: Identifier, customer_id: str, *, source: str, at: datetime) -> bool:
        """Give the identifier to the profile; False when some profile holds it already."""
        return insert_new(
            self.session,
            identifiers,
            {
                "kind": identifier.kind,
                "value": identifier.value,
                "customer_id": customer_id,
                "source": source,
                "added_at": at,
            },
        )

    def of(self, customer_ids: Iterable[str]) -> dict[str, tuple[Identifier, ...]]:
        ids = list(customer_ids)
        rows = self.session.execute(
            select(identifiers)
            .where(identifiers.c.customer_id.in_(ids))
            .order_by(identifiers.c.kind, identifiers.c.value)
        ).all()
        held: dict[str, list[Identifier]] = {c: [] for c in ids}
        for r in rows:
            held[r.customer_id].append(Identifier(r.kind, r.value))
        return {c: tuple(v) for c, v in held.items()}

    def remove(self, customer_id: str, gone: Iterable[Identifier]) -> None:
        keys = [(i.kind, i.value) for i in gone]
        if keys:
            self.session.execute(
                delete(identifiers).where(
                    identifiers.c.customer_id == customer_id,
                    tuple_(identifiers.c.kind, identifiers.c.value).in_(keys),
                )
            )

    def remove_all(self, customer_id: str) -> None:
        self.session.execute(delete(identifiers).where(identifiers.c.customer_id == customer_id))
