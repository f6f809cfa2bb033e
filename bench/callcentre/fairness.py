"""Fairness of the work shared among agents who should share it equally."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


def jain_index(shares: Sequence[float]) -> float:
    """Jain's fairness index, (sum x)^2 / (n * sum x^2): 1 when everyone got the same, 1/n when one got it all.

    Nobody having had any work yet counts as equal shares (1.0): no one was favoured.
    """
    if not shares:
        raise ValueError("Jain's index of no shares is undefined")
    if any(x < 0 for x in shares):
        raise ValueError(f"shares must not be negative: {list(shares)}")
    total = sum(shares)
    squares = sum(x * x for x in shares)
    if squares == 0:
        return 1.0
    return total * total / (len(shares) * squares)


def peer_groups(profiles: Mapping[str, Key]) -> list[list[str]]:
    """Agents with the same profile (skills and levels), two or more to a group, sorted for determinism.

    Only peers are expected to get equal shares: a strategy that favours the better-skilled is doing its job.
    """
    by_profile: dict[Key, list[str]] = {}
    for agent_id in sorted(profiles):
        by_profile.setdefault(profiles[agent_id], []).append(agent_id)
    return [group for group in by_profile.values() if len(group) > 1]


def worst_jain(groups: Iterable[Sequence[str]], shares: Mapping[str, float]) -> float:
    """The lowest Jain's index over the peer groups: the least fair treatment any group of equals got."""
    indices = [jain_index([shares.get(agent_id, 0.0) for agent_id in group]) for group in groups]
    if not indices:
        raise ValueError("no group of two or more peers to compare")
    return min(indices)
