"""Merge and unmerge: a pointer, never a data move, so an unmerge restores both profiles exactly."""

from __future__ import annotations

import structlog

from services.customer360.domain import identity
from services.customer360.service import profiles, value
from services.customer360.service.groups import group_of, root_of
from services.customer360.store.merges import Merge, MergeStore
from services.customer360.store.profiles import ProfileStore
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.errors import FailedPrecondition, FieldViolation, InvalidArgument
from switchboard.events.v1.customer_events_pb2 import CustomerMerged, CustomerUnmerged
from switchboard.ids import new_id
from switchboard.timestamps import timestamp

log = structlog.get_logger("customer360")

IDENTITY_RESOLUTION = "identity-resolution"
"""The actor of merges made because an event showed two profiles are one person."""


def merge(uow: UnitOfWork, survivor_id: str, merged_id: str, *, actor: str) -> Merge:
    """merged_id joins survivor_id's group. FAILED_PRECONDITION when either is erased, merged_id is
    already merged, or survivor_id is merged (naming the profile to merge into instead)."""
    if survivor_id == merged_id:
        raise InvalidArgument([FieldViolation("merged_id", "a profile cannot be merged into itself")])
    survivor = profiles.load(uow, survivor_id, lock=True)
    merged = profiles.load(uow, merged_id, lock=True)
    for profile in (survivor, merged):
        if profile.erased:
            raise FailedPrecondition(f"customer {profile.customer_id} was erased")
    if merged.merged_into:
        raise FailedPrecondition(f"customer {merged_id} is already merged into {merged.merged_into}")
    if survivor.merged_into:
        raise FailedPrecondition(
            f"customer {survivor_id} is merged into {root_of(uow, survivor_id)}; merge into that one instead"
        )
    now = utcnow()
    record = Merge(merge_id=new_id(), survivor_id=survivor_id, merged_id=merged_id, actor=actor, merged_at=now)
    ProfileStore(uow.session).set_merged_into(merged_id, survivor_id, at=now)
    ProfileStore(uow.session).bump(survivor_id, at=now)
    MergeStore(uow.session).add(record)
    uow.emit(
        CustomerMerged(
            merge_id=record.merge_id,
            survivor_id=survivor_id,
            merged_id=merged_id,
            actor=actor,
            merged_at=timestamp(now),
        ),
        customer_id=survivor_id,
    )
    profiles.emit_changed(uow, survivor_id)
    profiles.emit_changed(uow, merged_id)
    value.reevaluate(uow, survivor_id)
    log.info("customer.merged", survivor_id=survivor_id, merged_id=merged_id, actor=actor)
    return record


def unmerge(uow: UnitOfWork, merged_id: str, *, actor: str) -> Merge:
    """merged_id stands on its own again, with everything it owned; FAILED_PRECONDITION when it is not merged."""
    profiles.load(uow, merged_id, lock=True)
    store = MergeStore(uow.session)
    record = store.current(merged_id)
    if record is None:
        raise FailedPrecondition(f"customer {merged_id} is not merged into another profile")
    now = utcnow()
    ProfileStore(uow.session).set_merged_into(merged_id, None, at=now)
    ProfileStore(uow.session).bump(record.survivor_id, at=now)
    store.undo(record.merge_id, by=actor, at=now)
    uow.emit(
        CustomerUnmerged(
            merge_id=record.merge_id,
            survivor_id=record.survivor_id,
            restored_id=merged_id,
            actor=actor,
            unmerged_at=timestamp(now),
        ),
        customer_id=merged_id,
    )
    profiles.emit_changed(uow, record.survivor_id)
    profiles.emit_changed(uow, merged_id)
    value.reevaluate(uow, root_of(uow, record.survivor_id))
    value.reevaluate(uow, merged_id)
    log.info("customer.unmerged", survivor_id=record.survivor_id, merged_id=merged_id, actor=actor)
    return store.current(merged_id) or record


def join(uow: UnitOfWork, a: str, b: str) -> None:
    """Identity resolution: an event showed a and b are one person. Their groups' roots merge, the
    survivor chosen by a total order (a suite id over a generated one, then the smaller), so the
    groups come out the same whatever order the events arrived in. Nothing when already one group.

    Two customers the suite already knows by their own ids are never merged this way: people share
    phones and e-mail addresses (a household's landline, a family's mailbox), so only a person merges
    them; the shared identifier stays with the customer who had it first."""
    root_a, root_b = root_of(uow, a), root_of(uow, b)
    if root_a == root_b:
        return
    if not identity.is_generated(root_a) and not identity.is_generated(root_b):
        log.warning("customer.shared_identifier", customer_ids=sorted((root_a, root_b)))
        return
    if ProfileStore(uow.session).get(root_a).erased or ProfileStore(uow.session).get(root_b).erased:  # type: ignore[union-attr]
        return
    survivor, merged = identity.survivor(root_a, root_b)
    merge(uow, survivor, merged, actor=IDENTITY_RESOLUTION)


def in_same_group(uow: UnitOfWork, a: str, b: str) -> bool:
    return a in group_of(uow, root_of(uow, b))
