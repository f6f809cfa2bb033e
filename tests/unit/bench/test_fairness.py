"""Jain's index: how evenly equally skilled agents share the work."""

from __future__ import annotations

import pytest

from bench.callcentre.fairness import jain_index, peer_groups, worst_jain


def test_equal_shares_are_perfectly_fair() -> None:
    assert jain_index([12, 12, 12, 12]) == pytest.approx(1.0)


def test_one_agent_taking_everything_scores_one_over_the_group_size() -> None:
    assert jain_index([40, 0, 0, 0]) == pytest.approx(0.25)


def test_half_the_agents_sharing_everything_scores_one_half() -> None:
    assert jain_index([10, 10, 0, 0]) == pytest.approx(0.5)


def test_a_known_uneven_split_scores_as_computed_by_hand() -> None:
    # (1 + 2 + 3)^2 / (3 * (1 + 4 + 9)) = 36 / 42
    assert jain_index([1, 2, 3]) == pytest.approx(6 / 7)


def test_the_index_does_not_depend_on_the_unit() -> None:
    assert jain_index([3600.0, 1800.0]) == pytest.approx(jain_index([2, 1]))


def test_nobody_having_worked_yet_favours_nobody() -> None:
    assert jain_index([0, 0, 0]) == 1.0


def test_no_shares_and_negative_shares_are_refused() -> None:
    with pytest.raises(ValueError, match="undefined"):
        jain_index([])
    with pytest.raises(ValueError, match="negative"):
        jain_index([3, -1])


def test_peers_are_agents_with_the_same_profile_and_loners_are_left_out() -> None:
    profiles = {"b2": ("billing", 3), "t1": ("technical", 5), "b1": ("billing", 3), "b3": ("billing", 3)}

    assert peer_groups(profiles) == [["b1", "b2", "b3"]]


def test_the_worst_group_decides_and_an_agent_without_calls_counts_as_zero() -> None:
    groups = [["a1", "a2"], ["b1", "b2"]]

    assert worst_jain(groups, {"a1": 5, "a2": 5, "b1": 8}) == pytest.approx(0.5)
