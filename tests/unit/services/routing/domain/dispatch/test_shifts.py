"""When technicians work, in UTC: their own time zone, daylight saving and shifts past midnight."""

from __future__ import annotations

from datetime import date, time

from services.routing.domain.dispatch.shifts import shifts_on, shifts_overlapping
from services.routing.domain.workers import Shift, Worker, WorkingHours
from tests.unit.services.routing.domain.dispatch.berlin import DAY, TV_TOWER, technician, utc

NIGHTS = WorkingHours("Europe/Berlin", (Shift(0, time(22), time(6)), Shift(1, time(22), time(6))))


def test_a_berlin_day_shift_is_an_hour_earlier_in_utc_in_winter_and_two_in_summer() -> None:
    anna = technician("anna", TV_TOWER, {"boiler": 3})

    assert shifts_on(anna, DAY) == [(utc(7), utc(15))]
    april_first = date(2025, 4, 1)
    assert [(s.hour, e.hour) for s, e in shifts_on(anna, april_first)] == [(6, 14)]


def test_a_night_shift_starts_on_its_day_and_ends_the_next_morning() -> None:
    night_owl = technician("nora", TV_TOWER, {"boiler": 3}, hours=NIGHTS)

    assert shifts_on(night_owl, DAY) == [(utc(21), utc(5).replace(day=19))]


def test_mondays_night_shift_reaches_into_tuesday_morning() -> None:
    night_owl = technician("nora", TV_TOWER, {"boiler": 3}, hours=NIGHTS)

    found = shifts_overlapping(night_owl, utc(3), utc(4))

    assert found == [(utc(21).replace(day=17), utc(5))]


def test_a_worker_without_hours_is_always_working() -> None:
    anytime = Worker(worker_id="any", name="Any", hours=None)

    assert shifts_overlapping(anytime, utc(3), utc(4)) == [(utc(3), utc(4))]
    assert shifts_on(anytime, DAY) == [(utc(0), utc(0).replace(day=19))]
