"""Routing's tables.

Invariants the database keeps by itself, so that two routing processes at once cannot break them:
one accepted offer per task (a partial unique index), and a worker's load per channel moves only by
conditional updates that check it against the capacity (see store/workers.py).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    text,
)

from switchboard.db.types import BigIntId, UtcDateTime

metadata = MetaData()

tasks = Table(
    "tasks",
    metadata,
    Column("seq", BigIntId, primary_key=True, autoincrement=True),
    Column("task_id", String(36), nullable=False, unique=True),
    Column("ticket_id", String(36), nullable=False, index=True),
    Column("customer_id", String(64), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("required_skills", JSON, nullable=False),
    Column("language", String(35), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("tier", String(20), nullable=False),
    # Pairs of skill and minimum level.
    Column("requirements", JSON, nullable=False),
    Column("team", String(64), nullable=False),
    Column("queue_id", String(64), nullable=False),
    Column("last_agent", String(64), nullable=False),
    Column("avoid", JSON, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("assignee", String(64), nullable=False),
    Column("assigned_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("escalated", Boolean, nullable=False),
    # ticket.created, ticket.reopened, ticket.sla_breached, api
    Column("origin", String(32), nullable=False),
    # Why it still waits, as the matcher last saw it (a Waiting as JSON); null once placed.
    Column("waiting", JSON, nullable=True),
    Column("version", Integer, nullable=False),
)
Index("tasks_open", tasks.c.status, tasks.c.seq, postgresql_where=text("status IN ('queued', 'offered', 'assigned')"))

workers = Table(
    "workers",
    metadata,
    Column("worker_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    # Skill name to level 1..5.
    Column("skills", JSON, nullable=False),
    Column("languages", JSON, nullable=False),
    Column("teams", JSON, nullable=False),
    # A time zone and weekday shifts (store/workers.py); null when always working.
    Column("hours", JSON, nullable=True),
    Column("attributes", JSON, nullable=False),
    Column("base_latitude", Float, nullable=True),
    Column("base_longitude", Float, nullable=True),
    Column("territory", String(64), nullable=False),
    Column("van_stock", JSON, nullable=False),
    Column("presence", String(20), nullable=False),
    Column("presence_until", UtcDateTime, nullable=True),
    Column("paused_until", UtcDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# A worker's capacity and load per channel: the row every offer reserves a slot on.
worker_channels = Table(
    "worker_channels",
    metadata,
    Column("worker_id", String(64), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("capacity", SmallInteger, nullable=False),
    # Pending offers and assigned tasks held now.
    Column("used", SmallInteger, nullable=False),
    CheckConstraint("used >= 0", name="worker_channels_used_not_negative"),
)

queues = Table(
    "queues",
    metadata,
    Column("queue_id", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    # The whole policy (services/routing/store/queues.py reads and writes it).
    Column("policy", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

offers = Table(
    "offers",
    metadata,
    Column("offer_id", String(36), primary_key=True),
    Column("task_id", String(36), nullable=False, index=True),
    Column("worker_id", String(64), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("decision_id", String(36), nullable=False),
    Column("reason", String(200), nullable=False),
)
Index("offers_worker", offers.c.worker_id, offers.c.status)
# Exactly one acceptance wins, whatever two processes do at once.
Index(
    "offers_one_accepted",
    offers.c.task_id,
    unique=True,
    postgresql_where=text("status = 'accepted'"),
    sqlite_where=text("status = 'accepted'"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", String(36), primary_key=True),
    Column("task_id", String(36), nullable=False, index=True),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("queue_id", String(64), nullable=False),
    Column("step", SmallInteger, nullable=False),
    Column("rule", String(64), nullable=False),
    # The best candidates: worker id, score and note each.
    Column("candidates", JSON, nullable=False),
    Column("qualified", Integer, nullable=False),
    Column("explanation", String(2000), nullable=False),
    Column("offered_to", JSON, nullable=False),
)

# What changed since the matcher last looked: it takes rows out (DELETE ... RETURNING) in the transaction
# that applies them, and re-reads each named record, so applying one twice does no harm.
changes = Table(
    "changes",
    metadata,
    Column("seq", BigIntId, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("key", String(64), nullable=False),
)

# Who runs the matcher: one owner at a time, with a fencing epoch every decision checks.
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

queue_stats = Table(
    "queue_stats",
    metadata,
    Column("queue_id", String(64), primary_key=True),
    Column("figures", JSON, nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
)

customer_agents = Table(
    "customer_agents",
    metadata,
    Column("customer_id", String(64), primary_key=True),
    Column("worker_id", String(64), nullable=False),
    Column("served_at", UtcDateTime, nullable=False),
)

# Work orders as ticketing's events describe them: what dispatch plans.
jobs = Table(
    "jobs",
    metadata,
    Column("work_order_id", String(36), primary_key=True),
    Column("ticket_id", String(36), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("required_skills", JSON, nullable=False),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("window_start", UtcDateTime, nullable=True),
    Column("window_end", UtcDateTime, nullable=True),
    Column("estimated_minutes", Integer, nullable=False),
    # Part SKU to quantity.
    Column("parts", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("technician_id", String(64), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("territory", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("jobs_window", jobs.c.window_start)

plans = Table(
    "plans",
    metadata,
    Column("plan_id", String(36), primary_key=True),
    Column("day", String(10), nullable=False),
    Column("territory", String(64), nullable=False),
    Column("body", JSON, nullable=False),
    Column("planned_at", UtcDateTime, nullable=False),
)
Index("plans_day", plans.c.day, plans.c.territory, plans.c.planned_at)
