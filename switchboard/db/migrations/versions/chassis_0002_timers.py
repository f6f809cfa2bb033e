"""Chassis table: timers, due work the timer loop runs at its moment.

Revision ID: chassis_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from switchboard.db.types import UtcDateTime

revision = "chassis_0002"
down_revision = "chassis_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timers",
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("scheduled_at", UtcDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_timers_due", "timers", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_timers_due", "timers")
    op.drop_table("timers")
