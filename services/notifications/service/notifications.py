"""Ad hoc sends, the status of a notification, a recipient's notifications, and the console's feed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from services.notifications.domain.delivery import DELIVERED, SENT
from services.notifications.domain.notifications import FeedItem, Notification
from services.notifications.domain.rules import Target
from services.notifications.domain.templates import ADHOC_KEY
from services.notifications.service import signals
from services.notifications.service.planning import Plan, Trigger, plan_for, resolve
from services.notifications.store.ledger import Feed, Ledger
from services.notifications.store.recipients import RecipientStore
from services.notifications.store.templates import TemplateStore
from switchboard import errors
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.ids import new_id

# Ad hoc messages go where the recipient reads: staff at the console and by email, customers by email.
STAFF_DEFAULT = ("console", "email")
CUSTOMER_DEFAULT = ("email",)


def send(
    uow: UnitOfWork,
    *,
    recipient_id: str,
    category: str,
    priority: str,
    channels: Sequence[str],
    template_key: str,
    subject: str,
    body: str,
    variables: Mapping[str, str],
    link: str,
    actor: str,
    now: datetime | None = None,
) -> list[Notification]:
    """Send one message to one recipient now (or when their preferences allow); its own trigger id stands in
    for an event's, so the call's retries (same idempotency key) answer with the same notifications."""
    store = RecipientStore(uow.session)
    known = store.get(recipient_id)
    if known is None:
        raise errors.NotFound("recipient", recipient_id)
    key = template_key or ADHOC_KEY
    if not TemplateStore(uow.session).for_key(key):
        raise errors.InvalidArgument([errors.FieldViolation("template_key", f"no template is stored for {key!r}")])
    [recipient] = resolve(uow, Target("customer" if known.kind == "customer" else "staff", recipient_id))
    defaults = CUSTOMER_DEFAULT if recipient.kind == "customer" else STAFF_DEFAULT
    now = now or utcnow()
    trigger = Trigger(
        event_id=f"send:{new_id()}",
        event_type="send",
        occurred_at=now.isoformat(),
        payload={"sent_by": actor},
        customer_id=recipient.recipient_id if recipient.kind == "customer" else "",
    )
    plan = Plan(
        category=category or "adhoc",
        priority=priority or "normal",
        channels=tuple(channels) or defaults,
        template_key=key,
        extra={**variables, "subject": subject, "body": body},
        link=link,
    )
    # Explicit channels are the caller's choice: preferences pick channels only when none are given.
    return plan_for(uow, trigger, plan, recipient, now, use_preferred_channels=not channels)


def get_status(uow: UnitOfWork, notification_id: str) -> Notification:
    found = Ledger(uow.session).get(notification_id)
    if found is None:
        raise errors.NotFound("notification", notification_id)
    return found


def list_for(
    uow: UnitOfWork, recipient_id: str, *, status: str | None, before_seq: int, limit: int
) -> list[Notification]:
    return Ledger(uow.session).list_for(recipient_id, status=status, before_seq=before_seq, limit=limit)


def feed_after(uow: UnitOfWork, recipient_id: str, cursor: int) -> list[FeedItem]:
    return Feed(uow.session).after(recipient_id, cursor)


def feed_start(uow: UnitOfWork, recipient_id: str, after_cursor: int, replay_latest: int) -> tuple[int, list[FeedItem]]:
    """Where a new stream starts: after the cursor it names, else after the latest items it asks to see again."""
    feed = Feed(uow.session)
    if after_cursor:
        return after_cursor, []
    if replay_latest:
        latest = feed.latest(recipient_id, replay_latest)
        return (latest[-1].cursor if latest else feed.last_cursor(recipient_id)), latest
    return feed.last_cursor(recipient_id), []


def mark_delivered(uow: UnitOfWork, items: Sequence[FeedItem], now: datetime) -> None:
    """Items streamed to the console were delivered; the first stream to show one says so, once."""
    ledger = Ledger(uow.session)
    for item in items:
        if ledger.move(item.notification_id, [SENT], now, status=DELIVERED):
            n = ledger.get(item.notification_id)
            if n is not None:
                signals.status_changed(uow, n, DELIVERED, now)
