"""python -m bench routing: its verdict on Erlang C and its command line."""

from __future__ import annotations

from bench.callcentre.estimates import Estimate
from bench.routing import Check, parse


def _p_wait(mean: float, half_width: float) -> Check:
    return Check("P(wait)", analytic=0.174, simulated=Estimate(mean, half_width, 40), tolerance=0.01, unit="%")


def test_a_simulation_within_a_point_of_erlang_c_passes() -> None:
    assert _p_wait(0.170, 0.003).verdict == "yes"


def test_a_simulation_more_than_a_point_off_fails() -> None:
    assert _p_wait(0.160, 0.003).verdict == "NO"


def test_a_run_too_short_to_resolve_a_point_is_neither_pass_nor_fail() -> None:
    assert _p_wait(0.160, 0.05).verdict == "too short"


def test_quick_shrinks_every_part_unless_told_otherwise() -> None:
    full, quick = parse([]), parse(["--quick", "--replications", "8"])

    assert (full.replications, full.agents, full.waiting) == (40, 10_000, 100_000)
    assert (quick.replications, quick.agents, quick.waiting) == (8, 1_000, 10_000)
