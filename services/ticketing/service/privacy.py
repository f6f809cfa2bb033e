"""A customer erased in customer360 is erased here too, and stays erased."""

from __future__ import annotations

from datetime import UTC

import structlog

from services.ticketing.store.customers import CustomerStore
from services.ticketing.store.erasure import erase_customer_data
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event
from switchboard.events.v1.customer_events_pb2 import CustomerErased

log = structlog.get_logger("ticketing.privacy")


def erase_customer(uow: UnitOfWork, event: Event) -> None:
    """Scrub everything personal in the customer's tickets and remember the erasure, so that a replayed event
    naming the customer opens nothing new."""
    erased = event.payload
    assert isinstance(erased, CustomerErased)
    at = (erased.erased_at if erased.HasField("erased_at") else event.envelope.occurred_at).ToDatetime(tzinfo=UTC)
    CustomerStore(uow.session).mark_erased(erased.customer_id, at=at)
    touched = erase_customer_data(uow.session, erased.customer_id)
    log.info("customer.erased", customer_id=erased.customer_id, tickets=touched, event_id=event.event_id)
