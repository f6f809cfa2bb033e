"""RabbitMQ through kombu: the relay's publisher and the threaded consumer runtime.

Queues are quorum queues with a delivery limit and a dead-letter exchange. A handler that fails is
retried with backoff (handling.Applier); one that keeps failing, or a message that can never be
applied, is republished to the dead-letter exchange with its reason (confirmed) and only then
acknowledged. A process that dies mid-message leaves it unacknowledged: the broker redelivers it,
and after delivery_limit deliveries dead-letters it itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from kombu.connection import Connection
from kombu.entity import Exchange, Queue
from kombu.message import Message
from kombu.messaging import Consumer as KombuConsumer
from kombu.messaging import Producer

from switchboard.bus.handling import Applier, HandlerFailed
from switchboard.bus.relay import OutgoingMessage
from switchboard.bus.topology import (
    DEAD_LETTER_EXCHANGE,
    Subscription,
    dead_letter_queue,
    exchange_name,
    screen_queue,
)
from switchboard.catalog import EVENT_TYPES
from switchboard.errors import MalformedEvent
from switchboard.settings import Settings

log = structlog.get_logger("switchboard.bus")

_TRANSPORT_OPTIONS = {"confirm_publish": True}


def events_exchange(source: str) -> Exchange:
    # Declared exactly as nameko declares it, so either side may create it first.
    return Exchange(exchange_name(source), type="topic", durable=True, auto_delete=False)


def _dead_letter_exchange() -> Exchange:
    return Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True, auto_delete=False)


def _quorum(**extra: Any) -> dict[str, Any]:
    return {"x-queue-type": "quorum", **extra}


class BrokerPublisher:
    """Publishes with publisher confirms and the mandatory flag; one connection, used by one thread.

    A batch goes out whole and its confirms are awaited together: waiting for each in turn would
    cost a broker round trip (and a quorum-queue fsync) per message.
    """

    def __init__(self, url: str, confirm_timeout: float = 30.0) -> None:
        self.url = url
        self.confirm_timeout = confirm_timeout
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._declared: set[str] = set()
        self._tag = 0  # the channel's last delivery tag: confirms name messages by it
        self._unconfirmed: set[int] = set()
        self._nacked: set[int] = set()

    def _ready(self) -> Producer:
        if self._producer is None:
            self._connection = Connection(self.url, heartbeat=0)
            self._connection.ensure_connection(max_retries=1)
            channel = self._connection.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            self._producer = Producer(channel, on_return=self._on_return)
            self._declared.clear()
            self._tag = 0
            self._unconfirmed.clear()
            self._nacked.clear()
        return self._producer

    def _settle(self, tag: int, multiple: bool) -> set[int]:
        settled = {t for t in self._unconfirmed if t <= tag} if multiple else {tag} & self._unconfirmed
        self._unconfirmed -= settled
        return settled

    def _on_ack(self, tag: int, multiple: bool) -> None:
        self._settle(tag, multiple)

    def _on_nack(self, tag: int, multiple: bool) -> None:
        self._nacked |= self._settle(tag, multiple)

    def _on_return(self, exception: Exception, exchange: str, routing_key: str, message: Any) -> None:
        # No queue is bound for this event type yet. The broker definitions in deploy/ give every
        # events exchange an alternate exchange that keeps such messages; here, make it visible.
        log.warning("event.unroutable", exchange=exchange, routing_key=routing_key, reason=str(exception))

    def publish_all(self, messages: Sequence[OutgoingMessage]) -> tuple[int, Exception | None]:
        tags: list[int] = []
        failure: Exception | None = None
        try:
            producer = self._ready()
            for message in messages:
                if message.exchange not in self._declared:
                    source = message.exchange.removesuffix(".events")
                    events_exchange(source)(producer.channel).declare()
                    self._declared.add(message.exchange)
                producer.publish(
                    message.body,
                    exchange=message.exchange,
                    routing_key=message.routing_key,
                    content_type=message.content_type,
                    content_encoding="utf-8",
                    headers=message.headers,
                    message_id=message.event_id,
                    delivery_mode=2,
                    mandatory=True,
                    retry=False,
                )
                self._tag += 1
                self._unconfirmed.add(self._tag)
                tags.append(self._tag)
            deadline = time.monotonic() + self.confirm_timeout
            while self._unconfirmed.intersection(tags):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the broker did not confirm within {self.confirm_timeout}s")
                assert self._connection is not None
                self._connection.drain_events(timeout=max(deadline - time.monotonic(), 0.01))
        except Exception as exc:
            failure = exc
        delivered = next((i for i, t in enumerate(tags) if t in self._unconfirmed or t in self._nacked), len(tags))
        if failure is None and delivered < len(messages):
            failure = RuntimeError("the broker refused the message (basic.nack)")
        if failure is not None:
            self.close()
        return delivered, failure

    def publish(self, message: OutgoingMessage) -> None:
        _, error = self.publish_all([message])
        if error is not None:
            raise error

    def close(self) -> None:
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception as exc:  # closing a broken connection may fail again; it is gone either way
                log.debug("publisher.close_failed", error=repr(exc))


@dataclass(frozen=True)
class ServiceQueues:
    """A service's queues on the broker: one per subscription, one per screened source, and its dead-letter queue."""

    settings: Settings
    service: str
    subscriptions: list[Subscription]
    # Sources whose unknown event types this service dead-letters (see screens()).
    screened: tuple[str, ...] = ()

    def _arguments(self, name: str) -> dict[str, Any]:
        return _quorum(
            **{
                "x-delivery-limit": self.settings.delivery_limit,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": name,
            },
        )

    def queues(self) -> list[tuple[Subscription, Queue]]:
        result = []
        for subscription in self.subscriptions:
            name = subscription.queue(self.service)
            arguments = self._arguments(name)
            if subscription.ordered:
                arguments["x-single-active-consumer"] = True
            queue = Queue(
                name,
                events_exchange(subscription.source),
                routing_key=subscription.event_type,
                durable=True,
                auto_delete=False,
                queue_arguments=arguments,
            )
            result.append((subscription, queue))
        return result

    def screens(self) -> list[Queue]:
        """One queue per screened source, bound to every type: an event whose type no queue is bound for would
        otherwise vanish at the exchange. It costs one more enqueue per event of that source, which is why only
        the sources other systems publish to are screened."""
        return [
            Queue(
                screen_queue(source, self.service),
                events_exchange(source),
                routing_key="#",
                durable=True,
                auto_delete=False,
                queue_arguments=self._arguments(screen_queue(source, self.service)),
            )
            for source in self.screened
        ]

    def declare(self, channel: Any) -> None:
        """Exchanges, queues, bindings and the dead-letter queue; safe to repeat."""
        dlq = Queue(
            dead_letter_queue(self.service),
            _dead_letter_exchange(),
            routing_key=dead_letter_queue(self.service),
            durable=True,
            auto_delete=False,
            queue_arguments=_quorum(),
        )
        dlq(channel).declare()
        for queue in [q for _, q in self.queues()] + self.screens():
            queue(channel).declare()
            channel.queue_bind(dlq.name, DEAD_LETTER_EXCHANGE, routing_key=queue.name)


