"""Identity resolution: which profile an event is about, made or linked as the event shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from services.customer360.domain import identity
from services.customer360.domain.identity import Identifier
from services.customer360.domain.profiles import Details, Profile
from services.customer360.service import merging, profiles
from services.customer360.store.erasures import ErasureStore
from services.customer360.store.identifiers import IdentifierStore
from services.customer360.store.profiles import ProfileStore
from switchboard.db.uow import UnitOfWork

log = structlog.get_logger("customer360")


def resolve(
    uow: UnitOfWork, *, customer_id: str, found: Sequence[Identifier], event_id: str, event_type: str, at: datetime
) -> str | None:
    """The profile the event's data is stored with, or None when it names an erased customer (then
    nothing of it may be kept).

    By the customer id when the event has one, else by its identifiers, strongest first (external,
    email, phone); an unknown customer gets a "known from events" profile. Identifiers the event
    names that no profile holds yet join that profile; one held by another profile shows the two are
    one person, and their groups merge (see merging.join). The data stays with the profile found,
    not its group's root, so an unmerge takes it back along.
    """
    digests = [i.digest for i in found] + ([identity.customer_digest(customer_id)] if customer_id else [])
    if ErasureStore(uow.session).any_erased(digests):
        log.warning("event.dropped_erased", event_id=event_id, type=event_type)
        return None
    owners = IdentifierStore(uow.session).owners(list(found))
    if customer_id:
        target = customer_id
    else:
        known = [owners[i] for i in found if i in owners]
        target = known[0] if known else identity.generated_id(found[0])
    created = _ensure(uow, target, at)
    added = [i for i in found if i not in owners]
    for identifier in added:
        IdentifierStore(uow.session).add(identifier, target, source=event_type, at=at)
    if added and not created:
        ProfileStore(uow.session).bump(target, at=at)
    if added or created:
        profiles.emit_changed(uow, target)
    for other in sorted({o for o in owners.values() if o != target}):
        merging.join(uow, target, other)
    return target


def _ensure(uow: UnitOfWork, customer_id: str, at: datetime) -> bool:
    """Make a "known from events" profile unless one exists; True when made."""
    store = ProfileStore(uow.session)
    if store.get(customer_id) is not None:
        return False
    made = store.add(Profile(customer_id=customer_id, version=1, details=Details(), known_from_events=True), at=at)
    if made:
        log.info("customer.known_from_event", customer_id=customer_id)
    return made
