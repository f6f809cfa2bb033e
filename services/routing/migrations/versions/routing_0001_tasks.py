"""Tasks.

Revision ID: routing_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from switchboard.db.types import BigIntId, UtcDateTime

revision = "routing_0001"
down_revision = None
branch_labels = ("routing",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("seq", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(36), nullable=False, unique=True),
        sa.Column("ticket_id", sa.String(36), nullable=False, index=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("priority", sa.SmallInteger, nullable=False),
        sa.Column("required_skills", sa.JSON, nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tasks")
