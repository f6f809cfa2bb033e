"""The service desk: classification, assignment, lifecycle times, history, conversation, customers' tiers.

Revision ID: ticketing_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from switchboard.db.types import BigIntId, UtcDateTime

revision = "ticketing_0002"
down_revision = "ticketing_0001"
branch_labels = None
depends_on = None

_EMPTY = sa.text("''")


def upgrade() -> None:
    with op.batch_alter_table("tickets") as table:
        table.add_column(sa.Column("category", sa.String(64), nullable=False, server_default=_EMPTY))
        table.add_column(sa.Column("team", sa.String(64), nullable=False, server_default=_EMPTY))
        table.add_column(sa.Column("assignee", sa.String(255), nullable=False, server_default=_EMPTY))
        table.add_column(sa.Column("watchers", sa.JSON, nullable=False, server_default=sa.text("'[]'")))
        table.add_column(sa.Column("custom_fields", sa.JSON, nullable=False, server_default=sa.text("'{}'")))
        table.add_column(sa.Column("resolution_code", sa.String(64), nullable=False, server_default=_EMPTY))
        table.add_column(sa.Column("parent_id", sa.String(36), nullable=False, server_default=_EMPTY))
        table.add_column(sa.Column("merged_into", sa.String(36), nullable=False, server_default=_EMPTY))
        table.add_column(sa.Column("triage_rule", sa.String(255), nullable=False, server_default=_EMPTY))
        table.add_column(sa.Column("customer_tier", sa.String(16), nullable=False, server_default=_EMPTY))
        table.add_column(sa.Column("sla_state", sa.String(16), nullable=False, server_default=sa.text("'none'")))
        table.add_column(sa.Column("updated_at", UtcDateTime, nullable=True))
        table.add_column(sa.Column("resolved_at", UtcDateTime, nullable=True))
        table.add_column(sa.Column("closed_at", UtcDateTime, nullable=True))
        table.add_column(sa.Column("first_response_at", UtcDateTime, nullable=True))
        table.add_column(sa.Column("reopen_count", sa.Integer, nullable=False, server_default=sa.text("0")))
        table.add_column(sa.Column("public_replies", sa.Integer, nullable=False, server_default=sa.text("0")))
    # The queue views: open work per team and person, most urgent and oldest first.
    op.create_index("tickets_queue", "tickets", ["team", "status", "priority", "seq"])
    op.create_index("tickets_assignee", "tickets", ["assignee", "status", "priority", "seq"])
    op.create_index("tickets_status", "tickets", ["status", "priority", "seq"])
    op.create_index("tickets_parent", "tickets", ["parent_id"])
    op.create_index("tickets_resolved_at", "tickets", ["resolved_at"])
    op.create_index("tickets_created_at", "tickets", ["created_at"])

    op.create_table(
        "ticket_history",
        sa.Column("entry_id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("old_value", sa.Text, nullable=False),
        sa.Column("new_value", sa.Text, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("changed_at", UtcDateTime, nullable=False),
    )
    op.create_index("ticket_history_ticket", "ticket_history", ["ticket_id", "entry_id"])

    op.create_table(
        "ticket_comments",
        sa.Column("seq", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("comment_id", sa.String(36), nullable=False, unique=True),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("from_customer", sa.Boolean, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        # The duplicate a comment was written on before a merge moved it here; "" when written here.
        sa.Column("merged_from", sa.String(36), nullable=False, server_default=sa.text("''")),
    )
    op.create_index("ticket_comments_ticket", "ticket_comments", ["ticket_id", "seq"])

    op.create_table(
        "service_records",
        sa.Column("seq", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(36), nullable=False, unique=True),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("performed_by", sa.String(255), nullable=False),
        sa.Column("minutes_spent", sa.Integer, nullable=False),
        sa.Column("performed_at", UtcDateTime, nullable=False),
    )
    op.create_index("service_records_ticket", "service_records", ["ticket_id", "seq"])

    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("tier", sa.String(16), nullable=False),
        # The tier event's time: an older event arriving late never overwrites a newer tier.
        sa.Column("tier_since", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("customers")
    op.drop_table("service_records")
    op.drop_table("ticket_comments")
    op.drop_table("ticket_history")
    for index in (
        "tickets_created_at",
        "tickets_resolved_at",
        "tickets_parent",
        "tickets_status",
        "tickets_assignee",
        "tickets_queue",
    ):
        op.drop_index(index, "tickets")
    with op.batch_alter_table("tickets") as table:
        for column in (
            "public_replies",
            "reopen_count",
            "first_response_at",
            "closed_at",
            "resolved_at",
            "updated_at",
            "sla_state",
            "customer_tier",
            "triage_rule",
            "merged_into",
            "parent_id",
            "resolution_code",
            "custom_fields",
            "watchers",
            "assignee",
            "team",
            "category",
        ):
            table.drop_column(column)
