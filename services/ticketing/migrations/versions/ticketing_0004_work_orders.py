"""Work orders, the parts catalogue, stock locations, stock and reservations.

Revision ID: ticketing_0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from switchboard.db.types import UtcDateTime

revision = "ticketing_0004"
down_revision = "ticketing_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_orders",
        sa.Column("work_order_id", sa.String(36), primary_key=True),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("required_skills", sa.JSON, nullable=False),
        sa.Column("site_address", sa.String(500), nullable=False),
        sa.Column("latitude", sa.Float, nullable=False),
        sa.Column("longitude", sa.Float, nullable=False),
        sa.Column("window_start", UtcDateTime, nullable=False),
        sa.Column("window_end", UtcDateTime, nullable=False),
        sa.Column("estimated_minutes", sa.Integer, nullable=False),
        sa.Column("parts_needed", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("technician_id", sa.String(255), nullable=False),
        sa.Column("stock_location_id", sa.String(64), nullable=False),
        sa.Column("labour_minutes", sa.Integer, nullable=False),
        sa.Column("parts_used", sa.JSON, nullable=False),
        sa.Column("parts_consumed", sa.JSON, nullable=False),
        sa.Column("missing_parts", sa.JSON, nullable=False),
        sa.Column("signed_off_by", sa.String(200), nullable=False),
        sa.Column("signed_off_at", UtcDateTime, nullable=True),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=True),
        sa.Column("completed_at", UtcDateTime, nullable=True),
        sa.Column("cancelled_at", UtcDateTime, nullable=True),
    )
    op.create_index("work_orders_ticket", "work_orders", ["ticket_id", "work_order_id"])
    op.create_index("work_orders_technician", "work_orders", ["technician_id", "window_start", "work_order_id"])
    op.create_index("work_orders_window", "work_orders", ["window_start", "work_order_id"])

    op.create_table(
        "parts",
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )

    op.create_table(
        "stock_locations",
        sa.Column("location_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("technician_id", sa.String(255), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.CheckConstraint("kind IN ('depot', 'van')", name="stock_locations_kind"),
    )
    op.create_index("ix_stock_locations_technician_id", "stock_locations", ["technician_id"])

    op.create_table(
        "stock",
        sa.Column("location_id", sa.String(64), sa.ForeignKey("stock_locations.location_id"), primary_key=True),
        sa.Column("sku", sa.String(64), sa.ForeignKey("parts.sku"), primary_key=True),
        sa.Column("on_hand", sa.Integer, nullable=False),
        sa.Column("reserved", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        # The invariants hold even against a bug in the conditional updates that keep them.
        sa.CheckConstraint("on_hand >= 0", name="stock_on_hand_not_negative"),
        sa.CheckConstraint("reserved >= 0", name="stock_reserved_not_negative"),
        sa.CheckConstraint("reserved <= on_hand", name="stock_reserved_within_on_hand"),
    )
    op.create_index("stock_sku", "stock", ["sku"])

    op.create_table(
        "stock_reservations",
        sa.Column("work_order_id", sa.String(36), primary_key=True),
        sa.Column("location_id", sa.String(64), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("reserved_at", UtcDateTime, nullable=False),
        sa.ForeignKeyConstraint(["location_id", "sku"], ["stock.location_id", "stock.sku"]),
        sa.CheckConstraint("quantity > 0", name="stock_reservations_quantity_positive"),
    )
    op.create_index("stock_reservations_stock", "stock_reservations", ["location_id", "sku"])


def downgrade() -> None:
    op.drop_table("stock_reservations")
    op.drop_table("stock")
    op.drop_table("stock_locations")
    op.drop_table("parts")
    op.drop_table("work_orders")
