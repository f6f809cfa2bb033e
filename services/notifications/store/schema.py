"""Notifications' tables.

The send ledger is ``notifications``: one row per (triggering event, recipient, channel), keyed by the
id derived from those three (domain/ids.py), so inserting it again does nothing. Its status, attempts,
next attempt and reason are the delivery record; a row with status ``failed`` is a dead letter.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, String, Table, Text, text

from switchboard.db.types import BigIntId, UtcDateTime

metadata = MetaData()

recipients = Table(
    "recipients",
    metadata,
    Column("recipient_id", String(64), primary_key=True),
    # "staff" or "customer"
    Column("kind", String(10), nullable=False),
    Column("name", String(200), nullable=False),
    Column("emails", JSON, nullable=False),
    Column("phones", JSON, nullable=False),
    Column("chat_url", Text, nullable=False),
    Column("webhook_url", Text, nullable=False),
    Column("locale", String(35), nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("consents", JSON, nullable=False),
    Column("account_owner", String(64), nullable=False),
    Column("merged_into", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    # Customers: the profile version copied, so an older customer.profile_changed never overwrites a newer one.
    Column("source_version", BigIntId, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Which teams a recipient supervises (SLA events go to a team's supervisors).
recipient_teams = Table(
    "recipient_teams",
    metadata,
    Column("team", String(64), primary_key=True),
    Column("recipient_id", String(64), primary_key=True),
)

preferences = Table(
    "preferences",
    metadata,
    Column("recipient_id", String(64), primary_key=True),
    # The preferences as one document: see store/preferences.py.
    Column("document", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

templates = Table(
    "templates",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("locale", String(35), primary_key=True),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

rules = Table(
    "rules",
    metadata,
    Column("rule_id", String(64), primary_key=True),
    Column("event_type", String(128), nullable=False, index=True),
    # The rule as one document: see store/templates.py.
    Column("document", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("seq", BigIntId, primary_key=True, autoincrement=True),
    Column("notification_id", String(36), nullable=False, unique=True),
    Column("trigger_event_id", String(64), nullable=False),
    Column("trigger_event_type", String(128), nullable=False),
    Column("recipient_id", String(64), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("address", Text, nullable=False),
    Column("category", String(64), nullable=False),
    Column("priority", String(10), nullable=False),
    Column("locale", String(35), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    # Fields of the triggering event a console acts on (offer_id, ticket_id, ...).
    Column("refs", JSON, nullable=False),
    # One of queued, sent, delivered, failed, suppressed.
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False),
    # While queued: when it is due (now, the end of quiet hours, the digest, the next retry).
    Column("next_attempt_at", UtcDateTime, nullable=True),
    # The deliverer pass holding it while it sends; its outcome is written only under the same claim.
    Column("claim", String(36), nullable=True),
    Column("reason", Text, nullable=False),
    Column("failover_of", String(36), nullable=False),
    # Held for the recipient's digest: sent together with the others due with it.
    Column("digest", Boolean, nullable=False),
    Column("provider_ref", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index(
    "notifications_due",
    notifications.c.next_attempt_at,
    postgresql_where=text("status = 'queued'"),
    sqlite_where=text("status = 'queued'"),
)
Index("notifications_recipient", notifications.c.recipient_id, notifications.c.seq)
Index("notifications_caps", notifications.c.recipient_id, notifications.c.category, notifications.c.created_at)
Index("notifications_customer", notifications.c.customer_id)
Index("notifications_trigger", notifications.c.trigger_event_id, notifications.c.recipient_id)

# The console's live feed: one item per console notification, in commit order per recipient.
feed_items = Table(
    "feed_items",
    metadata,
    Column("seq", BigIntId, primary_key=True, autoincrement=True),
    Column("recipient_id", String(64), nullable=False),
    Column("notification_id", String(36), nullable=False, unique=True),
    Column("trigger_event_type", String(128), nullable=False),
    Column("category", String(64), nullable=False),
    Column("priority", String(10), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("refs", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("feed_items_recipient", feed_items.c.recipient_id, feed_items.c.seq)

# When each recipient last got a digest on a channel.
digests = Table(
    "digests",
    metadata,
    Column("recipient_id", String(64), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("last_sent_at", UtcDateTime, nullable=False),
)
