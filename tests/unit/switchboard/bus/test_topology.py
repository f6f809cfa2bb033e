"""Names on the broker follow nameko's conventions: <source>.events, evt-<source>-<type>--<service>.<handler>."""

from __future__ import annotations

import pytest

from switchboard.bus.topology import Subscription, dead_letter_queue, exchange_name
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event


def queue_ticket(uow: UnitOfWork, event: Event) -> None:
    """A stand-in for routing's use case; only its name matters here."""


def test_each_source_has_its_own_events_exchange() -> None:
    assert exchange_name("ticketing") == "ticketing.events"


def test_a_subscription_listens_on_the_exchange_of_the_events_source() -> None:
    subscription = Subscription("ticket.created", queue_ticket)

    assert (subscription.source, subscription.exchange) == ("ticketing", "ticketing.events")


def test_a_subscriptions_queue_is_named_by_source_event_type_service_and_handler() -> None:
    subscription = Subscription("ticket.created", queue_ticket)

    assert subscription.queue("routing") == "evt-ticketing-ticket.created--routing.queue_ticket"


def test_a_subscription_to_an_event_type_not_in_the_catalog_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'ticket\.exploded' is not an event type in switchboard\.catalog"):
        Subscription("ticket.exploded", queue_ticket)


def test_each_service_has_its_own_dead_letter_queue() -> None:
    assert dead_letter_queue("routing") == "routing.dead-letter"
