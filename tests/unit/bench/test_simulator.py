"""The simulated call centre, driving the real routing engine in simulated time."""

from __future__ import annotations

import dataclasses

import pytest

from bench.callcentre import erlang
from bench.callcentre.scenarios import erlang_c_example, two_skills, vip_share
from bench.callcentre.simulator import draw_calls, simulate
from services.routing.domain.queues import Strategy


def test_callers_arrive_at_the_rate_of_their_call_type() -> None:
    calls = draw_calls(erlang_c_example(), hours=10, seed=3)

    # 200 calls an hour: 2,000 expected, Poisson standard deviation about 45.
    assert 1850 < len(calls) < 2150
    assert [c.arrived for c in calls] == sorted(c.arrived for c in calls)


def test_every_strategy_meets_the_same_callers() -> None:
    scenario = two_skills()

    first = draw_calls(scenario.with_strategy(Strategy.LONGEST_IDLE), hours=2, seed=5)
    again = draw_calls(scenario.with_strategy(Strategy.BEST_SKILL), hours=2, seed=5)

    assert first == again
    assert first != draw_calls(scenario, hours=2, seed=6)


def test_a_short_run_of_the_textbook_queue_lands_near_erlang_c() -> None:
    scenario = erlang_c_example()
    staffing = erlang.Staffing.per_interval(100, 1800, 180, 14)

    outcome = simulate(scenario, hours=25, warmup_hours=1, seed=11)

    # 4,800 calls: loose bounds; the benchmark runs long enough for 1 percentage point.
    assert outcome.p_wait == pytest.approx(erlang.probability_of_waiting(staffing), abs=0.07)
    assert outcome.asa_seconds == pytest.approx(erlang.average_speed_of_answer(staffing), abs=4.0)
    assert outcome.service_level == pytest.approx(erlang.service_level(staffing, 20), abs=0.05)
    assert outcome.occupancy == pytest.approx(staffing.occupancy, abs=0.05)


def test_no_call_is_lost_when_callers_hang_up_and_agents_wrap_up() -> None:
    outcome = simulate(two_skills(), hours=3, warmup_hours=0.5, seed=2)

    assert outcome.arrivals == outcome.answered + outcome.abandoned + outcome.still_waiting
    assert outcome.abandoned > 0
    assert outcome.still_waiting == 0
    assert outcome.violations == []


def test_vip_callers_wait_less_than_standard_ones() -> None:
    outcome = simulate(vip_share(), hours=4, warmup_hours=0.5, seed=4)

    assert outcome.asa_by_type["platinum"] < outcome.asa_by_type["standard"]
    assert outcome.still_waiting == 0


def test_the_same_seed_replays_the_same_run() -> None:
    first = simulate(two_skills().with_strategy(Strategy.ROUND_ROBIN), hours=1.5, warmup_hours=0.5, seed=9)
    again = simulate(two_skills().with_strategy(Strategy.ROUND_ROBIN), hours=1.5, warmup_hours=0.5, seed=9)

    assert dataclasses.asdict(first) == dataclasses.asdict(again)


def test_a_warm_up_as_long_as_the_run_is_refused() -> None:
    with pytest.raises(ValueError, match="warm-up"):
        simulate(erlang_c_example(), hours=1, warmup_hours=1, seed=1)


def test_an_offer_to_two_agents_at_once_is_answered_by_one() -> None:
    scenario = two_skills()
    both = dataclasses.replace(scenario, queue=dataclasses.replace(scenario.queue, offer_to=2))

    outcome = simulate(both, hours=2, warmup_hours=0.5, seed=8)

    assert outcome.offers_made > outcome.answered
    assert outcome.violations == []
    assert outcome.still_waiting == 0


def test_offers_let_ring_out_expire_and_go_elsewhere_and_no_call_is_lost() -> None:
    inattentive = dataclasses.replace(two_skills(), missed_offer_share=0.2)

    outcome = simulate(inattentive, hours=2, warmup_hours=0.5, seed=6)

    assert outcome.offers_expired > 0
    assert outcome.offers_made >= outcome.answered + outcome.offers_expired
    assert outcome.still_waiting == 0
    assert outcome.violations == []
