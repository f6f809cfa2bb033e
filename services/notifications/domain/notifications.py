"""A notification: one message to one recipient on one channel, and where its delivery stands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.notifications.domain.delivery import QUEUED


@dataclass(frozen=True)
class Notification:
    notification_id: str
    trigger_event_id: str
    trigger_event_type: str
    recipient_id: str
    channel: str
    address: str
    category: str
    priority: str
    subject: str
    body: str
    locale: str = "en"
    # Set when the recipient is a customer (the timeline and erasure find it by this).
    customer_id: str = ""
    refs: Mapping[str, str] = field(default_factory=dict)
    status: str = QUEUED
    attempts: int = 0
    next_attempt_at: datetime | None = None
    reason: str = ""
    failover_of: str = ""
    digest: bool = False
    provider_ref: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    seq: int = 0


@dataclass(frozen=True)
class FeedItem:
    """One item of a console's live feed."""

    cursor: int
    recipient_id: str
    notification_id: str
    trigger_event_type: str
    category: str
    priority: str
    subject: str
    body: str
    refs: Mapping[str, str]
    created_at: datetime
