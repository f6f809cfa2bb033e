"""Customers' ratings of their tickets, as ticket.rated reported them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, Index, SmallInteger, String, Table, Text, func, select, update
from sqlalchemy.orm import Session

from services.customer360.domain.satisfaction import Rating
from services.customer360.store.schema import insert_new, metadata
from switchboard.db.types import UtcDateTime

ratings = Table(
    "ratings",
    metadata,
    # A ticket is rated once: a redelivered ticket.rated finds its row.
    Column("ticket_id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("score", SmallInteger, nullable=False),
    Column("comment", Text, nullable=False),
    Column("rated_at", UtcDateTime, nullable=False),
    Index("ratings_customer_time", "customer_id", "rated_at"),
)


class RatingStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, rating: Rating) -> bool:
        return insert_new(self.session, ratings, rating.__dict__)

    def latest(self, customer_ids: Sequence[str], limit: int) -> list[Rating]:
        rows = self.session.execute(
            select(ratings)
            .where(ratings.c.customer_id.in_(list(customer_ids)))
            .order_by(ratings.c.rated_at.desc(), ratings.c.ticket_id)
            .limit(limit)
        ).all()
        return [Rating(**r._asdict()) for r in rows]

    def totals(self, customer_ids: Sequence[str]) -> tuple[int, float]:
        """(how many, their average) over every rating."""
        row = self.session.execute(
            select(func.count(), func.avg(ratings.c.score)).where(ratings.c.customer_id.in_(list(customer_ids)))
        ).one()
        return int(row[0]), float(row[1] or 0.0)

    def scrub(self, customer_id: str) -> None:
        self.session.execute(update(ratings).where(ratings.c.customer_id == customer_id).values(comment=""))
