"""Recommending technicians for a work order: hard rules first, then the best fit, with reasons."""

from __future__ import annotations

from datetime import time

from services.routing.domain.dispatch import StraightLine, Visit, recommend
from services.routing.domain.workers import Shift, WorkingHours
from tests.unit.services.routing.domain.dispatch.berlin import (
    BRANDENBURG_GATE,
    HAUPTBAHNHOF,
    KOEPENICK,
    KREUZBERG,
    POTSDAMER_PLATZ,
    SPANDAU,
    TEMPELHOF,
    TV_TOWER,
    job,
    technician,
    utc,
)

TRAVEL = StraightLine()
NOW = utc(8)
# A boiler repair at the TV tower, needing one pump, between 10:00 and 13:00 Berlin time.
BOILER_AT_THE_TOWER = job("wo-1", TV_TOWER, (utc(9), utc(12)), parts={"PUMP-12": 1})

ANNA = technician("anna", BRANDENBURG_GATE, {"boiler": 4}, van_stock={"PUMP-12": 2})
BEN = technician("ben", HAUPTBAHNHOF, {"boiler": 5})
CLARA = technician("clara", SPANDAU, {"boiler": 5}, van_stock={"PUMP-12": 1})
DAVE = technician("dave", TV_TOWER, {"washer": 5}, van_stock={"PUMP-12": 1})


def test_the_skilled_close_technician_with_the_part_in_the_van_ranks_first() -> None:
    ranked = recommend(BOILER_AT_THE_TOWER, [CLARA, BEN, DAVE, ANNA], {}, TRAVEL, NOW)

    # Clara drives an hour there and back but has the pump; Ben is near without one, and a missing part
    # usually means a second visit.
    assert [r.worker_id for r in ranked] == ["anna", "clara", "ben"]
    best = ranked[0]
    assert best.has_parts and best.missing_parts == {}
    assert best.earliest_start == utc(9)
    assert round(best.travel_minutes, 1) == 4.3


def test_a_technician_without_the_skill_is_never_recommended_even_on_the_doorstep() -> None:
    ranked = recommend(BOILER_AT_THE_TOWER, [DAVE], {}, TRAVEL, NOW, limit=20)

    assert ranked == []


def test_missing_parts_cost_points_but_do_not_exclude() -> None:
    without_pump = technician("anna-2", BRANDENBURG_GATE, {"boiler": 4})

    ranked = recommend(BOILER_AT_THE_TOWER, [without_pump, ANNA], {}, TRAVEL, NOW)

    assert [r.worker_id for r in ranked] == ["anna", "anna-2"]
    assert ranked[0].score - ranked[1].score == 20.0
    assert not ranked[1].has_parts
    assert ranked[1].missing_parts == {"PUMP-12": 1}
    assert "missing from the van: PUMP-12 x1" in ranked[1].reasons


def test_a_visit_must_start_within_the_technicians_shift_in_their_own_time_zone() -> None:
    # 15:10-15:30 UTC is 16:10-16:30 in Berlin, after a Berlin shift ends at 16:00; London is on
    # UTC in March, so a shift to 16:00 there still has room for a 30 minute visit nearby.
    late = job("wo-late", TV_TOWER, (utc(15, 10), utc(15, 30)), minutes=30)
    london_hours = WorkingHours("Europe/London", tuple(Shift(day, time(8), time(16)) for day in range(5)))
    on_london_time = technician("lena", BRANDENBURG_GATE, {"boiler": 3}, hours=london_hours)

    ranked = recommend(late, [ANNA, on_london_time], {}, TRAVEL, NOW)

    assert [r.worker_id for r in ranked] == ["lena"]
    assert ranked[0].earliest_start == utc(15, 10)


def test_nobody_off_duty_that_weekday_is_recommended() -> None:
    saturday = job("wo-sat", TV_TOWER, (utc(9).replace(day=22), utc(12).replace(day=22)))

    assert recommend(saturday, [ANNA, BEN], {}, TRAVEL, NOW) == []


