"""Workers, queues, offers, decisions, the matcher's lease and change feed, statistics, dispatch.

Revision ID: routing_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from switchboard.db.types import BigIntId, UtcDateTime

revision = "routing_0002"
down_revision = "routing_0001"
branch_labels = None
depends_on = None

_EMPTY_LIST = sa.text("'[]'")
_EMPTY_MAP = sa.text("'{}'")


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("channel", sa.String(20), nullable=False, server_default="web"))
        batch.add_column(sa.Column("tier", sa.String(20), nullable=False, server_default="standard"))
        batch.add_column(sa.Column("requirements", sa.JSON, nullable=False, server_default=_EMPTY_LIST))
        batch.add_column(sa.Column("team", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("queue_id", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("last_agent", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("avoid", sa.JSON, nullable=False, server_default=_EMPTY_LIST))
        batch.add_column(sa.Column("attributes", sa.JSON, nullable=False, server_default=_EMPTY_MAP))
        batch.add_column(sa.Column("assignee", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("assigned_at", UtcDateTime, nullable=True))
        batch.add_column(sa.Column("closed_at", UtcDateTime, nullable=True))
        batch.add_column(sa.Column("escalated", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("origin", sa.String(32), nullable=False, server_default="ticket.created"))
        batch.add_column(sa.Column("waiting", sa.JSON, nullable=True))
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.create_index(
        "tasks_open",
        "tasks",
        ["status", "seq"],
        postgresql_where=sa.text("status IN ('queued', 'offered', 'assigned')"),
    )
    op.create_table(
        "workers",
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("skills", sa.JSON, nullable=False),
        sa.Column("languages", sa.JSON, nullable=False),
        sa.Column("teams", sa.JSON, nullable=False),
        sa.Column("hours", sa.JSON, nullable=True),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("base_latitude", sa.Float, nullable=True),
        sa.Column("base_longitude", sa.Float, nullable=True),
        sa.Column("territory", sa.String(64), nullable=False),
        sa.Column("van_stock", sa.JSON, nullable=False),
        sa.Column("presence", sa.String(20), nullable=False),
        sa.Column("presence_until", UtcDateTime, nullable=True),
        sa.Column("paused_until", UtcDateTime, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "worker_channels",
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("capacity", sa.SmallInteger, nullable=False),
        sa.Column("used", sa.SmallInteger, nullable=False),
        sa.CheckConstraint("used >= 0", name="worker_channels_used_not_negative"),
    )
    op.create_table(
        "queues",
        sa.Column("queue_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("policy", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "offers",
        sa.Column("offer_id", sa.String(36), primary_key=True),
        sa.Column("task_id", sa.String(36), nullable=False, index=True),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("closed_at", UtcDateTime, nullable=True),
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
    )
    op.create_index("offers_worker", "offers", ["worker_id", "status"])
    op.create_index(
        "offers_one_accepted",
        "offers",
        ["task_id"],
        unique=True,
        postgresql_where=sa.text("status = 'accepted'"),
        sqlite_where=sa.text("status = 'accepted'"),
    )
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(36), primary_key=True),
        sa.Column("task_id", sa.String(36), nullable=False, index=True),
        sa.Column("decided_at", UtcDateTime, nullable=False),
        sa.Column("queue_id", sa.String(64), nullable=False),
        sa.Column("step", sa.SmallInteger, nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("candidates", sa.JSON, nullable=False),
        sa.Column("qualified", sa.Integer, nullable=False),
        sa.Column("explanation", sa.String(2000), nullable=False),
        sa.Column("offered_to", sa.JSON, nullable=False),
    )
    op.create_table(
        "changes",
        sa.Column("seq", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "queue_stats",
        sa.Column("queue_id", sa.String(64), primary_key=True),
        sa.Column("figures", sa.JSON, nullable=False),
        sa.Column("as_of", UtcDateTime, nullable=False),
    )
    op.create_table(
        "customer_agents",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("served_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("work_order_id", sa.String(36), primary_key=True),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("required_skills", sa.JSON, nullable=False),
        sa.Column("latitude", sa.Float, nullable=False),
        sa.Column("longitude", sa.Float, nullable=False),
        sa.Column("window_start", UtcDateTime, nullable=True),
        sa.Column("window_end", UtcDateTime, nullable=True),
        sa.Column("estimated_minutes", sa.Integer, nullable=False),
        sa.Column("parts", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("technician_id", sa.String(64), nullable=False),
        sa.Column("priority", sa.SmallInteger, nullable=False),
        sa.Column("territory", sa.String(64), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("jobs_window", "jobs", ["window_start"])
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(36), primary_key=True),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("territory", sa.String(64), nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("planned_at", UtcDateTime, nullable=False),
    )
    op.create_index("plans_day", "plans", ["day", "territory", "planned_at"])


def downgrade() -> None:
    for name in ("plans", "jobs", "customer_agents", "queue_stats", "leases", "changes", "decisions", "offers"):
        op.drop_table(name)
    for name in ("queues", "worker_channels", "workers"):
        op.drop_table(name)
    op.drop_index("tasks_open", "tasks")
    with op.batch_alter_table("tasks") as batch:
        for column in (
            "version",
            "waiting",
            "origin",
            "escalated",
            "closed_at",
            "assigned_at",
            "assignee",
            "attributes",
            "avoid",
            "last_agent",
            "queue_id",
            "team",
            "requirements",
            "tier",
            "channel",
        ):
            batch.drop_column(column)
