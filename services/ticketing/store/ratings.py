"""Customers' ratings of resolved tickets: one row per ticket, so the key itself enforces "rated once"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, SmallInteger, String, Table, Text, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.ticketing.domain.satisfaction import MAX_SCORE, MIN_SCORE, Rating
from services.ticketing.store.schema import metadata
from switchboard.db.types import UtcDateTime

ticket_ratings = Table(
    "ticket_ratings",
    metadata,
    Column("ticket_id", String(36), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("score", SmallInteger, nullable=False),
    Column("comment", Text, nullable=False),
    Column("team", String(64), nullable=False),
    Column("agent", String(255), nullable=False),
    Column("recorded_by", String(255), nullable=False),
    Column("rated_at", UtcDateTime, nullable=False),
    Column("follow_up_ticket_id", String(36), nullable=False),
    CheckConstraint(f"score BETWEEN {MIN_SCORE} AND {MAX_SCORE}", name="ticket_ratings_score"),
    # The satisfaction reports and the points table read a range of rating times.
    Index("ticket_ratings_rated_at", "rated_at"),
)


class RatingStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, rating: Rating) -> bool:
        """Store the rating unless the ticket has one; False when it had (a concurrent rating won)."""
        values = _values(rating)
        if self.session.get_bind().dialect.name == "postgresql":
            statement: Any = postgresql.insert(ticket_ratings).values(**values).on_conflict_do_nothing()
        else:
            statement = sqlite.insert(ticket_ratings).values(**values).on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg 3 reports -1 for ON CONFLICT DO NOTHING.
        return self.session.execute(statement.returning(ticket_ratings.c.ticket_id)).first() is not None

    def set_follow_up(self, ticket_id: str, follow_up_ticket_id: str) -> None:
        self.session.execute(
            update(ticket_ratings)
            .where(ticket_ratings.c.ticket_id == ticket_id)
            .values(follow_up_ticket_id=follow_up_ticket_id)
        )

    def get(self, ticket_id: str) -> Rating | None:
        row = self.session.execute(select(ticket_ratings).where(ticket_ratings.c.ticket_id == ticket_id)).first()
        return Rating(**row._asdict()) if row else None


def _values(rating: Rating) -> dict[str, Any]:
    return {
        "ticket_id": rating.ticket_id,
        "customer_id": rating.customer_id,
        "score": rating.score,
        "comment": rating.comment,
        "team": rating.team,
        "agent": rating.agent,
        "recorded_by": rating.recorded_by,
        "rated_at": rating.rated_at,
        "follow_up_ticket_id": rating.follow_up_ticket_id,
    }
