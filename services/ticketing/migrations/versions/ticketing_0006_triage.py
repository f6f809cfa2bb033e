"""Triage rules: one row per version of the ruleset; the newest is in force.

Revision ID: ticketing_0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from switchboard.db.types import UtcDateTime

revision = "ticketing_0006"
down_revision = "ticketing_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "triage_rulesets",
        # Not generated: a replacement inserts the version it read plus one, so the primary key
        # is the compare-and-set that lets one of two concurrent replacements in.
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("rules", sa.JSON, nullable=False),
        sa.Column("replaced_by", sa.String(255), nullable=False),
        sa.Column("replaced_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("triage_rulesets")
