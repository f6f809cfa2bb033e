"""Customers' ratings of resolved tickets.

Revision ID: ticketing_0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from switchboard.db.types import UtcDateTime

revision = "ticketing_0005"
down_revision = "ticketing_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_ratings",
        # One rating per ticket: the key refuses a second one, also from a concurrent call.
        sa.Column("ticket_id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("score", sa.SmallInteger, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(255), nullable=False),
        sa.Column("recorded_by", sa.String(255), nullable=False),
        sa.Column("rated_at", UtcDateTime, nullable=False),
        sa.Column("follow_up_ticket_id", sa.String(36), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ticket_ratings_score"),
    )
    op.create_index("ticket_ratings_rated_at", "ticket_ratings", ["rated_at"])


def downgrade() -> None:
    op.drop_index("ticket_ratings_rated_at", "ticket_ratings")
    op.drop_table("ticket_ratings")
