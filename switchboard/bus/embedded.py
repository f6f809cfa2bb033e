"""The embedded bus: the relay hands each outbox row to the subscribed use cases in this process.

Bodies travel as the same wire bytes as on RabbitMQ and go through the same Applier, so a handler
cannot tell the two apart. A message a subscriber cannot apply is kept, with its reason, in that
subscriber's dead_letters table; the row is marked delivered only after every subscriber had it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import structlog

from switchboard.bus.handling import Applier, HandlerFailed
from switchboard.bus.relay import OutgoingMessage, PublishesEach
from switchboard.bus.topology import Subscription
from switchboard.db.engine import Database
from switchboard.db.tables import dead_letters
from switchboard.db.types import utcnow
from switchboard.errors import MalformedEvent

log = structlog.get_logger("switchboard.bus")


@dataclass(frozen=True)
class _Route:
    applier: Applier
    db: Database
    subscription: Subscription


class EmbeddedBus(PublishesEach):
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], list[_Route]] = defaultdict(list)

    def subscribe(self, applier: Applier, db: Database, subscriptions: list[Subscription]) -> None:
        for subscription in subscriptions:
            key = (subscription.exchange, subscription.event_type)
            self._routes[key].append(_Route(applier, db, subscription))

    def publish(self, message: OutgoingMessage) -> None:
        for route in self._routes.get((message.exchange, message.routing_key), []):
            try:
                route.applier.apply(route.subscription, message.body, message.content_type)
            except (MalformedEvent, HandlerFailed) as exc:
                consumer = route.subscription.queue(route.applier.service)
                with route.db.engine.begin() as connection:
                    connection.execute(
                        dead_letters.insert().values(
                            consumer=consumer,
                            event_id=message.event_id,
                            exchange=message.exchange,
                            routing_key=message.routing_key,
                            content_type=message.content_type,
                            body=message.body,
                            reason=str(exc),
                            failed_at=utcnow(),
                        )
                    )
                log.error("event.dead_lettered", consumer=consumer, event_id=message.event_id, reason=str(exc))
