"""Merge groups: a merged profile points at the one it was merged into; the root speaks for the group."""

from __future__ import annotations

from services.customer360.store.profiles import ProfileStore
from switchboard.db.uow import UnitOfWork
from switchboard.errors import NotFound

MAX_DEPTH = 32
"""Merges nest (a survivor may itself be merged later); a chain longer than this is a bug, not data."""


def root_of(uow: UnitOfWork, customer_id: str) -> str:
    """The profile that speaks for this one (itself when it was not merged); NOT_FOUND for an unknown id."""
    store = ProfileStore(uow.session)
    current = customer_id
    for _ in range(MAX_DEPTH):
        merged_into = store.merged_into(current)
        if merged_into is None:
            raise NotFound("customer", customer_id)
        if not merged_into:
            return current
        current = merged_into
    raise RuntimeError(f"merge chain from {customer_id} is longer than {MAX_DEPTH}")


def group_of(uow: UnitOfWork, root_id: str) -> list[str]:
    """The root, then every profile merged into it directly or through another, nearest first."""
    store = ProfileStore(uow.session)
    group, frontier = [root_id], [root_id]
    for _ in range(MAX_DEPTH):
        frontier = sorted(store.members_of(frontier))
        if not frontier:
            break
        group.extend(frontier)
    return group