def test_a_job_fits_between_booked_visits_only_with_the_drive_there_and_on() -> None:
    bookings = {
        "anna": [
            Visit("booked-1", utc(9), utc(10), POTSDAMER_PLATZ),
            Visit("booked-2", utc(11), utc(12), TEMPELHOF),
        ]
    }
    short = job("wo-short", KREUZBERG, (utc(9), utc(12)), minutes=45)
    long = job("wo-long", KREUZBERG, (utc(9), utc(12)), minutes=60)

    fitted = recommend(short, [ANNA], bookings, TRAVEL, NOW)

    # 4.4 minutes from Potsdamer Platz, 45 on site, 5.4 on to Tempelhof: done before 11:00.
    assert [(r.worker_id, r.earliest_start) for r in fitted] == [("anna", utc(10, 5))]
    assert fitted[0].workload_minutes == 120
    assert "can start Tue 11:05 (Europe/Berlin) after visit booked-1, 4 min drive" in fitted[0].reasons
    # An hour on site would make her late for Tempelhof, and no other gap opens within the window.
    assert recommend(long, [ANNA], bookings, TRAVEL, NOW) == []


def test_the_earliest_start_waits_for_the_window_and_never_lies_in_the_past() -> None:
    ranked = recommend(BOILER_AT_THE_TOWER, [ANNA], {}, TRAVEL, now=utc(10, 30))

    # Leaving now, 4.3 minutes' drive, rounded up to the whole minute.
    assert ranked[0].earliest_start == utc(10, 35)


def test_a_job_whose_window_has_passed_has_no_recommendation() -> None:
    assert recommend(BOILER_AT_THE_TOWER, [ANNA, BEN], {}, TRAVEL, now=utc(12, 30)) == []


def test_an_emergency_goes_to_whoever_can_start_soonest_where_a_normal_job_prefers_the_short_drive() -> None:
    near_but_busy = technician("xaver", BRANDENBURG_GATE, {"boiler": 4})
    far_but_free = technician("yusuf", KOEPENICK, {"boiler": 4})
    bookings = {"xaver": [Visit("booked", utc(9), utc(12), TV_TOWER)]}
    window = (utc(9), utc(13))

    normal = recommend(job("wo-n", TV_TOWER, window), [near_but_busy, far_but_free], bookings, TRAVEL, utc(9))
    urgent = job("wo-e", TV_TOWER, window, emergency=True)
    emergency = recommend(urgent, [near_but_busy, far_but_free], bookings, TRAVEL, utc(9))

    assert [r.worker_id for r in normal] == ["xaver", "yusuf"]
    assert [r.worker_id for r in emergency] == ["yusuf", "xaver"]
    assert emergency[0].earliest_start < emergency[1].earliest_start


def test_the_reasons_say_what_a_dispatcher_needs_to_know() -> None:
    best = recommend(BOILER_AT_THE_TOWER, [ANNA], {}, TRAVEL, NOW)[0]

    assert best.reasons == (
        "skills: boiler 4/5",
        "can start Tue 10:00 (Europe/Berlin) from base, 4 min drive",
        "adds 9 min of driving to the day",
        "all parts in the van",
        "works territory mitte",
        "0 of 480 shift minutes already booked",
    )


def test_a_technician_from_another_territory_scores_lower_but_is_still_recommended() -> None:
    visiting = technician(
        "anna-east", BRANDENBURG_GATE, {"boiler": 4}, territory="lichtenberg", van_stock={"PUMP-12": 2}
    )

    ranked = recommend(BOILER_AT_THE_TOWER, [visiting, ANNA], {}, TRAVEL, NOW)

    assert [r.worker_id for r in ranked] == ["anna", "anna-east"]
    assert ranked[0].score - ranked[1].score == 15.0
    assert "works territory lichtenberg, the job is in mitte" in ranked[1].reasons


def test_equal_technicians_are_ranked_by_worker_id_and_limited() -> None:
    twins = [technician(f"twin-{n}", BRANDENBURG_GATE, {"boiler": 4}) for n in (3, 1, 2)]

    ranked = recommend(BOILER_AT_THE_TOWER, twins, {}, TRAVEL, NOW, limit=2)

    assert [r.worker_id for r in ranked] == ["twin-1", "twin-2"]
