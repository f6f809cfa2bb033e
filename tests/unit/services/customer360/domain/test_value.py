"""Customer value as specifications: costs to serve, thresholds from config, the tier and its explanation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.customer360.domain.value import (
    Ledger,
    Rates,
    Thresholds,
    cost_of_visit,
    cost_of_work,
    explain_tier,
    money,
    parse_part_costs,
    parse_thresholds,
    tier_for,
)
from switchboard.common.v1 import common_pb2

THRESHOLDS = Thresholds(silver=50_000, gold=200_000, platinum=1_000_000)
RATES = Rates(
    agent_minute_minor=80,
    technician_minute_minor=150,
    visit_minor=4_500,
    part_minor={"FLT-220": 1_500, "PMP-7": 9_000},
    part_default_minor=2_000,
)


def test_thresholds_are_read_from_the_configured_text() -> None:
    assert parse_thresholds("silver=50000,gold=200000,platinum=1000000") == THRESHOLDS
    assert parse_thresholds(" platinum = 1000000, silver=50000 ,gold=200000,") == THRESHOLDS


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("silver=50000,gold=200000,diamond=9", "unknown tier 'diamond'"),
        ("silver=50000,gold=20000,platinum=1000000", "must increase"),
        ("silver=50000,gold=2000.50,platinum=1000000", "must be an integer in minor units, not '2000.50'"),
        ("silver=50000,gold=200000", "missing platinum"),
        ("silver=1,silver=2,gold=3,platinum=4", "silver is given twice"),
        ("silver:50000", "'silver:50000' is not name=amount"),
        ("", "missing silver, gold, platinum"),
    ],
)
def test_thresholds_that_make_no_sense_are_refused_naming_the_problem(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_thresholds(text)


def test_part_costs_are_read_per_sku_and_empty_text_is_no_prices() -> None:
    assert parse_part_costs("FLT-220=1500,PMP-7=9000") == {"FLT-220": 1_500, "PMP-7": 9_000}
    assert parse_part_costs("") == {}
    with pytest.raises(ValueError, match="PMP-7 cannot cost less than nothing"):
        parse_part_costs("PMP-7=-1")
    with pytest.raises(ValueError, match="the amount for PMP-7 must be an integer"):
        parse_part_costs("PMP-7=ninety")


def test_agent_time_costs_its_minutes_at_the_agent_rate() -> None:
    assert cost_of_work(25, RATES) == 2_000
    # A correction of logged time takes the cost back.
    assert cost_of_work(-5, RATES) == -400


def test_a_visit_costs_the_call_out_the_labour_and_the_parts_with_unpriced_parts_at_the_default() -> None:
    # 45.00 visit + 90 min x 1.50 + 2 filters x 15.00 + 1 pump at 90.00 + 1 unknown part at 20.00
    cost = cost_of_visit(90, {"FLT-220": 2, "PMP-7": 1, "GASKET": 1}, RATES)

    assert cost == 4_500 + 13_500 + 3_000 + 9_000 + 2_000


@pytest.mark.parametrize(
    ("contribution", "tier"),
    [
        (-10_000, common_pb2.CUSTOMER_TIER_STANDARD),
        (49_999, common_pb2.CUSTOMER_TIER_STANDARD),
        (50_000, common_pb2.CUSTOMER_TIER_SILVER),
        (199_999, common_pb2.CUSTOMER_TIER_SILVER),
        (200_000, common_pb2.CUSTOMER_TIER_GOLD),
        (1_000_000, common_pb2.CUSTOMER_TIER_PLATINUM),
        (10**12, common_pb2.CUSTOMER_TIER_PLATINUM),
    ],
)
def test_the_tier_is_the_highest_whose_threshold_the_contribution_reaches(contribution: int, tier: int) -> None:
    assert tier_for(contribution, THRESHOLDS) == tier


@given(st.integers(-(10**9), 10**9), st.integers(0, 10**9))
def test_more_contribution_never_means_a_lower_tier(contribution: int, more: int) -> None:
    assert tier_for(contribution + more, THRESHOLDS) >= tier_for(contribution, THRESHOLDS)


def test_the_explanation_shows_the_sums_the_threshold_reached_and_the_distance_to_the_next() -> None:
    ledger = Ledger(revenue_minor=300_000, cost_minor=66_000)

    reason = explain_tier(ledger, tier_for(ledger.contribution_minor, THRESHOLDS), THRESHOLDS, "EUR")

    assert reason == (
        "gold: contribution 2,340.00 EUR (revenue 3,000.00 less 660.00 cost to serve) is at least the "
        "2,000.00 for gold; 7,660.00 short of platinum at 10,000.00"
    )


def test_a_standard_customer_is_told_how_far_silver_is_and_a_platinum_one_has_nowhere_higher() -> None:
    costly = Ledger(revenue_minor=20_000, cost_minor=35_000)
    best = Ledger(revenue_minor=2_500_000)

    assert explain_tier(costly, common_pb2.CUSTOMER_TIER_STANDARD, THRESHOLDS, "EUR") == (
        "standard: contribution -150.00 EUR (revenue 200.00 less 350.00 cost to serve) is below the 500.00 "
        "for silver (650.00 short)"
    )
    assert explain_tier(best, common_pb2.CUSTOMER_TIER_PLATINUM, THRESHOLDS, "EUR") == (
        "platinum: contribution 25,000.00 EUR (revenue 25,000.00 less 0.00 cost to serve) is at least the "
        "10,000.00 for platinum"
    )


def test_money_is_shown_in_the_currencys_own_decimals() -> None:
    assert money(234_000, "EUR") == "2,340.00 EUR"
    assert money(5) == "0.05"
    assert money(-123_456, "JPY") == "-123,456 JPY"
    assert money(1_234_567, "KWD") == "1,234.567 KWD"
