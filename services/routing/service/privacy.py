"""A customer erased in customer360 is forgotten here too: who served them and where their sites are."""

from __future__ import annotations

import structlog

from services.routing.store.jobs import JobStore
from services.routing.store.tasks import TaskStore
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event
from switchboard.events.v1.customer_events_pb2 import CustomerErased

log = structlog.get_logger("routing.privacy")


def forget_customer(uow: UnitOfWork, event: Event) -> None:
    erased = event.payload
    assert isinstance(erased, CustomerErased)
    TaskStore(uow.session).forget_customer(erased.customer_id)
    JobStore(uow.session).forget_places_of(erased.customer_id)
    log.info("customer.forgotten", customer_id=erased.customer_id, event_id=event.event_id)
