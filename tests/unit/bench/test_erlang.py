"""Erlang C, the yardstick the simulated call centre is held to."""

from __future__ import annotations

import pytest

from bench.callcentre.erlang import (
    Staffing,
    UnstableLoad,
    average_speed_of_answer,
    probability_of_waiting,
    service_level,
)

# The textbook example: 100 calls per 30 minutes, 180 s handle time, 14 agents.
EXAMPLE = Staffing.per_interval(calls=100, interval_seconds=1800, handle_seconds=180, agents=14)


def test_the_example_offers_ten_erlangs_to_fourteen_agents() -> None:
    assert EXAMPLE.offered_load == pytest.approx(10.0)
    assert EXAMPLE.occupancy == pytest.approx(10 / 14)


def test_in_the_example_about_one_call_in_six_waits() -> None:
    assert probability_of_waiting(EXAMPLE) == pytest.approx(0.174, abs=0.0005)


def test_in_the_example_the_average_speed_of_answer_is_under_eight_seconds() -> None:
    assert average_speed_of_answer(EXAMPLE) == pytest.approx(7.8, abs=0.05)


def test_in_the_example_nearly_nine_calls_in_ten_are_answered_within_twenty_seconds() -> None:
    assert service_level(EXAMPLE, within_seconds=20) == pytest.approx(0.888, abs=0.0005)


def test_a_call_answered_within_no_time_is_one_that_never_waited() -> None:
    assert service_level(EXAMPLE, within_seconds=0) == pytest.approx(1 - probability_of_waiting(EXAMPLE))


def test_one_agent_is_the_single_server_queue_where_everyone_waits_with_the_probability_of_the_load() -> None:
    # M/M/1: P(wait) = rho, mean wait = rho / (mu - lambda).
    single = Staffing(calls_per_second=0.5 / 60, handle_seconds=60, agents=1)

    assert probability_of_waiting(single) == pytest.approx(0.5)
    assert average_speed_of_answer(single) == pytest.approx(0.5 * 60 / (1 - 0.5))


def test_a_large_centre_stays_exact_where_the_textbook_formula_would_overflow() -> None:
    large = Staffing(calls_per_second=950 / 180, handle_seconds=180, agents=1000)

    assert 0 < probability_of_waiting(large) < 1


def test_more_agents_mean_fewer_callers_waiting() -> None:
    waits = [probability_of_waiting(Staffing.per_interval(100, 1800, 180, agents)) for agents in range(11, 20)]

    assert waits == sorted(waits, reverse=True)


@pytest.mark.parametrize("agents", [9, 10])
def test_a_load_the_agents_cannot_keep_up_with_is_refused_naming_both(agents: int) -> None:
    with pytest.raises(UnstableLoad, match=rf"10.00 Erlangs offered to {agents} agents"):
        Staffing.per_interval(100, 1800, 180, agents)


@pytest.mark.parametrize(
    ("calls_per_second", "handle_seconds", "agents", "field"),
    [(0, 180, 14, "calls_per_second"), (0.05, -1, 14, "handle_seconds"), (0.05, 180, 0, "agents")],
)
def test_staffing_that_makes_no_sense_is_refused_naming_the_field(
    calls_per_second: float, handle_seconds: float, agents: int, field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        Staffing(calls_per_second, handle_seconds, agents)


def test_a_negative_service_level_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="within_seconds"):
        service_level(EXAMPLE, within_seconds=-1)
