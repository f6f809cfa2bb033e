"""How satisfied a customer is: their ratings' average and a flag an agent sees before answering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

LOWEST_ACCEPTABLE = 3
"""A latest rating below this (2 or 1 of 5) flags the customer at once."""


@dataclass(frozen=True)
class Rating:
    ticket_id: str
    customer_id: str
    score: int
    comment: str
    rated_at: datetime


@dataclass(frozen=True)
class Summary:
    count: int
    average: float
    dissatisfied: bool
    reason: str


def summary(newest_first: Sequence[Rating], total: int, average: float, *, last_n: int, at_or_below: float) -> Summary:
    """The flag from the latest ratings: the latest one is 2 or less, or the average of the last
    ``last_n`` is at or below ``at_or_below``. ``total`` and ``average`` cover every rating."""
    if not newest_first:
        return Summary(0, 0.0, False, "")
    latest = newest_first[0]
    recent = newest_first[:last_n]
    recent_average = sum(r.score for r in recent) / len(recent)
    reason = ""
    if latest.score < LOWEST_ACCEPTABLE:
        reason = f"the latest rating was {latest.score} of 5 (ticket {latest.ticket_id})"
    elif len(recent) == last_n and recent_average <= at_or_below:
        reason = f"the last {last_n} ratings average {recent_average:.1f} of 5 (at or below {at_or_below:g})"
    return Summary(total, round(average, 2), bool(reason), reason)
