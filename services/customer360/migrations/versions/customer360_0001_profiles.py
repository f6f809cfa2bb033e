"""Customer-360: profiles, identifiers, merges, timeline, tickets, products, ratings, value, anomalies, erasures.

Revision ID: customer360_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from switchboard.db.types import UtcDateTime

revision = "customer360_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("tier", sa.SmallInteger, nullable=False),
        sa.Column("contribution_minor", sa.BigInteger, nullable=False),
        sa.Column("tier_changed_at", UtcDateTime, nullable=True),
        sa.Column("baselines", sa.Text, nullable=False),
        sa.Column("merged_into", sa.String(64), nullable=True),
        sa.Column("known_from_events", sa.Boolean, nullable=False),
        sa.Column("erased", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    # Name prefix search: LIKE 'prefix%' uses a text_pattern_ops index on PostgreSQL under any collation.
    op.create_index("profiles_name_key", "profiles", ["name_key"], postgresql_ops={"name_key": "text_pattern_ops"})
    op.create_index("profiles_merged_into", "profiles", ["merged_into"])
    op.create_table(
        "identifiers",
        # One profile per identifier: the key itself refuses a second owner.
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(300), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("added_at", UtcDateTime, nullable=False),
    )
    op.create_index("identifiers_customer", "identifiers", ["customer_id"])
    op.create_table(
        "merges",
        sa.Column("merge_id", sa.String(36), primary_key=True),
        sa.Column("survivor_id", sa.String(64), nullable=False),
        sa.Column("merged_id", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("merged_at", UtcDateTime, nullable=False),
        sa.Column("unmerged_at", UtcDateTime, nullable=True),
        sa.Column("unmerged_by", sa.String(255), nullable=False),
    )
    op.create_index("merges_merged", "merges", ["merged_id"])
    op.create_index("merges_survivor", "merges", ["survivor_id"])
    op.create_table(
        "timeline",
        sa.Column("entry_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("refs", sa.JSON, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
    )
    # The view's recent timeline and ListTimeline pages: one index range scan per profile, newest first.
    op.create_index("timeline_customer_time", "timeline", ["customer_id", "occurred_at", "entry_id"])
    op.create_table(
        "tickets",
        sa.Column("ticket_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("priority", sa.SmallInteger, nullable=False),
        sa.Column("status_at", UtcDateTime, nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("tickets_customer_status", "tickets", ["customer_id", "status"])
    op.create_table(
        "products",
        sa.Column("serial", sa.String(128), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("installed_at", UtcDateTime, nullable=True),
        sa.Column("warranty_end", sa.String(10), nullable=False),
        sa.Column("site_address", sa.String(500), nullable=False),
        sa.Column("order_id", sa.String(128), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("as_of", UtcDateTime, nullable=False),
    )
    op.create_index("products_customer", "products", ["customer_id"])
    op.create_table(
        "ratings",
        sa.Column("ticket_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("score", sa.SmallInteger, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("rated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ratings_customer_time", "ratings", ["customer_id", "rated_at"])
    op.create_table(
        "value_items",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("revenue_minor", sa.BigInteger, nullable=False),
        sa.Column("cost_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("counted", sa.Boolean, nullable=False),
    )
    op.create_index("value_items_customer_time", "value_items", ["customer_id", "occurred_at"])
    op.create_table(
        "anomalies",
        sa.Column("anomaly_id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("observed", sa.Float, nullable=False),
        sa.Column("baseline", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("asset_id", sa.String(128), nullable=False),
        sa.Column("source_event_id", sa.String(64), nullable=False),
        sa.Column("source_event_type", sa.String(64), nullable=False),
        sa.Column("detected_at", UtcDateTime, nullable=False),
        sa.Column("acknowledged_at", UtcDateTime, nullable=True),
        sa.Column("acknowledged_by", sa.String(255), nullable=False),
    )
    op.create_index("anomalies_customer", "anomalies", ["customer_id", "detected_at"])
    op.create_table(
        "erasures",
        # sha256 of "customer:<id>" and of each identifier ("email:ada@example.com"): never the values.
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("erased_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "erasures",
        "anomalies",
        "value_items",
        "ratings",
        "products",
        "tickets",
        "timeline",
        "merges",
        "identifiers",
        "profiles",
    ):
        op.drop_table(table)
