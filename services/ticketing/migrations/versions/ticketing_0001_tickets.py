"""Tickets.

Revision ID: ticketing_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from switchboard.db.types import BigIntId, UtcDateTime

revision = "ticketing_0001"
down_revision = None
branch_labels = ("ticketing",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("seq", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.String(36), nullable=False, unique=True),
        sa.Column("customer_id", sa.String(64), nullable=False, index=True),
        sa.Column("asset_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("priority", sa.SmallInteger, nullable=False),
        sa.Column("required_skills", sa.JSON, nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tickets")
