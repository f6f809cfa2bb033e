"""Value items: the revenue or cost one event brought, kept per event so the ledger is a sum over a
window that any arrival order, and any redelivery, leaves the same."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Select,
    String,
    Table,
    bindparam,
    delete,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session

from services.customer360.domain.value import Ledger
from services.customer360.store.profiles import profiles
from services.customer360.store.schema import insert_new, metadata
from switchboard.db.types import UtcDateTime

value_items = Table(
    "value_items",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("revenue_minor", BigInteger, nullable=False),
    Column("cost_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    # False for an amount in another currency: shown, not counted.
    Column("counted", Boolean, nullable=False),
    Index("value_items_customer_time", "customer_id", "occurred_at"),
)


@dataclass(frozen=True)
class ValueItem:
    event_id: str
    customer_id: str
    occurred_at: datetime
    event_type: str
    revenue_minor: int
    cost_minor: int
    currency: str
    counted: bool


class ValueStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, item: ValueItem) -> bool:
        return insert_new(self.session, value_items, item.__dict__)

    def ledger(self, customer_ids: Sequence[str], since: datetime) -> tuple[Ledger, int, datetime | None]:
        """Over the window since a moment, in one statement: the counted revenue and cost, how many items
        were left uncounted, and when the oldest counted one happened (it is the next to leave the window)."""
        counted = value_items.c.counted.is_(True)
        row = self.session.execute(
            select(
                func.coalesce(func.sum(value_items.c.revenue_minor).filter(counted), 0),
                func.coalesce(func.sum(value_items.c.cost_minor).filter(counted), 0),
                func.count().filter(value_items.c.counted.is_(False)),
                func.min(value_items.c.occurred_at).filter(counted),
            ).where(value_items.c.customer_id.in_(list(customer_ids)), value_items.c.occurred_at >= since)
        ).one()
        return Ledger(revenue_minor=int(row[0]), cost_minor=int(row[1])), int(row[2]), row[3]

    def standing(
        self, root_id: str, since: datetime, *, max_depth: int
    ) -> tuple[Ledger, int, datetime | None, int | None]:
        """ledger() over the root's whole merge group (the root, and every profile merged into it directly or
        through another, at most ``max_depth`` levels down), plus the tier stored on the root (None when
        there is no such profile): re-evaluating a tier is this one statement and the write of the result."""
        row = self.session.execute(_standing(max_depth), {"root_id": root_id, "since": since}).one()
        ledger = Ledger(revenue_minor=int(row[0]), cost_minor=int(row[1]))
        return ledger, int(row[2]), row[3], None if row[4] is None else int(row[4])

    def of(self, customer_ids: Sequence[str]) -> list[ValueItem]:
        rows = self.session.execute(
            select(value_items)
            .where(value_items.c.customer_id.in_(list(customer_ids)))
            .order_by(value_items.c.occurred_at, value_items.c.event_id)
        ).all()
        return [ValueItem(**r._asdict()) for r in rows]

    def remove_all(self, customer_id: str) -> None:
        self.session.execute(delete(value_items).where(value_items.c.customer_id == customer_id))


@lru_cache(maxsize=4)
def _standing(max_depth: int) -> Select[Any]:
    """ValueStore.standing's statement, built once: the merge group as a recursive walk of merged_into."""
    root_id = bindparam("root_id", type_=String)
    group = (
        select(profiles.c.customer_id, literal(0).label("depth"))
        .where(profiles.c.customer_id == root_id)
        .cte("merge_group", recursive=True)
    )
    group = group.union_all(
        select(profiles.c.customer_id, group.c.depth + 1).where(
            profiles.c.merged_into == group.c.customer_id, group.c.depth < max_depth
        )
    )
    counted = value_items.c.counted.is_(True)
    tier = select(profiles.c.tier).where(profiles.c.customer_id == root_id).scalar_subquery()
    return select(
        func.coalesce(func.sum(value_items.c.revenue_minor).filter(counted), 0),
        func.coalesce(func.sum(value_items.c.cost_minor).filter(counted), 0),
        func.count().filter(value_items.c.counted.is_(False)),
        func.min(value_items.c.occurred_at).filter(counted),
        tier,
    ).where(
        value_items.c.customer_id.in_(select(group.c.customer_id)),
        value_items.c.occurred_at >= bindparam("since", type_=UtcDateTime),
    )
