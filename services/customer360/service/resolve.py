"""Identity resolution: which profile an event is about, made or linked as the event shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import structlog

from services.customer360.domain import anomaly as detectors
from services.customer360.domain import identity
from services.customer360.domain.identity import Identifier
from services.customer360.domain.profiles import Details, Profile
from services.customer360.service import merging, profiles
from services.customer360.store import sightings
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
    # One round trip for the tombstones, the identifiers' owners and whether the profile exists.
    candidate = customer_id or identity.generated_id(found[0])
    seen = sightings.sight(
        uow.session,
        digests=digests,
        found=found,
        candidates=[candidate],
        with_baselines=event_type in detectors.OBSERVED_EVENT_TYPES,
    )
    if seen.erased:
        log.warning("event.dropped_erased", event_id=event_id, type=event_type)
        return None
    owners = seen.owners
    if customer_id:
        target = customer_id
    else:
        known = [owners[i] for i in found if i in owners]
        target = known[0] if known else candidate
    created = _ensure(uow, target, at, seen.merged_into, seen.baselines)
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


def _ensure(
    uow: UnitOfWork, customer_id: str, at: datetime, existing: Mapping[str, str], baselines: Mapping[str, str]
) -> bool:
    """Make a "known from events" profile unless one exists; True when made. ``existing`` holds the
    profiles already seen to exist (with their merge pointers and, when read, their anomaly baselines:
    both remembered for the rest of the event)."""
    store = ProfileStore(uow.session)
    if customer_id in existing:
        store.remember_merged_into(customer_id, existing[customer_id])
        if customer_id in baselines:
            store.remember_baselines(customer_id, baselines[customer_id])
        return False
    made = store.add(Profile(customer_id=customer_id, version=1, details=Details(), known_from_events=True), at=at)
    if made:
        store.remember_baselines(customer_id, "")  # a new profile learns from nothing (the row is ours now)
        log.info("customer.known_from_event", customer_id=customer_id)
    return made
