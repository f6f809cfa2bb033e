"""What identity resolution needs to know about an event's customer, read in one round trip: whether it
names an erased customer, who holds its identifiers, and which of the candidate profiles exist (with
their merge pointers). Every event starts here, so three indexed reads share one statement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import CompoundSelect, Select, String, and_, bindparam, false, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from services.customer360.domain.identity import Identifier
from services.customer360.store.erasures import erasures
from services.customer360.store.identifiers import identifiers
from services.customer360.store.profiles import profiles


@dataclass(frozen=True)
class Sighting:
    erased: bool
    # The profile each identifier belongs to (absent when none).
    owners: dict[Identifier, str] = field(default_factory=dict)
    # Candidate and owning profiles that exist -> whom each was merged into ("" when it stands alone).
    merged_into: dict[str, str] = field(default_factory=dict)
    # The same profiles -> their anomaly baselines (when asked for).
    baselines: dict[str, str] = field(default_factory=dict)


def sight(
    session: Session,
    *,
    digests: Sequence[str],
    found: Sequence[Identifier],
    candidates: Sequence[str],
    with_baselines: bool = False,
) -> Sighting:
    """The erasure tombstones among ``digests``, the owners of ``found``, and which of the ``candidates``
    and those owners exist (``with_baselines``: and their anomaly baselines, read without a lock)."""
    if not (digests or found or candidates):
        return Sighting(erased=False)
    params: dict[str, Any] = {"digests": list(digests), "candidates": list(candidates)}
    for n, identifier in enumerate(found):
        params[f"kind_{n}"], params[f"value_{n}"] = identifier.kind, identifier.value
    statement = _statement(bool(digests), len(found), bool(candidates), with_baselines)
    erased, owners, merged_into, baselines = False, {}, {}, {}
    for tag, a, b, c in session.execute(statement, params).all():
        if tag == "e":
            erased = True
        elif tag == "i":
            owners[Identifier(a, b)] = c
        else:
            merged_into[a] = b or ""
            if with_baselines:
                baselines[a] = c or ""
    return Sighting(erased=erased, owners=owners, merged_into=merged_into, baselines=baselines)


@lru_cache(maxsize=64)
def _statement(digests: bool, found: int, candidates: bool, with_baselines: bool) -> Select[Any] | CompoundSelect[Any]:
    """The statement for one shape of question, built once (an event names at most a few identifiers)."""
    parts: list[Select[Any]] = []
    if digests:
        parts.append(
            select(
                literal("e", String).label("tag"),
                erasures.c.digest.label("a"),
                literal("", String).label("b"),
                literal("", String).label("c"),
            ).where(erasures.c.digest.in_(bindparam("digests", expanding=True)))
        )
    kind, value = identifiers.c.kind, identifiers.c.value
    named = or_(
        false(), *(and_(kind == bindparam(f"kind_{n}"), value == bindparam(f"value_{n}")) for n in range(found))
    )
    if found:
        parts.append(
            select(literal("i", String), identifiers.c.kind, identifiers.c.value, identifiers.c.customer_id).where(
                named
            )
        )
    # The candidates, and the owners of the identifiers (an event without a customer id is stored with the
    # profile that holds its strongest identifier). Two parts, not one with OR: PostgreSQL plans
    # "id IN (...) OR id IN (subquery)" as a scan of every profile (over a second at a million).
    pointer = (profiles.c.customer_id, func.coalesce(profiles.c.merged_into, ""))
    held = profiles.c.baselines if with_baselines else literal("", String)
    if candidates:
        parts.append(
            select(literal("p", String), *pointer, held).where(
                profiles.c.customer_id.in_(bindparam("candidates", expanding=True))
            )
        )
    if found:
        parts.append(
            select(literal("p", String), *pointer, held)
            .select_from(identifiers.join(profiles, profiles.c.customer_id == identifiers.c.customer_id))
            .where(named)
        )
    return parts[0] if len(parts) == 1 else union_all(*parts)
