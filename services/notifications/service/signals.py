"""Commit-time wake-ups of notifications' loops and streams, and the status events every change emits."""

from __future__ import annotations

from datetime import datetime

from services.notifications.domain.notifications import Notification
from switchboard import signals
from switchboard.db.uow import UnitOfWork
from switchboard.events.v1.notification_events_pb2 import NotificationStatusChanged
from switchboard.timestamps import timestamp

# The deliverer listens here: something fell due now (payload empty).
DUE_CHANNEL = "notifications_due"
# Subscribe streams listen here; the payload is the recipient whose feed grew.
FEED_CHANNEL = "notifications_feed"


def wake_deliverer(uow: UnitOfWork) -> None:
    signals.notify_on_commit(uow, DUE_CHANNEL)


def feed_grew(uow: UnitOfWork, recipient_id: str) -> None:
    signals.notify_on_commit(uow, FEED_CHANNEL, recipient_id)


def status_changed(
    uow: UnitOfWork, n: Notification, status: str, now: datetime, *, reason: str = "", attempt: int | None = None
) -> None:
    """notification.status_changed: customer360 puts the ones sent to a customer on their timeline."""
    uow.emit(
        NotificationStatusChanged(
            notification_id=n.notification_id,
            trigger_event_id=n.trigger_event_id,
            trigger_event_type=n.trigger_event_type,
            recipient_id=n.recipient_id,
            customer_id=n.customer_id,
            channel=n.channel,
            category=n.category,
            status=status,
            attempt=n.attempts if attempt is None else attempt,
            reason=reason,
            subject=n.subject,
            changed_at=timestamp(now),
            failover_of=n.failover_of,
        ),
        customer_id=n.customer_id,
    )
