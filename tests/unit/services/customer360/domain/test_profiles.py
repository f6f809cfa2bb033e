"""Profiles in the domain: age from the birth date, values refused with the reason, masked updates,
and what a merge group shows."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.customer360.domain import profiles
from services.customer360.domain.profiles import Address, Consents, Details
from services.customer360.domain.tickets import folded


def test_age_counts_whole_years_up_to_the_birthday() -> None:
    assert profiles.age("1948-03-15", date(2025, 3, 14)) == 76
    assert profiles.age("1948-03-15", date(2025, 3, 15)) == 77
    assert profiles.age("", date(2025, 3, 15)) is None


def test_impossible_values_are_named_with_the_reason() -> None:
    bad = Details(birth_date="2099-01-01", time_zone="Mars/Olympus", preferred_channel="pigeon")

    assert [name for name, _ in profiles.problems(bad, date(2025, 3, 14))] == [
        "birth_date",
        "time_zone",
        "preferred_channel",
    ]


def test_an_update_takes_only_the_masked_fields_and_an_empty_mask_takes_all() -> None:
    current = Details(display_name="Ada Lovelace", occupation="engineer")
    new = Details(occupation="mathematician")

    assert profiles.updated(current, new, ["occupation"]) == Details(
        display_name="Ada Lovelace", occupation="mathematician"
    )
    assert profiles.updated(current, new, []) == new


def test_a_merge_group_shows_the_survivors_fields_and_fills_its_blanks_from_the_merged() -> None:
    survivor = Details(display_name="Ada Lovelace", consents=Consents(email=True))
    merged = Details(display_name="A. Lovelace", income_band="high", addresses=(Address(kind="home", city="London"),))

    shown = profiles.overlay(survivor, [merged])

    assert (shown.display_name, shown.income_band, shown.addresses[0].city) == ("Ada Lovelace", "high", "London")
    assert shown.consents == Consents(email=True)


def test_a_ticket_status_older_than_the_one_held_is_ignored_but_its_details_fill_in() -> None:
    at = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
    closed = folded(None, ticket_id="T-1", customer_id="C-1", at=at.replace(hour=10), status="closed")

    late = folded(closed, ticket_id="T-1", customer_id="C-1", at=at, number="N-1", subject="Leaks", status="new")

    assert (late.status, late.number, late.subject, late.open) == ("closed", "N-1", "Leaks", False)
