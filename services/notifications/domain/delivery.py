"""What happens to a notification after an attempt: sent, retried later, failed over, or failed.

Retries follow a configured schedule with jitter (so a provider that comes back is not hit by every
waiting message at once). A critical message does not wait out the schedule: after its first failure
it moves to the recipient's next channel that can reach them, and the original is failed with a
reason naming the new channel. A permanent failure is never retried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

QUEUED, SENT, DELIVERED, FAILED, SUPPRESSED = "queued", "sent", "delivered", "failed", "suppressed"
STATUSES = (QUEUED, SENT, DELIVERED, FAILED, SUPPRESSED)


def retry_delay(attempt: int, schedule: Sequence[float], jitter: float, rand: Callable[[], float]) -> float:
    """Seconds before retry number ``attempt`` (1 = after the first failure); the schedule's last delay repeats."""
    base = schedule[min(max(attempt, 1), len(schedule)) - 1]
    return max(0.0, base * (1 + jitter * (2 * rand() - 1)))


@dataclass(frozen=True)
class AfterFailure:
    action: Literal["retry", "failover", "fail"]
    reason: str
    retry_at: datetime | None = None
    failover_to: str = ""


def after_failure(
    *,
    error: str,
    permanent: bool,
    attempts: int,
    max_attempts: int,
    priority: str,
    failover_to: str | None,
    now: datetime,
    delay: float,
) -> AfterFailure:
    """``attempts`` counts the one that just failed."""
    if priority == "critical" and failover_to:
        return AfterFailure("failover", f"failed over to {failover_to} after: {error}", failover_to=failover_to)
    if permanent:
        return AfterFailure("fail", f"permanent failure: {error}")
    if attempts >= max_attempts:
        return AfterFailure("fail", f"gave up after {attempts} attempts: {error}")
    return AfterFailure(
        "retry", f"attempt {attempts} failed, retrying: {error}", retry_at=now + timedelta(seconds=delay)
    )
