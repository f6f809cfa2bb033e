"""The send ledger: notifications by their derived id, claimed by deliverers, finished under the claim.

Inserting a notification that exists does nothing (ON CONFLICT DO NOTHING), and whether a row went in
is learnt from RETURNING: with psycopg 3, rowcount says -1 for that statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.notifications.domain.delivery import FAILED, QUEUED, SUPPRESSED
from services.notifications.domain.notifications import FeedItem, Notification
from services.notifications.store.schema import digests, feed_items, notifications


def _notification(row: Row[Any]) -> Notification:
    return Notification(
        notification_id=row.notification_id,
        trigger_event_id=row.trigger_event_id,
        trigger_event_type=row.trigger_event_type,
        recipient_id=row.recipient_id,
        customer_id=row.customer_id,
        channel=row.channel,
        address=row.address,
        category=row.category,
        priority=row.priority,
        locale=row.locale,
        subject=row.subject,
        body=row.body,
        refs=dict(row.refs),
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        reason=row.reason,
        failover_of=row.failover_of,
        digest=row.digest,
        provider_ref=row.provider_ref,
        created_at=row.created_at,
        updated_at=row.updated_at,
        seq=row.seq,
    )


def _values(n: Notification, now: datetime) -> dict[str, Any]:
    return {
        "notification_id": n.notification_id,
        "trigger_event_id": n.trigger_event_id,
        "trigger_event_type": n.trigger_event_type,
        "recipient_id": n.recipient_id,
        "customer_id": n.customer_id,
        "channel": n.channel,
        "address": n.address,
        "category": n.category,
        "priority": n.priority,
        "locale": n.locale,
        "subject": n.subject,
        "body": n.body,
        "refs": dict(n.refs),
        "status": n.status,
        "attempts": n.attempts,
        "next_attempt_at": n.next_attempt_at,
        "claim": None,
        "reason": n.reason,
        "failover_of": n.failover_of,
        "digest": n.digest,
        "provider_ref": n.provider_ref,
        "created_at": now,
        "updated_at": now,
    }


# Inserting a notification that exists does nothing; RETURNING names the ones that went in.
_ADD = {
    sqlite: insert(notifications)
    .on_conflict_do_nothing(index_elements=[notifications.c.notification_id])
    .returning(notifications.c.notification_id)
    for sqlite, insert in ((False, postgresql_insert), (True, sqlite_insert))
}


class Ledger:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._sqlite = session.get_bind().dialect.name == "sqlite"

    def _insert(self, table: Any) -> Any:
        return (sqlite_insert if self._sqlite else postgresql_insert)(table)

    def add(self, n: Notification, now: datetime) -> bool:
        """Record a notification; False when one with its id exists already (a redelivered event)."""
        return bool(self.add_all([n], now))

    def add_all(self, ns: Sequence[Notification], now: datetime) -> set[str]:
        """Record notifications in one statement; returns the ids that went in (the others existed already)."""
        if not ns:
            return set()
        # One multi-row INSERT (SQLAlchemy's insertmanyvalues) from a statement built once per dialect: building
        # and coercing a 23-column VALUES clause per notification cost more than the database did.
        rows = self.session.execute(_ADD[self._sqlite], [_values(n, now) for n in ns])
        return {row.notification_id for row in rows}

    def get(self, notification_id: str) -> Notification | None:
        row = self.session.execute(
            select(notifications).where(notifications.c.notification_id == notification_id)
        ).first()
        return None if row is None else _notification(row)

    def for_trigger(self, trigger_event_id: str, recipient_id: str) -> list[Notification]:
        rows = self.session.execute(
            select(notifications)
            .where(notifications.c.trigger_event_id == trigger_event_id, notifications.c.recipient_id == recipient_id)
            .order_by(notifications.c.seq)
        )
        return [_notification(row) for row in rows]

    def list_for(self, recipient_id: str, *, status: str | None, before_seq: int, limit: int) -> list[Notification]:
        """Newest first, from before ``before_seq`` (0: the newest)."""
        query = select(notifications).where(notifications.c.recipient_id == recipient_id)
        if status:
            query = query.where(notifications.c.status == status)
        if before_seq:
            query = query.where(notifications.c.seq < before_seq)
        rows = self.session.execute(query.order_by(notifications.c.seq.desc()).limit(limit))
        return [_notification(row) for row in rows]

    def sent_since(self, recipient_id: str, category: str, since: datetime) -> int:
        """How many notifications of a category ('*': any) went to a recipient since then, or wait to go."""
        query = select(func.count()).where(
            notifications.c.recipient_id == recipient_id,
            notifications.c.created_at >= since,
            notifications.c.status.not_in([FAILED, SUPPRESSED]),
        )
        if category != "*":
            query = query.where(notifications.c.category == category)
        return int(self.session.execute(query).scalar_one())

    def claim_due(self, now: datetime, *, limit: int, claim: str, hold_until: datetime) -> list[Notification]:
        """Take up to ``limit`` due notifications for one pass: each is held until ``hold_until`` (then another
        deliverer may take it, should this one have died) and finished only under this claim."""
        due = (
            select(notifications.c.seq)
            .where(notifications.c.status == QUEUED, notifications.c.next_attempt_at <= now)
            .order_by(notifications.c.next_attempt_at)
            .limit(limit)
        )
        if not self._sqlite:
            due = due.with_for_update(skip_locked=True)
        return self._claim(notifications.c.seq.in_(due.scalar_subquery()), claim, hold_until)

    def claim_digest(
        self, recipient_id: str, channel: str, now: datetime, *, claim: str, hold_until: datetime
    ) -> list[Notification]:
        """Everything held for a recipient's digest on a channel, to go out as one message; not what another
        deliverer holds right now (its claim has not run out), which that one sends."""
        return self._claim(
            and_(
                notifications.c.recipient_id == recipient_id,
                notifications.c.channel == channel,
                notifications.c.status == QUEUED,
                notifications.c.digest.is_(True),
                or_(
                    notifications.c.claim.is_(None),
                    notifications.c.claim == claim,
                    notifications.c.next_attempt_at <= now,
                ),
            ),
            claim,
            hold_until,
        )

    def _claim(self, where: Any, claim: str, hold_until: datetime) -> list[Notification]:
        rows = self.session.execute(
            update(notifications)
            .where(where)
            .values(claim=claim, next_attempt_at=hold_until)
            .returning(*notifications.c)
        ).all()
        return sorted((_notification(row) for row in rows), key=lambda n: n.seq)

    def finish(self, notification_id: str, claim: str, now: datetime, **values: Any) -> bool:
        """Write an attempt's outcome, if this deliverer still holds the notification."""
        done = self.session.execute(
            update(notifications)
            .where(notifications.c.notification_id == notification_id, notifications.c.claim == claim)
            .values(claim=None, updated_at=now, **values)
            .returning(notifications.c.seq)
        ).first()
        return done is not None

    def move(self, notification_id: str, from_statuses: Sequence[str], now: datetime, **values: Any) -> bool:
        """Change a notification that is in one of ``from_statuses``; False when it is not (any more)."""
        done = self.session.execute(
            update(notifications)
            .where(notifications.c.notification_id == notification_id, notifications.c.status.in_(list(from_statuses)))
            .values(updated_at=now, **values)
            .returning(notifications.c.seq)
        ).first()
        return done is not None

    def scrub_customer(self, customer_id: str, now: datetime) -> int:
        """Erasure: keep that something was sent and how it went, drop what it said and where it went."""
        rows = self.session.execute(
            update(notifications)
            .where(notifications.c.customer_id == customer_id)
            .values(address="", subject="", body="", refs={}, updated_at=now)
            .returning(notifications.c.seq)
        ).all()
        return len(rows)

    def next_due(self) -> datetime | None:
        earliest: datetime | None = self.session.execute(
            select(func.min(notifications.c.next_attempt_at)).where(notifications.c.status == QUEUED)
        ).scalar()
        return earliest

    # Digests ------------------------------------------------------------------------------------

    def last_digest(self, recipient_id: str, channel: str) -> datetime | None:
        found: datetime | None = self.session.execute(
            select(digests.c.last_sent_at).where(digests.c.recipient_id == recipient_id, digests.c.channel == channel)
        ).scalar()
        return found

    def record_digest(self, recipient_id: str, channel: str, at: datetime) -> None:
        statement = self._insert(digests).values(recipient_id=recipient_id, channel=channel, last_sent_at=at)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[digests.c.recipient_id, digests.c.channel], set_={"last_sent_at": at}
            )
        )


