"""What ticketing knows of customers: the value tier customer360 last announced, and whether it erased them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, String, Table, select, update
from sqlalchemy.orm import Session

from services.ticketing.store.schema import metadata
from switchboard.db.types import UtcDateTime


@dataclass(frozen=True)
class Standing:
    tier: str = ""
    erased_at: datetime | None = None


customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(64), primary_key=True),
    Column("tier", String(16), nullable=False),
    Column("tier_since", UtcDateTime, nullable=False),
    Column("erased_at", UtcDateTime),
)


class CustomerStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def standing(self, customer_id: str) -> Standing:
        """The tier customer360 last announced ("" when none) and when it erased the customer, in one read."""
        row = self.session.execute(
            select(customers.c.tier, customers.c.erased_at).where(customers.c.customer_id == customer_id)
        ).first()
        return Standing(tier=row.tier, erased_at=row.erased_at) if row else Standing()

    def set_tier(self, customer_id: str, tier: str, *, since: datetime) -> bool:
        """Record a tier unless a newer one is already known; True when it was recorded."""
        current = self.session.execute(
            select(customers.c.tier_since).where(customers.c.customer_id == customer_id).with_for_update()
        ).scalar()
        if current is None:
            self.session.execute(customers.insert().values(customer_id=customer_id, tier=tier, tier_since=since))
            return True
        if current > since:
            return False
        self.session.execute(
            update(customers).where(customers.c.customer_id == customer_id).values(tier=tier, tier_since=since)
        )
        return True

    def mark_erased(self, customer_id: str, *, at: datetime) -> None:
        """Remember the erasure (and forget the tier); repeating it keeps the first time."""
        known = self.session.execute(
            select(customers.c.erased_at).where(customers.c.customer_id == customer_id).with_for_update()
        ).first()
        if known is None:
            self.session.execute(
                customers.insert().values(customer_id=customer_id, tier="", tier_since=at, erased_at=at)
            )
        elif known.erased_at is None:
            self.session.execute(
                update(customers).where(customers.c.customer_id == customer_id).values(tier="", erased_at=at)
            )
