"""Names on the broker, following nameko's conventions so nameko services interoperate.

One durable topic exchange per source, ``<source>.events``; the routing key is the event type;
a consumer's queue is ``evt-<source>-<event type>--<service>.<handler>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from switchboard.catalog import EVENT_TYPES
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event

DEAD_LETTER_EXCHANGE = "switchboard.dead-letter"

Handler = Callable[[UnitOfWork, Event], None]


def exchange_name(source: str) -> str:
    return f"{source}.events"


def dead_letter_queue(service: str) -> str:
    return f"{service}.dead-letter"


@dataclass(frozen=True)
class Subscription:
    """A service applies events of one type with one use case."""

    event_type: str
    handler: Handler
    # One consumer at a time (single active consumer) where the order of events matters.
    ordered: bool = False

    def __post_init__(self) -> None:
        if self.event_type not in EVENT_TYPES:
            raise ValueError(f"{self.event_type!r} is not an event type in switchboard.catalog")

    @property
    def source(self) -> str:
        return EVENT_TYPES[self.event_type].source

    @property
    def exchange(self) -> str:
        return exchange_name(self.source)

    @property
    def handler_name(self) -> str:
        return self.handler.__name__

    def queue(self, service: str) -> str:
        return f"evt-{self.source}-{self.event_type}--{service}.{self.handler_name}"


def screen_queue(source: str, service: str) -> str:
    """The queue that sees every event on ``<source>.events`` so that types nobody knows are dead-lettered."""
    return f"evt-{source}-unknown--{service}.screen"
