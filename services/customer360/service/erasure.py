"""Erasure on request: the customer and its merge group anonymised here, customer.erased for the rest
of the suite, and tombstones (digests only) so no replayed or re-imported event brings them back."""

from __future__ import annotations

import structlog

from services.customer360.domain import identity
from services.customer360.domain.profiles import Details
from services.customer360.service import profiles
from services.customer360.service.groups import group_of, root_of
from services.customer360.store.anomalies import AnomalyStore
from services.customer360.store.erasures import ErasureStore
from services.customer360.store.identifiers import IdentifierStore
from services.customer360.store.products import ProductStore
from services.customer360.store.profiles import ProfileStore
from services.customer360.store.ratings import RatingStore
from services.customer360.store.tickets import TicketStore
from services.customer360.store.timeline import TimelineStore
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.events.v1.customer_events_pb2 import CustomerErased
from switchboard.timestamps import timestamp

log = structlog.get_logger("customer360")


def erase(uow: UnitOfWork, customer_id: str, *, actor: str, reason: str = "") -> list[str]:
    """Erase the customer's whole merge group; the ids erased. Erasing again changes nothing more."""
    group = group_of(uow, root_of(uow, customer_id))
    now = utcnow()
    held = IdentifierStore(uow.session).of(group)
    store = ProfileStore(uow.session)
    for member in group:
        profile = profiles.load(uow, member, lock=True)
        digests = [identity.customer_digest(member), *(i.digest for i in held[member])]
        ErasureStore(uow.session).add(digests, at=now)
        IdentifierStore(uow.session).remove_all(member)
        store.save(member, expected_version=profile.version, details=Details(), at=now, erased=True)
        store.set_baselines(member, "")
        for scrub in (TimelineStore, TicketStore, ProductStore, RatingStore, AnomalyStore):
            scrub(uow.session).scrub(member)
        if not profile.erased:
            uow.emit(
                CustomerErased(customer_id=member, erased_at=timestamp(now), requested_by=actor), customer_id=member
            )
    # No reason text in the log: it may name the person.
    log.info("customer.erased", customer_ids=group, actor=actor, with_reason=bool(reason))
    return group
