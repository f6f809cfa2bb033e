"""What notifications' unit tests share: a migrated SQLite runtime, recipients, real-looking events,
fake channels, and reading the ledger back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from services.notifications.channels.base import Message, PermanentFailure, Receipt, TransientFailure
from services.notifications.domain.recipients import Recipient
from services.notifications.store.recipients import RecipientStore
from services.notifications.store.schema import feed_items, notifications
from switchboard.composition import Runtime
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.envelope import decode
from switchboard.events.v1.customer_events_pb2 import ContactConsents, CustomerProfileChanged
from switchboard.events.v1.routing_events_pb2 import OfferCreated
from switchboard.events.v1.work_order_events_pb2 import WorkOrderScheduled
from switchboard.timestamps import timestamp

WINDOW_START = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
WINDOW_END = datetime(2026, 3, 30, 10, 0, tzinfo=UTC)


def tom() -> Recipient:
    """A field technician in Berlin who reads German, with an email address."""
    return Recipient("tom", name="Tom Becker", emails=("tom@example.com",), locale="de", time_zone="Europe/Berlin")


def sofia() -> Recipient:
    """The heating team's supervisor."""
    return Recipient("sofia", name="Sofia", emails=("sofia@example.com",), supervises=frozenset({"heating"}))


def put(runtime: Runtime, *recipients: Recipient) -> None:
    with runtime.uow() as uow:
        for recipient in recipients:
            RecipientStore(uow.session).add(recipient)
        uow.commit()


def profile(customer_id: str = "C-1001", version: int = 1, **overrides: Any) -> CustomerProfileChanged:
    """Li Wei in Shanghai, who reads Chinese and agreed to email and SMS."""
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "version": version,
        "display_name": "Li Wei",
        "emails": ["li.wei@example.cn"],
        "phones": ["+8613800138000"],
        "preferred_language": "zh-CN",
        "time_zone": "Asia/Shanghai",
        "consents": ContactConsents(email=True, sms=True),
        "account_owner": "olga",
    }
    values.update(overrides)
    return CustomerProfileChanged(**values)


def offer(worker_id: str = "alice", **overrides: Any) -> OfferCreated:
    values: dict[str, Any] = {
        "offer_id": "01a2-offer-0001",
        "task_id": "01a2-task-0001",
        "ticket_id": "01a2-ticket-0001",
        "customer_id": "C-1001",
        "worker_id": worker_id,
        "queue_id": "heating",
        "expires_at": timestamp(datetime(2026, 3, 14, 9, 31, tzinfo=UTC)),
    }
    values.update(overrides)
    return OfferCreated(**values)


def scheduled(**overrides: Any) -> WorkOrderScheduled:
    values: dict[str, Any] = {
        "work_order_id": "WO-000042",
        "ticket_id": "01a2-ticket-0001",
        "customer_id": "C-1001",
        "technician_id": "tom",
        "window_start": timestamp(WINDOW_START),
        "window_end": timestamp(WINDOW_END),
        "actor": "sue",
        "version": 2,
    }
    values.update(overrides)
    return WorkOrderScheduled(**values)


def ledger(db: Database, **where: Any) -> list[Any]:
    query = select(notifications).order_by(notifications.c.seq)
    for name, value in where.items():
        query = query.where(notifications.c[name] == value)
    with db.engine.connect() as connection:
        return list(connection.execute(query).all())


def by_channel(db: Database, recipient_id: str) -> dict[str, Any]:
    return {row.channel: row for row in ledger(db, recipient_id=recipient_id)}


def feed(db: Database, recipient_id: str) -> list[Any]:
    with db.engine.connect() as connection:
        return list(
            connection.execute(
                select(feed_items).where(feed_items.c.recipient_id == recipient_id).order_by(feed_items.c.seq)
            ).all()
        )


def status_events(db: Database) -> list[tuple[str, str, str]]:
    """(channel, recipient, status) of every notification.status_changed in the outbox, in order."""
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(outbox).where(outbox.c.routing_key == "notification.status_changed").order_by(outbox.c.id)
        ).all()
    found = []
    for row in rows:
        payload = decode(row.body, row.content_type).payload
        found.append((payload.channel, payload.recipient_id, payload.status))  # type: ignore[attr-defined]
    return found


@dataclass
class FakeChannel:
    """A channel that answers from a script: each send takes the next outcome (the last one repeats)."""

    name: str
    outcomes: list[str] = field(default_factory=lambda: ["sent"])
    sent: list[Message] = field(default_factory=list)
    tried: list[Message] = field(default_factory=list)

    def send(self, message: Message) -> Receipt:
        self.tried.append(message)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if outcome == "transient":
            raise TransientFailure(f"{self.name}: connection refused")
        if outcome == "permanent":
            raise PermanentFailure(f"{self.name}: 550 5.1.1 no such user")
        self.sent.append(message)
        return Receipt("sent", provider_ref=f"<{message.notification_id}@test>")
