"""The chassis's own tables, present in every service's database (created by its migrations)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, LargeBinary, MetaData, String, Table, Text, text

from switchboard.db.types import BigIntId, UtcDateTime

metadata = MetaData()

# Events committed with the state change that caused them, waiting for the relay to publish.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigIntId, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("exchange", String(255), nullable=False),
    Column("routing_key", String(255), nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Index(
        "ix_outbox_pending",
        "id",
        postgresql_where=text("published_at IS NULL"),
        sqlite_where=text("published_at IS NULL"),
    ),
)

# Every event a consumer applied, written in the transaction of its effect: applied once.
inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(255), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("applied_at", UtcDateTime, nullable=False),
)

# The first result of each mutating call, by caller, method and idempotency key.
idempotency = Table(
    "idempotency",
    metadata,
    Column("scope", String(255), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("response", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Events the embedded bus could not apply, with the reason (the broker keeps its own in a queue).
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigIntId, primary_key=True, autoincrement=True),
    Column("consumer", String(255), nullable=False),
    Column("event_id", String(64)),
    Column("exchange", String(255), nullable=False),
    Column("routing_key", String(255), nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("reason", Text, nullable=False),
    Column("failed_at", UtcDateTime, nullable=False),
)

# Work due at a moment (an SLA warning, an offer's timeout), one row per (service, kind, key): scheduling
# the same key again moves it. The timer loop sleeps until the earliest due_at, found on its index.
timers = Table(
    "timers",
    metadata,
    Column("service", String(64), primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("due_at", UtcDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("scheduled_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Index("ix_timers_due", "due_at"),
)
