"""The order in which a queue's tasks are served: VIP tiers first, then effective priority, then age.

Effective priority is the priority aged by waiting: one level more urgent per
``aging_seconds_per_level`` seconds, so ``priority - waited / A`` at a moment ``now``. Comparing two
tasks of one queue, ``now`` cancels out: ``p1 - (now - c1) / A < p2 - (now - c2) / A`` exactly when
``p1 * A + c1 < p2 * A + c2``. Within a queue the order never changes with time, so its waiting tasks
stay in one sorted structure with no re-sorting as they age. Tasks of different queues (different A)
are compared at a moment with :func:`urgency`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from services.routing.domain.policy import QueuePolicy
from services.routing.domain.tasks import Task

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS = 1_000_000

# (tier rank, primary, created in microseconds, task id); smaller is served first.
OrderKey = tuple[int, int, int, str]
Urgency = tuple[int, Fraction, int, str]


def order_key(task: Task, policy: QueuePolicy) -> OrderKey:
    rank = 0 if policy.is_vip(task.tier) else 1
    created = _micros(task.created_at)
    aging = policy.queue.aging_seconds_per_level
    # Integer microseconds keep the key exact: no float rounding can swap two tasks.
    primary = task.priority * aging * _MICROS + created if aging else task.priority
    return rank, primary, created, task.task_id


def urgency(task: Task, policy: QueuePolicy, now: datetime) -> Urgency:
    """The task's place at ``now`` among tasks of any queue; consistent with :func:`order_key` within one."""
    rank = 0 if policy.is_vip(task.tier) else 1
    created = _micros(task.created_at)
    aging = policy.queue.aging_seconds_per_level
    effective = Fraction(task.priority)
    if aging:
        effective -= Fraction(_micros(now) - created, aging * _MICROS)
    return rank, effective, created, task.task_id


def effective_priority(task: Task, policy: QueuePolicy, now: datetime) -> float:
    return float(urgency(task, policy, now)[1])


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _MICROS + delta.microseconds
