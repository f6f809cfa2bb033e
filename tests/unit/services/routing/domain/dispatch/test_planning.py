"""Planning a day: every route is checked by recomputing it, drive by drive, against windows, shifts and skills."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TypedDict

import pytest

from services.routing.domain.dispatch import (
    Job,
    Plan,
    StraightLine,
    TechnicianDay,
    TravelMatrix,
    Visit,
    plan,
    plan_day,
    replan,
)
from services.routing.domain.dispatch.shifts import shifts_on
from services.routing.domain.workers import Location, Worker
from tests.unit.services.routing.domain.dispatch.berlin import (
    BRANDENBURG_GATE,
    DAY,
    HAUPTBAHNHOF,
    KOEPENICK,
    KREUZBERG,
    NEUKOELLN,
    PANKOW,
    POTSDAMER_PLATZ,
    PRENZLAUER_BERG,
    SPANDAU,
    TEMPELHOF,
    TV_TOWER,
    WEDDING,
    job,
    minutes,
    technician,
    utc,
)

TRAVEL = StraightLine()


class Budget(TypedDict):
    time_limit_seconds: float
    max_iterations: int
    seed: int


# Small budgets: the tests check what a plan is, not how good it gets with time.
SOLVE: Budget = {"time_limit_seconds": 1.0, "max_iterations": 300, "seed": 1}

ANNA = technician("anna", BRANDENBURG_GATE, {"boiler": 4, "gas-safe": 3})
BEN = technician("ben", NEUKOELLN, {"boiler": 5, "washer": 2})
CLARA = technician("clara", PANKOW, {"washer": 4, "dishwasher": 4})
DAVE = technician("dave", SPANDAU, {"boiler": 2, "dishwasher": 5})
TEAM = [ANNA, BEN, CLARA, DAVE]

MORNING, MIDDAY, AFTERNOON, ALL_DAY = (utc(7), utc(9)), (utc(9), utc(11)), (utc(11), utc(13)), (utc(7), utc(14))
DAYS_WORK = [
    job("wo-01", TV_TOWER, MORNING, minutes=45),
    job("wo-02", KREUZBERG, MIDDAY, minutes=60),
    job("wo-03", TEMPELHOF, AFTERNOON, minutes=90),
    job("wo-04", PRENZLAUER_BERG, MORNING, skills=("washer",), minutes=30),
    job("wo-05", WEDDING, MIDDAY, skills=("washer",), minutes=45),
    job("wo-06", PANKOW, AFTERNOON, skills=("dishwasher",), minutes=60),
    job("wo-07", SPANDAU, MORNING, skills=("dishwasher",), minutes=60),
    job("wo-08", HAUPTBAHNHOF, ALL_DAY, skills=("boiler", "gas-safe"), minutes=120),
    job("wo-09", POTSDAMER_PLATZ, AFTERNOON, minutes=45),
    job("wo-10", KOEPENICK, ALL_DAY, skills=("boiler",), minutes=60),
    job("wo-11", NEUKOELLN, MORNING, skills=("washer",), minutes=30),
    job("wo-12", BRANDENBURG_GATE, MIDDAY, skills=("dishwasher",), minutes=30),
]


def assert_plan_holds(
    plan: Plan, jobs: Sequence[Job], technicians: Sequence[Worker], bookings: Mapping[str, Sequence[Visit]]
) -> None:
    """Recompute every route from the base at the start of the shift: drives, windows, skills, the way home."""
    by_id = {j.work_order_id: j for j in jobs}
    booked = {v.work_order_id: v for visits in bookings.values() for v in visits}
    places: dict[str, Location] = {key: j.location for key, j in by_id.items()} | {
        key: v.location for key, v in booked.items()
    }
    planned: list[str] = []
    driven = 0.0
    for worker in technicians:
        visits = plan.routes.get(worker.worker_id, ())
        assert worker.base is not None
        covered = 0
        for start, end in shifts_on(worker, DAY):
            here, free = worker.base, start
            for visit in (v for v in visits if start <= v.start < end):
                drive = TRAVEL.minutes(here, places[visit.work_order_id])
                assert visit.arrive >= free + minutes(drive), f"{visit.work_order_id} reached too soon"
                assert visit.travel_minutes == pytest.approx(drive, abs=1 / 60)
                assert visit.start >= visit.arrive
                if (fixed := booked.get(visit.work_order_id)) is not None:
                    assert (visit.start, visit.end) == (fixed.start, fixed.end)
                else:
                    work = by_id[visit.work_order_id]
                    assert work.window_start <= visit.start <= work.window_end, f"{visit.work_order_id} outside window"
                    assert visit.end - visit.start == work.duration
                    assert all(worker.skills.get(skill, 0) >= 1 for skill in work.required_skills)
                driven += drive
                here, free = places[visit.work_order_id], visit.end
                covered += 1
            back = TRAVEL.minutes(here, worker.base)
            assert free + minutes(back) <= end, f"{worker.worker_id} home after the shift"
            driven += back
        assert covered == len(visits), f"{worker.worker_id} has visits outside the shifts"
        planned += [v.work_order_id for v in visits]
    assert len(planned) == len(set(planned)), "a work order is planned twice"
    assert set(planned) | {u.work_order_id for u in plan.unassigned} == set(by_id) | set(booked)
    assert plan.total_travel_minutes == pytest.approx(driven, abs=len(planned) / 60 + 0.1)


def test_every_route_keeps_the_windows_shifts_and_skills_when_recomputed() -> None:
    plan = plan_day(DAYS_WORK, TEAM, DAY, {}, TRAVEL, **SOLVE)

    assert_plan_holds(plan, DAYS_WORK, TEAM, {})
    assert plan.unassigned == ()
    assert set(plan.routes) == {"anna", "ben", "clara", "dave"}
    assert plan.solver.startswith("PyVRP 0.14")


def test_a_job_that_needs_skills_nobody_has_is_left_out_with_the_reason() -> None:
    heat_pump = job("wo-hp", TV_TOWER, ALL_DAY, skills=("heat-pump",))

    plan = plan_day([heat_pump], TEAM, DAY, {}, TRAVEL, **SOLVE)

    assert plan.unassigned == (("wo-hp", "no technician working that day has all of: heat-pump"),)


def test_a_job_outside_every_skilled_shift_is_left_out_with_the_reason() -> None:
    # 18:00-19:00 UTC is after every Berlin shift ends at 16:00 local.
    evening = job("wo-late", TV_TOWER, (utc(17), utc(18)))

    plan = plan_day([evening], TEAM, DAY, {}, TRAVEL, **SOLVE)

    assert plan.unassigned == (
        (
            "wo-late",
            "3 technicians with the skills are on duty, but none can be there within its window "
            "and be done within their working hours",
        ),
    )


def test_when_not_all_fit_the_most_urgent_is_planned() -> None:
    same_slot = (utc(7), utc(8))
    jobs = [
        job("wo-p4", TV_TOWER, same_slot, minutes=240, priority=4),
        job("wo-p1", TV_TOWER, same_slot, minutes=240, priority=1),
        job("wo-p3", TV_TOWER, same_slot, minutes=240, priority=3),
    ]

    plan = plan_day(jobs, [ANNA], DAY, {}, TRAVEL, **SOLVE)

    assert [v.work_order_id for v in plan.routes["anna"]] == ["wo-p1"]
    assert [u.work_order_id for u in plan.unassigned] == ["wo-p4", "wo-p3"]
    assert plan.unassigned[0].reason == "no room in its window: 1 technician could take it but is fully booked"


def test_booked_visits_stay_at_their_time_with_their_technician() -> None:
    bookings = {
        "ben": [Visit("booked-b", utc(9), utc(10), KREUZBERG)],
        "anna": [Visit("booked-a", utc(12), utc(13), PANKOW)],
    }

    plan = plan_day(DAYS_WORK, TEAM, DAY, bookings, TRAVEL, **SOLVE)

    assert_plan_holds(plan, DAYS_WORK, TEAM, bookings)
    for worker, key, start, end in (("ben", "booked-b", utc(9), utc(10)), ("anna", "booked-a", utc(12), utc(13))):
        found = plan.find(key)
        assert found is not None
        assert (found[0], found[1].start, found[1].end) == (worker, start, end)


def test_booked_visits_that_cannot_both_be_made_are_refused_naming_the_technician() -> None:
    clash = {"anna": [Visit("b-1", utc(9), utc(10), SPANDAU), Visit("b-2", utc(10), utc(11), KOEPENICK)]}

    with pytest.raises(ValueError, match="anna: the booked visits cannot all be made in time"):
        plan_day([], TEAM, DAY, clash, TRAVEL, **SOLVE)


def test_the_same_inputs_and_seed_give_the_same_plan() -> None:
    first = plan_day(DAYS_WORK, TEAM, DAY, {}, TRAVEL, **SOLVE)
    second = plan_day(DAYS_WORK, TEAM, DAY, {}, TRAVEL, **SOLVE)

    assert (first.routes, first.unassigned, first.total_travel_minutes) == (
        second.routes,
        second.unassigned,
        second.total_travel_minutes,
    )


def test_nobody_on_duty_leaves_every_job_unassigned() -> None:
    saturday = DAY + timedelta(days=4)

    plan = plan_day(DAYS_WORK[:2], TEAM, saturday, {}, TRAVEL, **SOLVE)

    assert plan.routes == {}
    assert [u.reason for u in plan.unassigned] == ["no technician works that day"] * 2


def test_an_emergency_is_planned_in_and_the_other_jobs_keep_their_technicians() -> None:
    before = plan_day(DAYS_WORK, TEAM, DAY, {}, TRAVEL, **SOLVE)
    now = utc(10)
    gas_leak = job("wo-gas", BRANDENBURG_GATE, (now, now + minutes(60)), skills=("gas-safe",), emergency=True)

    after = replan(before, gas_leak, DAYS_WORK, TEAM, DAY, {}, TRAVEL, now, **SOLVE)

    assert_plan_holds(after.plan, [*DAYS_WORK, gas_leak], TEAM, {})
    placed = after.plan.find("wo-gas")
    assert placed is not None and placed[0] == "anna"
    assert placed[1].start <= now + minutes(60)
    for work in DAYS_WORK:
        old, new = before.find(work.work_order_id), after.plan.find(work.work_order_id)
        assert old is not None and new is not None
        assert new[0] == old[0], f"{work.work_order_id} changed technician"
    assert after.moved[-1].work_order_id == "wo-gas"
    assert (after.moved[-1].from_worker, after.moved[-1].to_worker) == (None, "anna")


def test_visits_under_way_stay_exactly_as_they_were() -> None:
    before = plan_day(DAYS_WORK, TEAM, DAY, {}, TRAVEL, **SOLVE)
    now = utc(10)
    gas_leak = job("wo-gas", BRANDENBURG_GATE, (now, now + minutes(60)), skills=("gas-safe",), emergency=True)

    after = replan(before, gas_leak, DAYS_WORK, TEAM, DAY, {}, TRAVEL, now, **SOLVE)

    for worker, visits in before.routes.items():
        under_way = [v for v in visits if v.arrive - minutes(v.travel_minutes) < now]
        assert list(after.plan.routes[worker][: len(under_way)]) == under_way
    moved = {m.work_order_id for m in after.moved}
    assert not moved & {v.work_order_id for vs in before.routes.values() for v in vs if v.start < now}


def test_an_emergency_only_one_technician_can_take_moves_other_work_to_a_colleague() -> None:
    # Anna alone is gas-safe; her morning is full of boiler work Ben could do as well.
    anna, ben = technician("anna", TV_TOWER, {"boiler": 4, "gas-safe": 3}), technician("ben", KREUZBERG, {"boiler": 4})
    morning = [job(f"wo-{n}", TV_TOWER, (utc(7), utc(12)), minutes=110) for n in range(1, 5)]
    before = plan_day(morning, [anna, ben], DAY, {}, TRAVEL, **SOLVE)
    now = utc(7)
    gas_leak = job("wo-gas", TV_TOWER, (now, now + minutes(30)), skills=("gas-safe",), minutes=110, emergency=True)

    after = replan(before, gas_leak, morning, [anna, ben], DAY, {}, TRAVEL, now, **SOLVE)

    assert_plan_holds(after.plan, [*morning, gas_leak], [anna, ben], {})
    placed = after.plan.find("wo-gas")
    assert placed is not None and placed[0] == "anna"
    assert after.plan.unassigned == ()
    handed_over = [m for m in after.moved if (m.from_worker, m.to_worker) == ("anna", "ben")]
    assert len(handed_over) == 1


def test_a_day_plans_on_a_routing_engines_matrix_as_well() -> None:
    # A one-way street: from the tower to Kreuzberg is quick, the way back long.
    travel = TravelMatrix(
        [BRANDENBURG_GATE, TV_TOWER, KREUZBERG],
        [[0, 5, 40], [5, 0, 5], [40, 40, 0]],
    )
    anna = technician("anna", BRANDENBURG_GATE, {"boiler": 4})
    jobs = [job("wo-k", KREUZBERG, ALL_DAY, minutes=30), job("wo-t", TV_TOWER, ALL_DAY, minutes=30)]
    day = TechnicianDay(anna, utc(7), utc(15), BRANDENBURG_GATE, BRANDENBURG_GATE)

    planned = plan(jobs, [day], travel, **SOLVE)

    assert [(v.work_order_id, v.travel_minutes) for v in planned.routes["anna"]] == [("wo-t", 5.0), ("wo-k", 5.0)]
    assert planned.total_travel_minutes == 50.0


def test_replanning_without_the_jobs_of_the_plan_is_refused_rather_than_losing_them() -> None:
    before = plan_day(DAYS_WORK, TEAM, DAY, {}, TRAVEL, **SOLVE)
    gas_leak = job("wo-gas", BRANDENBURG_GATE, (utc(10), utc(11)), skills=("gas-safe",), emergency=True)
    forgotten = [work for work in DAYS_WORK if work.work_order_id not in ("wo-03", "wo-10")]

    with pytest.raises(ValueError, match="missing: wo-03, wo-10"):
        replan(before, gas_leak, forgotten, TEAM, DAY, {}, TRAVEL, utc(7), **SOLVE)


def test_booked_visits_keep_their_time_through_a_replan() -> None:
    bookings = {
        "anna": [Visit("booked-early", utc(7, 30), utc(8), TV_TOWER), Visit("booked-late", utc(12), utc(13), PANKOW)]
    }
    before = plan_day(DAYS_WORK, TEAM, DAY, bookings, TRAVEL, **SOLVE)
    now = utc(10)
    gas_leak = job("wo-gas", BRANDENBURG_GATE, (now, now + minutes(60)), skills=("gas-safe",), emergency=True)

    after = replan(before, gas_leak, DAYS_WORK, TEAM, DAY, bookings, TRAVEL, now, **SOLVE)

    assert_plan_holds(after.plan, [*DAYS_WORK, gas_leak], TEAM, bookings)
    assert not {m.work_order_id for m in after.moved} & {"booked-early", "booked-late"}