def _item(row: Row[Any]) -> FeedItem:
    return FeedItem(
        cursor=row.seq,
        recipient_id=row.recipient_id,
        notification_id=row.notification_id,
        trigger_event_type=row.trigger_event_type,
        category=row.category,
        priority=row.priority,
        subject=row.subject,
        body=row.body,
        refs=dict(row.refs),
        created_at=row.created_at,
    )


class Feed:
    """The console's live feed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._sqlite = session.get_bind().dialect.name == "sqlite"

    def add(self, n: Notification, now: datetime) -> bool:
        statement = (
            (sqlite_insert if self._sqlite else postgresql_insert)(feed_items)
            .values(
                recipient_id=n.recipient_id,
                notification_id=n.notification_id,
                trigger_event_type=n.trigger_event_type,
                category=n.category,
                priority=n.priority,
                subject=n.subject,
                body=n.body,
                refs=dict(n.refs),
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[feed_items.c.notification_id])
            .returning(feed_items.c.seq)
        )
        return self.session.execute(statement).first() is not None

    def after(self, recipient_id: str, cursor: int, limit: int = 500) -> list[FeedItem]:
        rows = self.session.execute(
            select(feed_items)
            .where(feed_items.c.recipient_id == recipient_id, feed_items.c.seq > cursor)
            .order_by(feed_items.c.seq)
            .limit(limit)
        )
        return [_item(row) for row in rows]

    def latest(self, recipient_id: str, count: int) -> list[FeedItem]:
        rows = self.session.execute(
            select(feed_items)
            .where(feed_items.c.recipient_id == recipient_id)
            .order_by(feed_items.c.seq.desc())
            .limit(count)
        )
        return sorted((_item(row) for row in rows), key=lambda item: item.cursor)

    def last_cursor(self, recipient_id: str) -> int:
        found = self.session.execute(
            select(func.max(feed_items.c.seq)).where(feed_items.c.recipient_id == recipient_id)
        ).scalar()
        return int(found or 0)
