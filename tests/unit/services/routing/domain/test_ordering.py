"""Service order as a specification: VIP tiers first, then priority aged by waiting; the order within a
queue never changes with time, which is what lets a queue keep its tasks sorted once."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.routing.domain.ordering import effective_priority, order_key, urgency
from services.routing.domain.policy import QueuePolicy, compile_queue
from services.routing.domain.tasks import Task
from tests.unit.services.routing.domain.routing_builders import at, queue, task

AGING = compile_queue(queue(aging_seconds_per_level=300), {"support"})
NO_AGING = compile_queue(queue(aging_seconds_per_level=0), {"support"})


def test_priority_ages_one_level_per_aging_period() -> None:
    old_p4 = task("old", created=0, priority=4)
    new_p2 = task("new", created=900, priority=2)

    assert effective_priority(old_p4, AGING, at(900)) == 1.0
    assert order_key(old_p4, AGING) < order_key(new_p2, AGING)
    assert order_key(new_p2, NO_AGING) < order_key(old_p4, NO_AGING)


def test_vip_tiers_come_first_whatever_their_priority() -> None:
    platinum_p4 = task("vip", created=600, priority=4, tier="platinum")
    standard_p1 = task("std", created=0, priority=1)

    assert order_key(platinum_p4, AGING) < order_key(standard_p1, AGING)


moments = st.integers(min_value=0, max_value=3600)
tasks = st.builds(
    lambda n, created, priority, tier: task(f"t{n}", created=created, priority=priority, tier=tier),
    st.integers(0, 5),
    moments,
    st.integers(1, 4),
    st.sampled_from(["standard", "platinum"]),
)


@settings(max_examples=200, deadline=None)
@given(tasks, tasks, moments, st.sampled_from([AGING, NO_AGING]))
def test_the_order_within_a_queue_is_the_order_of_urgency_at_any_moment(
    a: Task, b: Task, later: int, policy: QueuePolicy
) -> None:
    now = max(a.created_at, b.created_at) + timedelta(seconds=later)

    assert (order_key(a, policy) < order_key(b, policy)) == (urgency(a, policy, now) < urgency(b, policy, now))
