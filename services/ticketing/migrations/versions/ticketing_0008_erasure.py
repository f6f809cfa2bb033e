"""Erased customers: when customer360 erased a customer, so that a replayed event cannot bring them back.

Revision ID: ticketing_0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from switchboard.db.types import UtcDateTime

revision = "ticketing_0008"
down_revision = "ticketing_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("erased_at", UtcDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("erased_at")
