"""SLA: calendars, policies (with every revision) and clocks; a fresh desk gets working defaults.

Revision ID: ticketing_0003
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from switchboard.db.types import UtcDateTime

revision = "ticketing_0003"
down_revision = "ticketing_0002"
branch_labels = None
depends_on = None

_HOUR = 3600
# Mon-Fri 08:00-18:00: a business day is ten hours.
_BUSINESS_DAY = 10 * _HOUR
_ALL_DAY = [["00:00", "24:00"]]
_OFFICE = [["08:00", "18:00"]]

# The defaults a desk starts with, in UTC: a desk sets its own zone, hours and holidays with PutCalendar.
CALENDARS: dict[str, dict[str, Any]] = {
    "24x7": {
        "name": "Around the clock",
        "time_zone": "UTC",
        "week": [_ALL_DAY] * 7,
        "holidays": [],
        "holiday_country": "",
        "holiday_subdivision": "",
    },
    "business-hours": {
        "name": "Business hours, Monday to Friday 08:00-18:00",
        "time_zone": "UTC",
        "week": [_OFFICE] * 5 + [[], []],
        "holidays": [],
        "holiday_country": "",
        "holiday_subdivision": "",
    },
}


def _policy(
    name: str, priority: int, calendar: str, first: int, following: int, resolution: int, warn: list[int]
) -> dict[str, Any]:
    return {
        "name": name,
        "priority": priority,
        "customer_tier": "",
        "calendar_id": calendar,
        "first_response_seconds": first,
        "next_response_seconds": following,
        "resolution_seconds": resolution,
        "warn_percents": warn,
        "escalation_queue": "escalations",
        "active": True,
    }


POLICIES: dict[str, dict[str, Any]] = {
    # Something is down: answered within the hour, fixed within four, nights and weekends included.
    "p1-critical": _policy("P1 critical, around the clock", 1, "24x7", _HOUR, _HOUR, 4 * _HOUR, [50, 75]),
    "p2-high": _policy("P2 high", 2, "business-hours", 2 * _HOUR, 4 * _HOUR, _BUSINESS_DAY, [75]),
    "p3-normal": _policy("P3 normal", 3, "business-hours", 8 * _HOUR, 8 * _HOUR, 3 * _BUSINESS_DAY, [75]),
    "p4-low": _policy("P4 low", 4, "business-hours", 2 * _BUSINESS_DAY, 2 * _BUSINESS_DAY, 10 * _BUSINESS_DAY, [75]),
}


def upgrade() -> None:
    calendars = op.create_table(
        "sla_calendars",
        sa.Column("calendar_id", sa.String(64), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
    )
    calendar_revisions = op.create_table(
        "sla_calendar_revisions",
        sa.Column("calendar_id", sa.String(64), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        # Recomputing a ticket's clocks applies the revision in force at each of its moments.
        sa.Column("valid_from", UtcDateTime, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
    )
    policies = op.create_table(
        "sla_policies",
        sa.Column("policy_id", sa.String(64), primary_key=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("priority", sa.SmallInteger, nullable=False),
        sa.Column("customer_tier", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
    )
    op.create_index("sla_policies_priority", "sla_policies", ["priority", "customer_tier"])
    policy_revisions = op.create_table(
        "sla_policy_revisions",
        sa.Column("policy_id", sa.String(64), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("valid_from", UtcDateTime, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
    )
    op.create_table(
        "sla_clocks",
        sa.Column("clock_id", sa.String(36), primary_key=True),
        sa.Column("ticket_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("calendar_id", sa.String(64), nullable=False),
        # The revision the running segment is measured with (the one in force when it began).
        sa.Column("calendar_revision", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("target_seconds", sa.BigInteger, nullable=False),
        # Business seconds used up to running_since (while running) or in all (paused, stopped).
        sa.Column("used_seconds", sa.BigInteger, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("warn_percents", sa.JSON, nullable=False),
        sa.Column("running_since", UtcDateTime),
        sa.Column("due_at", UtcDateTime),
        sa.Column("warned", sa.SmallInteger, nullable=False),
        sa.Column("stopped_at", UtcDateTime),
        sa.Column("breached_at", UtcDateTime),
        # The ticket's team when the clock stopped or breached.
        sa.Column("team", sa.String(64), nullable=False),
        sa.Column("announced_warning", sa.SmallInteger, nullable=False),
        sa.Column("breach_announced", sa.Boolean, nullable=False),
        sa.CheckConstraint("kind IN ('first_response', 'next_response', 'resolution')", name="sla_clocks_kind"),
        sa.CheckConstraint("state IN ('running', 'paused', 'met', 'breached')", name="sla_clocks_state"),
    )
    op.create_index("sla_clocks_ticket", "sla_clocks", ["ticket_id"])
    op.create_index("sla_clocks_started", "sla_clocks", ["started_at"])

    now = datetime.now(UTC)
    op.bulk_insert(
        calendars,
        [
            {"calendar_id": cid, "revision": 1, "body": body, "updated_at": now, "updated_by": "system"}
            for cid, body in CALENDARS.items()
        ],
    )
    op.bulk_insert(
        calendar_revisions,
        [{"calendar_id": cid, "revision": 1, "valid_from": now, "body": body} for cid, body in CALENDARS.items()],
    )
    op.bulk_insert(
        policies,
        [
            {
                "policy_id": pid,
                "revision": 1,
                "priority": body["priority"],
                "customer_tier": body["customer_tier"],
                "active": body["active"],
                "body": body,
                "updated_at": now,
                "updated_by": "system",
            }
            for pid, body in POLICIES.items()
        ],
    )
    op.bulk_insert(
        policy_revisions,
        [{"policy_id": pid, "revision": 1, "valid_from": now, "body": body} for pid, body in POLICIES.items()],
    )


def downgrade() -> None:
    op.drop_index("sla_clocks_started", "sla_clocks")
    op.drop_index("sla_clocks_ticket", "sla_clocks")
    op.drop_table("sla_clocks")
    op.drop_table("sla_policy_revisions")
    op.drop_index("sla_policies_priority", "sla_policies")
    op.drop_table("sla_policies")
    op.drop_table("sla_calendar_revisions")
    op.drop_table("sla_calendars")
