"""What the reports' figures mean: ranges, calendar buckets in a time zone, percentiles, first-contact
resolution, rates over nothing and the points table."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ticketing.domain import reports
from services.ticketing.domain.reports import (
    AgentTally,
    Compliance,
    Durations,
    FirstContact,
    Grain,
    HandlingTime,
    Satisfaction,
    Scoring,
    Standing,
)
from switchboard.errors import InvalidArgument


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _fields(error: pytest.ExceptionInfo[InvalidArgument]) -> list[str]:
    return [v.field for v in error.value.violations]


# Ranges


def test_a_range_is_kept_in_utc_with_its_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")

    within = reports.period(datetime(2025, 3, 1, tzinfo=berlin), datetime(2025, 4, 1, tzinfo=berlin), "Europe/Berlin")

    assert (within.start, within.end, within.zone) == (utc(2025, 2, 28, 23), utc(2025, 3, 31, 22), berlin)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../../etc/passwd", "Europe/"])
def test_a_range_in_an_unknown_time_zone_is_refused_naming_the_field(zone: str) -> None:
    with pytest.raises(InvalidArgument, match="is not an IANA time zone") as error:
        reports.period(utc(2025, 3, 1), utc(2025, 4, 1), zone)

    assert _fields(error) == ["range.time_zone"]


@pytest.mark.parametrize("end", [utc(2025, 3, 1), utc(2025, 2, 1)])
def test_a_range_that_ends_before_it_starts_or_as_it_starts_is_refused(end: datetime) -> None:
    with pytest.raises(InvalidArgument, match="must be after start_time") as error:
        reports.period(utc(2025, 3, 1), end, "UTC")

    assert _fields(error) == ["range.end_time"]


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(InvalidArgument, match="naive") as error:
        reports.period(datetime(2025, 3, 1), utc(2025, 4, 1), "UTC")

    assert _fields(error) == ["range.start_time"]


# Calendar buckets


def _spans(buckets: list[reports.Bucket]) -> list[tuple[str, datetime, datetime]]:
    return [(b.label, b.start, b.end) for b in buckets]


def test_days_begin_at_local_midnight_and_the_spring_forward_day_is_23_hours() -> None:
    # Berlin leaves CET (+1) for CEST (+2) at 02:00 on Sunday 30 March 2025.
    within = reports.period(utc(2025, 3, 28, 23), utc(2025, 4, 1, 22), "Europe/Berlin")

    days = reports.buckets(within, Grain.DAY)

    assert _spans(days) == [
        ("2025-03-29", utc(2025, 3, 28, 23), utc(2025, 3, 29, 23)),
        ("2025-03-30", utc(2025, 3, 29, 23), utc(2025, 3, 30, 22)),
        ("2025-03-31", utc(2025, 3, 30, 22), utc(2025, 3, 31, 22)),
        ("2025-04-01", utc(2025, 3, 31, 22), utc(2025, 4, 1, 22)),
    ]
    assert [b.end - b.start for b in days] == [timedelta(hours=24), timedelta(hours=23)] + [timedelta(hours=24)] * 2


def test_the_fall_back_day_is_25_hours() -> None:
    # New York leaves EDT (-4) for EST (-5) at 02:00 on Sunday 2 November 2025.
    within = reports.period(utc(2025, 11, 2, 4), utc(2025, 11, 3, 5), "America/New_York")

    days = reports.buckets(within, Grain.DAY)

    assert _spans(days) == [("2025-11-02", utc(2025, 11, 2, 4), utc(2025, 11, 3, 5))]
    assert days[0].end - days[0].start == timedelta(hours=25)


def test_a_day_whose_midnight_does_not_exist_begins_at_its_first_instant() -> None:
    # Havana springs forward at midnight: 10 March 2024 begins at 01:00 CDT, 05:00 UTC.
    within = reports.period(utc(2024, 3, 9, 5), utc(2024, 3, 11, 4), "America/Havana")

    assert _spans(reports.buckets(within, Grain.DAY)) == [
        ("2024-03-09", utc(2024, 3, 9, 5), utc(2024, 3, 10, 5)),
        ("2024-03-10", utc(2024, 3, 10, 5), utc(2024, 3, 11, 4)),
    ]


def test_days_in_a_zone_a_quarter_hour_off_the_hour() -> None:
    within = reports.period(utc(2024, 12, 31, 18, 15), utc(2025, 1, 2, 18, 15), "Asia/Kathmandu")

    assert _spans(reports.buckets(within, Grain.DAY)) == [
        ("2025-01-01", utc(2024, 12, 31, 18, 15), utc(2025, 1, 1, 18, 15)),
        ("2025-01-02", utc(2025, 1, 1, 18, 15), utc(2025, 1, 2, 18, 15)),
    ]


def test_weeks_are_iso_weeks_from_monday_and_the_first_is_clipped_to_the_range() -> None:
    # Wednesday 25 December 2024 to Friday 10 January 2025; 30 December is the Monday of 2025-W01.
    within = reports.period(utc(2024, 12, 25), utc(2025, 1, 10), "UTC")

    weeks = reports.buckets(within, Grain.WEEK)

    assert _spans(weeks) == [
        ("2024-W52", utc(2024, 12, 25), utc(2024, 12, 30)),
        ("2025-W01", utc(2024, 12, 30), utc(2025, 1, 6)),
        ("2025-W02", utc(2025, 1, 6), utc(2025, 1, 10)),
    ]
    assert [b.first_day for b in weeks] == [date(2024, 12, 23), date(2024, 12, 30), date(2025, 1, 6)]
    assert all(b.first_day.weekday() == 0 for b in weeks)


def test_months_run_over_the_year_end_in_local_time() -> None:
    # Sydney is at +11 in summer: local months begin at 13:00 UTC the day before.
    within = reports.period(utc(2024, 11, 30, 13), utc(2025, 2, 28, 13), "Australia/Sydney")

    assert _spans(reports.buckets(within, Grain.MONTH)) == [
        ("2024-12", utc(2024, 11, 30, 13), utc(2024, 12, 31, 13)),
        ("2025-01", utc(2024, 12, 31, 13), utc(2025, 1, 31, 13)),
        ("2025-02", utc(2025, 1, 31, 13), utc(2025, 2, 28, 13)),
    ]


def test_a_leap_year_of_days_fits_and_more_buckets_than_the_limit_are_refused() -> None:
    leap_year = reports.period(utc(2024, 1, 1), utc(2025, 1, 1), "UTC")
    assert len(reports.buckets(leap_year, Grain.DAY)) == 366
    at_limit = reports.period(utc(2024, 1, 1), utc(2024, 1, 1) + timedelta(days=reports.MAX_BUCKETS), "UTC")
    assert len(reports.buckets(at_limit, Grain.DAY)) == reports.MAX_BUCKETS == 400

    too_long = reports.period(utc(2024, 1, 1), utc(2024, 1, 1) + timedelta(days=reports.MAX_BUCKETS + 1), "UTC")
    with pytest.raises(InvalidArgument, match="choose a coarser granularity") as error:
        reports.buckets(too_long, Grain.DAY)

    assert _fields(error) == ["granularity"]
    # 401 days from a Monday: 57 whole weeks and three days.
    assert len(reports.buckets(too_long, Grain.WEEK)) == 58


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "America/Havana", "Asia/Kathmandu", "Australia/Lord_Howe"]


@given(
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    length=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=390)),
    zone=st.sampled_from(ZONES),
    grain=st.sampled_from(list(Grain)),
)
def test_buckets_tile_the_range_exactly_and_each_lies_within_one_local_period(
    start: datetime, length: timedelta, zone: str, grain: Grain
) -> None:
    within = reports.period(start, start + length, zone)

    buckets = reports.buckets(within, grain)

    assert buckets[0].start == within.start
    assert buckets[-1].end == within.end
    assert all(a.end == b.start for a, b in pairwise(buckets))
    assert all(b.start < b.end for b in buckets)
    assert len({b.label for b in buckets}) == len(buckets)
    for bucket in buckets:
        first_local = bucket.start.astimezone(within.zone).date()
        last_local = (bucket.end - timedelta(microseconds=1)).astimezone(within.zone).date()
        assert bucket.first_day <= first_local <= last_local
        assert (last_local - bucket.first_day).days < {Grain.DAY: 1, Grain.WEEK: 7, Grain.MONTH: 31}[grain]
        if grain is Grain.MONTH:
            assert (last_local.year, last_local.month) == (bucket.first_day.year, bucket.first_day.month)


# Percentiles


def test_a_percentile_lies_between_the_two_closest_ranks() -> None:
    assert reports.rank_span(10, 90) == reports.RankSpan(9, 10, Fraction(1, 10))
    assert reports.rank_span(10, 50) == reports.RankSpan(5, 6, Fraction(1, 2))
    assert reports.rank_span(11, 50) == reports.RankSpan(6, 7, Fraction(0))
    assert reports.rank_span(1, 90) == reports.RankSpan(1, 1, Fraction(0))
    assert reports.ranks_needed(10, (50, 90)) == {5, 6, 9, 10}


def test_mean_median_and_p90_of_handling_times() -> None:
    # One slow repair among quick fixes: the mean is pulled up, the median is not.
    figures = reports.summarize([60, 3600, 120, 240, 180])

    assert figures == Durations(count=5, mean=840.0, median=180.0, p90=240 + 0.6 * (3600 - 240))


def test_figures_from_the_values_at_the_needed_ranks_equal_those_from_all_values() -> None:
    values = [float(v) for v in (5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987)]
    needed = reports.ranks_needed(len(values), (reports.MEDIAN, reports.P90))

    picked = {rank: values[rank - 1] for rank in needed}

    assert reports.durations(len(values), sum(values), picked) == reports.summarize(values)


@given(st.lists(st.integers(min_value=0, max_value=10**8), min_size=2, max_size=200))
def test_percentiles_agree_with_the_standard_librarys_inclusive_method(values: list[int]) -> None:
    ordered = sorted(values)

    assert reports.percentile(ordered, 50) == pytest.approx(statistics.median(values), rel=1e-12, abs=1e-6)
    assert reports.percentile(ordered, 90) == pytest.approx(
        statistics.quantiles(values, n=10, method="inclusive")[8], rel=1e-12, abs=1e-6
    )


def test_one_value_is_its_own_median_and_p90() -> None:
    assert reports.summarize([420]) == Durations(count=1, mean=420.0, median=420.0, p90=420.0)


def test_no_values_have_no_percentile() -> None:
    with pytest.raises(ValueError, match="no values"):
        reports.summarize([])


def test_the_kinds_of_problem_that_take_longest_come_first() -> None:
    rows = [
        HandlingTime("billing", Durations(3, 600.0, 500.0, 900.0)),
        HandlingTime("leak", Durations(3, 9000.0, 7200.0, 20000.0)),
        HandlingTime("noise", Durations(3, 4000.0, 7200.0, 9000.0)),
        HandlingTime("", Durations(1, 600.0, 500.0, 900.0)),
    ]

    assert [r.category for r in reports.longest_first(rows)] == ["leak", "noise", "", "billing"]


# First-contact resolution and rates


@pytest.mark.parametrize(
    ("public_replies", "reopen_count", "expected"),
    [(0, 0, True), (1, 0, True), (2, 0, False), (0, 1, False), (1, 2, False), (5, 1, False)],
)
def test_first_contact_means_at_most_one_public_reply_and_never_reopened(
    public_replies: int, reopen_count: int, expected: bool
) -> None:
    assert reports.first_contact(public_replies, reopen_count) is expected


def test_rates_are_shares_and_a_rate_over_nothing_is_zero() -> None:
    assert FirstContact(resolved=8, first_contact=6).rate == 0.75
    assert FirstContact(3, 1) + FirstContact(5, 5) == FirstContact(8, 6)
    assert Compliance(met=9, breached=1).rate == 0.9
    assert Compliance(9, 1).decided == 10
    assert Satisfaction(ratings=4, score_total=15, good=3).mean == 3.75
    assert Satisfaction(4, 15, 3).good_share == 0.75
    assert (FirstContact(0, 0).rate, Compliance(0, 0).rate) == (0.0, 0.0)
    assert (Satisfaction(0, 0, 0).mean, Satisfaction(0, 0, 0).good_share) == (0.0, 0.0)


# The points table


def test_points_are_ten_per_resolved_ticket_and_five_per_good_rating() -> None:
    assert Scoring().points(resolved=7, good_ratings=3) == 85


def test_standings_share_a_rank_on_equal_points_and_skip_the_next() -> None:
    tallies = [
        AgentTally("dora", resolved=2, good_ratings=0),
        AgentTally("alice", resolved=5, good_ratings=2),
        AgentTally("carl", resolved=3, good_ratings=0),
        AgentTally("bob", resolved=2, good_ratings=2),
        AgentTally("erin", resolved=0, good_ratings=0),
    ]

    table = reports.standings(tallies)

    assert table == [
        Standing(rank=1, agent="alice", resolved=5, good_ratings=2, points=60),
        # bob and carl both have 30: more good ratings lists bob first, the rank is shared.
        Standing(rank=2, agent="bob", resolved=2, good_ratings=2, points=30),
        Standing(rank=2, agent="carl", resolved=3, good_ratings=0, points=30),
        Standing(rank=4, agent="dora", resolved=2, good_ratings=0, points=20),
        Standing(rank=5, agent="erin", resolved=0, good_ratings=0, points=0),
    ]


def test_another_scoring_reorders_the_table() -> None:
    tallies = [AgentTally("alice", resolved=5, good_ratings=0), AgentTally("bob", resolved=1, good_ratings=3)]

    table = reports.standings(tallies, Scoring(per_resolved=1, per_good_rating=10))

    assert [(s.rank, s.agent, s.points) for s in table] == [(1, "bob", 31), (2, "alice", 5)]