class BrokerConsumer:
    """Runs a service's subscriptions on ``consumer_threads`` threads, each with its own connection."""

    def __init__(
        self,
        settings: Settings,
        applier: Applier,
        subscriptions: list[Subscription],
        screened: tuple[str, ...] = (),
    ) -> None:
        if settings.broker_url is None:
            raise ValueError("BrokerConsumer needs SWITCHBOARD_BROKER_URL")
        self.settings, self.applier = settings, applier
        self.url: str = settings.broker_url
        self.service = applier.service
        self.topology = ServiceQueues(settings, applier.service, subscriptions, screened)
        self.ready = threading.Event()

    def run(self, stop: threading.Event) -> None:
        threads = [
            threading.Thread(target=self._work, args=(stop,), name=f"{self.service}-consumer-{i}", daemon=True)
            for i in range(self.settings.consumer_threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _work(self, stop: threading.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                self._consume(stop)
                backoff = 0.5
            except Exception as exc:
                log.warning("consumer.disconnected", service=self.service, error=repr(exc), retry_in=backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _consume(self, stop: threading.Event) -> None:
        with Connection(self.url, transport_options=_TRANSPORT_OPTIONS, heartbeat=30) as connection:
            connection.ensure_connection(max_retries=1)
            channel = connection.channel()
            self.topology.declare(channel)
            producer = Producer(channel, on_return=self._on_dead_letter_return)
            consumers = [
                KombuConsumer(
                    channel,
                    queues=[queue],
                    on_message=self._handler(subscription, producer),
                    prefetch_count=self.settings.prefetch,
                    accept=None,
                )
                for subscription, queue in self.topology.queues()
            ] + [
                KombuConsumer(
                    channel,
                    queues=[queue],
                    on_message=self._screen(queue.name, producer),
                    prefetch_count=self.settings.prefetch,
                    accept=None,
                )
                for queue in self.topology.screens()
            ]
            for consumer in consumers:
                consumer.consume()
            log.info("consumer.ready", service=self.service, queues=[q.name for _, q in self.topology.queues()])
            self.ready.set()
            while not stop.is_set():
                try:
                    connection.drain_events(timeout=0.5)
                except TimeoutError:
                    connection.heartbeat_check()
            for consumer in consumers:
                consumer.cancel()

    def _handler(self, subscription: Subscription, producer: Producer) -> Any:
        queue_name = subscription.queue(self.service)

        def on_message(message: Message) -> None:
            try:
                self.applier.apply(subscription, message.body, message.content_type)
            except (MalformedEvent, HandlerFailed) as exc:
                self._dead_letter(producer, queue_name, message, str(exc))
            message.ack()

        return on_message

    def _screen(self, queue_name: str, producer: Producer) -> Any:
        def on_message(message: Message) -> None:
            # The routing key is the event type; the subscribed queues apply (or dead-letter) the known ones.
            event_type = message.delivery_info.get("routing_key", "")
            if event_type not in EVENT_TYPES:
                self._dead_letter(
                    producer,
                    queue_name,
                    message,
                    f"unknown event type {event_type!r}: not in the suite's catalog (see protos/switchboard/events/v1)",
                )
            message.ack()

        return on_message

    def _dead_letter(self, producer: Producer, queue_name: str, message: Message, reason: str) -> None:
        headers = dict(message.headers or {})
        headers.update(
            {
                "x-switchboard-reason": reason,
                "x-switchboard-queue": queue_name,
                "x-switchboard-failed-at": datetime.now(UTC).isoformat(),
            }
        )
        producer.publish(
            message.body,
            exchange=DEAD_LETTER_EXCHANGE,
            routing_key=queue_name,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            headers=headers,
            message_id=message.properties.get("message_id"),
            delivery_mode=2,
            mandatory=True,
            retry=False,
        )
        log.error(
            "event.dead_lettered", queue=queue_name, message_id=message.properties.get("message_id"), reason=reason
        )

    @staticmethod
    def _on_dead_letter_return(exception: Exception, exchange: str, routing_key: str, message: Any) -> None:
        # The dead-letter queue is declared before consuming starts; a return means it was deleted.
        raise RuntimeError(f"dead-letter queue for {routing_key} is missing: {exception}")
