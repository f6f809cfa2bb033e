"""Recipients, preferences, templates, rules, the send ledger, the console feed and digests; the
default templates and rules.

Revision ID: notifications_0001
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from services.notifications.domain.rules import DEFAULT_RULES
from services.notifications.domain.templates import DEFAULT_TEMPLATES
from switchboard.db.types import BigIntId, UtcDateTime

revision = "notifications_0001"
down_revision = None
branch_labels = ("notifications",)
depends_on = None


def upgrade() -> None:

    op.create_table(
        "recipients",
        sa.Column("recipient_id", sa.String(64), primary_key=True),
        # "staff" or "customer"
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("emails", sa.JSON, nullable=False),
        sa.Column("phones", sa.JSON, nullable=False),
        sa.Column("chat_url", sa.Text, nullable=False),
        sa.Column("webhook_url", sa.Text, nullable=False),
        sa.Column("locale", sa.String(35), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("consents", sa.JSON, nullable=False),
        sa.Column("account_owner", sa.String(64), nullable=False),
        sa.Column("merged_into", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        # Customers: the profile version copied, so an older customer.profile_changed never overwrites a newer one.
        sa.Column("source_version", BigIntId, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )

    # Which teams a recipient supervises (SLA events go to a team's supervisors).
    op.create_table(
        "recipient_teams",
        sa.Column("team", sa.String(64), primary_key=True),
        sa.Column("recipient_id", sa.String(64), primary_key=True),
    )

    op.create_table(
        "preferences",
        sa.Column("recipient_id", sa.String(64), primary_key=True),
        # The preferences as one document: see store/preferences.py.
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )

    op.create_table(
        "templates",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("locale", sa.String(35), primary_key=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )

    op.create_table(
        "rules",
        sa.Column("rule_id", sa.String(64), primary_key=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        # The rule as one document: see store/templates.py.
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )

    op.create_table(
        "notifications",
        sa.Column("seq", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("notification_id", sa.String(36), nullable=False, unique=True),
        sa.Column("trigger_event_id", sa.String(64), nullable=False),
        sa.Column("trigger_event_type", sa.String(128), nullable=False),
        sa.Column("recipient_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("locale", sa.String(35), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        # Fields of the triggering event a console acts on (offer_id, ticket_id, ...).
        sa.Column("refs", sa.JSON, nullable=False),
        # One of queued, sent, delivered, failed, suppressed.
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        # While queued: when it is due (now, the end of quiet hours, the digest, the next retry).
        sa.Column("next_attempt_at", UtcDateTime, nullable=True),
        # The deliverer pass holding it while it sends; its outcome is written only under the same claim.
        sa.Column("claim", sa.String(36), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("failover_of", sa.String(36), nullable=False),
        # Held for the recipient's digest: sent together with the others due with it.
        sa.Column("digest", sa.Boolean, nullable=False),
        sa.Column("provider_ref", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index(
        "notifications_due",
        "notifications",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'queued'"),
        sqlite_where=sa.text("status = 'queued'"),
    )
    op.create_index("notifications_recipient", "notifications", ["recipient_id", "seq"])
    op.create_index("notifications_caps", "notifications", ["recipient_id", "category", "created_at"])
    op.create_index("notifications_customer", "notifications", ["customer_id"])
    op.create_index("notifications_trigger", "notifications", ["trigger_event_id", "recipient_id"])

    # The console's live feed: one item per console notification, in commit order per recipient.
    op.create_table(
        "feed_items",
        sa.Column("seq", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("recipient_id", sa.String(64), nullable=False),
        sa.Column("notification_id", sa.String(36), nullable=False, unique=True),
        sa.Column("trigger_event_type", sa.String(128), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("refs", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("feed_items_recipient", "feed_items", ["recipient_id", "seq"])

    # When each recipient last got a digest on a channel.
    op.create_table(
        "digests",
        sa.Column("recipient_id", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("last_sent_at", UtcDateTime, nullable=False),
    )
    op.create_index("rules_event_type", "rules", ["event_type"])
    _seed()


def _seed() -> None:
    """The issue's default triggers and their English and Chinese templates; changed later through the API."""
    now = datetime.now(UTC)
    templates = sa.table(
        "templates",
        sa.column("key", sa.String),
        sa.column("locale", sa.String),
        sa.column("subject", sa.Text),
        sa.column("body", sa.Text),
        sa.column("version", sa.Integer),
        sa.column("updated_at", UtcDateTime),
    )
    op.bulk_insert(
        templates,
        [
            {"key": t.key, "locale": t.locale, "subject": t.subject, "body": t.body, "version": 1, "updated_at": now}
            for t in DEFAULT_TEMPLATES
        ],
    )
    rules = sa.table(
        "rules",
        sa.column("rule_id", sa.String),
        sa.column("event_type", sa.String),
        sa.column("document", sa.JSON),
        sa.column("version", sa.Integer),
        sa.column("updated_at", UtcDateTime),
    )
    op.bulk_insert(
        rules,
        [
            {
                "rule_id": r.rule_id,
                "event_type": r.event_type,
                "document": {
                    "audiences": list(r.audiences),
                    "category": r.category,
                    "priority": r.priority,
                    "channels": list(r.channels),
                    "template_key": r.template_key,
                    "enabled": r.enabled,
                    "when": {name: list(values) for name, values in r.when.items()},
                },
                "version": 1,
                "updated_at": now,
            }
            for r in DEFAULT_RULES
        ],
    )


def downgrade() -> None:
    for table in (
        "digests",
        "feed_items",
        "notifications",
        "rules",
        "templates",
        "preferences",
        "recipient_teams",
        "recipients",
    ):
        op.drop_table(table)
