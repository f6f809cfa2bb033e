"""Working hours as specifications: shifts in the worker's own time zone, overnight shifts, and the next
moment being on shift changes."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from services.routing.domain.hours import next_change, on_shift
from services.routing.domain.workers import Shift, WorkingHours
from switchboard.errors import InvalidArgument

# 2025-03-14 is a Friday (weekday 4); Berlin is UTC+1 until the 30th of March, UTC+2 after.
BERLIN_DAYS = WorkingHours("Europe/Berlin", tuple(Shift(day, time(8), time(16)) for day in range(5)))
NIGHTS = WorkingHours("UTC", (Shift(4, time(22), time(6)),))


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def test_a_shift_is_wall_clock_time_in_the_workers_zone() -> None:
    assert not on_shift(BERLIN_DAYS, utc(14, 6, 59))
    assert on_shift(BERLIN_DAYS, utc(14, 7))
    assert on_shift(BERLIN_DAYS, utc(14, 14, 59))
    assert not on_shift(BERLIN_DAYS, utc(14, 15))
    # After the change to summer time, 08:00 in Berlin is 06:00 UTC.
    assert on_shift(BERLIN_DAYS, utc(31, 6))


def test_no_hours_means_always_on_shift() -> None:
    assert on_shift(None, utc(15, 3))
    assert next_change(None, utc(15, 3)) is None


def test_a_shift_ending_before_it_starts_runs_past_midnight() -> None:
    assert on_shift(NIGHTS, utc(14, 23))
    assert on_shift(NIGHTS, utc(15, 5, 59))
    assert not on_shift(NIGHTS, utc(15, 6))


def test_the_next_change_is_the_next_shift_edge() -> None:
    assert next_change(BERLIN_DAYS, utc(14, 9)) == utc(14, 15)
    # Friday evening: the next shift starts on Monday.
    assert next_change(BERLIN_DAYS, utc(14, 15)) == utc(17, 7)


def test_back_to_back_shifts_make_no_change_at_their_seam() -> None:
    split = WorkingHours("UTC", (Shift(4, time(8), time(12)), Shift(4, time(12), time(16))))

    assert next_change(split, utc(14, 9)) == utc(14, 16)


def test_an_unknown_time_zone_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match=r"hours\.time_zone: unknown time zone 'Mars/Olympus'"):
        on_shift(WorkingHours("Mars/Olympus", ()), utc(14, 9))
