"""Confidence intervals over replications."""

from __future__ import annotations

import pytest

from bench.callcentre.estimates import estimate, student_t


@pytest.mark.parametrize(("degrees", "table"), [(3, 3.182), (4, 2.776), (9, 2.262), (19, 2.093), (99, 1.984)])
def test_students_t_matches_the_published_table(degrees: int, table: float) -> None:
    assert student_t(0.975, degrees) == pytest.approx(table, abs=0.005)


def test_the_interval_is_t_times_the_standard_error() -> None:
    # mean 5, sample standard deviation sqrt(2.5), n 5: half-width 2.776 * sqrt(2.5 / 5).
    found = estimate([3.0, 4.0, 5.0, 6.0, 7.0])

    assert found.mean == pytest.approx(5.0)
    assert found.half_width == pytest.approx(2.776 * (2.5 / 5) ** 0.5, abs=0.005)
    assert found.covers(6.95) and not found.covers(7.0)


def test_too_few_replications_for_an_interval_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 4 replications"):
        estimate([1.0, 2.0, 3.0])
