"""The decision-latency bench on a small engine: it fills, measures every kind of call, and counts each."""

from __future__ import annotations

from bench.callcentre.latency import measure
from services.routing.domain.queues import Strategy


def test_a_small_engine_is_filled_and_every_kind_of_call_is_timed() -> None:
    load = measure(agents=60, waiting=300, rounds=10, seed=3, free_agents=5)

    counts = {row.decision: row.count for row in load.latencies}
    assert counts["add_task, no free agent (fill)"] == 300 + 55
    assert counts["back from break, picks (fill)"] == 55
    assert counts["complete, picks from waiting"] == 10
    assert counts["accept"] == 20
    assert [row.decision for row in load.quiet] == [f"add_task, all 60 free, {s}" for s in Strategy]
    assert all(row.cpu_p50_us <= row.cpu_p99_us for row in [*load.latencies, *load.quiet])
