"""Planning a day of technician visits, and re-planning it when an emergency comes in.

Each technician's shift on the day becomes a PyVRP vehicle that leaves their base at the start of the
shift and is back by its end (vrp.py holds the translation). A job is a stop with the customer's
arrival window, its duration on site, and a prize by urgency; only technicians with every required
skill may make it. Visits already booked (fixed appointments) are stops that must be made at their
booked time by their technician. Jobs that cannot fit are left out and listed with the reason, so a
plan always comes back.

Re-planning keeps what has begun: a visit whose technician has already set off for it stays as it
is, and each technician continues from where that leaves them. Everything else may move, but moving
a job to another technician costs as much as :data:`REASSIGNMENT_PENALTY` of extra driving, so the
emergency goes in with the fewest changes that make room for it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from services.routing.domain.dispatch import vrp
from services.routing.domain.dispatch.jobs import Job, Visit
from services.routing.domain.dispatch.shifts import shifts_on
from services.routing.domain.dispatch.travel import TravelTimes
from services.routing.domain.workers import Location, Worker, WorkerKind

# A job's worth in seconds of driving: any job is worth far more than the driving it takes, so the plan
# leaves one out only when it cannot fit; when not all fit, the more urgent go first.
PRIZES = {1: 800_000, 2: 400_000, 3: 200_000, 4: 100_000}
EMERGENCY_PRIZE = 10_000_000
# Moving a planned job to another technician when re-planning costs a quarter of a routine job's prize
# (about 14 hours of driving): a few moves to fit the emergency or keep a job in the plan, never moves
# just to drive less, nor a reshuffle of the day for one more routine job.
REASSIGNMENT_PENALTY = PRIZES[3] // 4


@dataclass(frozen=True)
class TechnicianDay:
    """A stretch of a technician's time to plan: free at ``origin`` from ``start``, due at ``finish`` by ``end``."""

    worker: Worker
    start: datetime
    end: datetime
    origin: Location
    finish: Location


@dataclass(frozen=True)
class PlannedVisit:
    work_order_id: str
    arrive: datetime
    start: datetime
    end: datetime
    # From the previous stop (the base, or the visit before).
    travel_minutes: float


class Unassigned(NamedTuple):
    work_order_id: str
    reason: str


@dataclass(frozen=True)
class Plan:
    # Worker id -> the day's visits in order, booked ones included; every planned technician has an entry.
    routes: Mapping[str, tuple[PlannedVisit, ...]]
    unassigned: tuple[Unassigned, ...]
    # All driving, back to base included.
    total_travel_minutes: float
    solve_seconds: float
    solver: str

    def find(self, work_order_id: str) -> tuple[str, PlannedVisit] | None:
        """The technician and visit planned for a work order; None when it is not in a route."""
        for worker_id, visits in self.routes.items():
            for visit in visits:
                if visit.work_order_id == work_order_id:
                    return worker_id, visit
        return None


@dataclass(frozen=True)
class Move:
    """A job whose technician or start changed; None for "not in the plan"."""

    work_order_id: str
    from_worker: str | None
    to_worker: str | None
    from_start: datetime | None
    to_start: datetime | None


@dataclass(frozen=True)
class Replan:
    plan: Plan
    moved: tuple[Move, ...]


def plan_day(
    jobs: Sequence[Job],
    technicians: Iterable[Worker],
    day: date,
    bookings: Mapping[str, Sequence[Visit]],
    travel: TravelTimes,
    time_limit_seconds: float,
    *,
    seed: int = 1,
    max_iterations: int | None = None,
) -> Plan:
    """Assign and order ``jobs`` among the technicians' shifts that start on ``day`` (in their time zones).

    ``bookings`` maps a worker id to visits already booked for them; those on the day stay as booked.
    With ``max_iterations`` the plan depends only on the inputs and ``seed``; with only the time limit,
    on how far the solver gets in that time.
    """
    days = [
        TechnicianDay(worker, start, end, worker.base, worker.base)
        for worker in technicians
        if worker.kind is WorkerKind.TECHNICIAN and worker.base is not None
        for start, end in shifts_on(worker, day)
    ]
    return plan(
        jobs,
        days,
        travel,
        bookings=bookings,
        time_limit_seconds=time_limit_seconds,
        seed=seed,
        max_iterations=max_iterations,
    )


def replan(
    previous: Plan,
    emergency: Job,
    jobs: Sequence[Job],
    technicians: Iterable[Worker],
    day: date,
    bookings: Mapping[str, Sequence[Visit]],
    travel: TravelTimes,
    now: datetime,
    time_limit_seconds: float,
    *,
    seed: int = 1,
    max_iterations: int | None = None,
) -> Replan:
    """Fit ``emergency`` into ``previous``, a plan of ``jobs`` for ``day``, as things stand at ``now``.

    A visit counts as begun once its technician has set off for it (arrival minus the drive is before
    ``now``); begun visits stay as they are. The rest is planned again from ``now`` on, preferring to
    keep every job with its technician. ``moved`` lists each job whose technician or start changed,
    the emergency included.
    """
    booked = {visit.work_order_id for visits in bookings.values() for visit in visits}
    places = {job.work_order_id: job.location for job in [*jobs, emergency]}
    places |= {visit.work_order_id: visit.location for visits in bookings.values() for visit in visits}
    begun = {
        worker_id: tuple(v for v in visits if v.arrive - timedelta(minutes=v.travel_minutes) < now)
        for worker_id, visits in previous.routes.items()
    }
    begun_ids = {visit.work_order_id for visits in begun.values() for visit in visits}
    days = []
    home_legs = 0.0
    for worker in technicians:
        if worker.kind is not WorkerKind.TECHNICIAN or worker.base is None:
            continue
        done = begun.get(worker.worker_id, ())
        for start, end in shifts_on(worker, day):
            last = next((v for v in reversed(done) if start <= v.start < end), None)
            here = places[last.work_order_id] if last else worker.base
            free = max(now, start, last.end if last else start)
            if free < end:
                days.append(TechnicianDay(worker, free, end, here, worker.base))
            elif last:
                home_legs += travel.minutes(here, worker.base)
    still_booked = {
        worker: [v for v in visits if v.work_order_id not in begun_ids] for worker, visits in bookings.items()
    }
    settled = {*begun_ids, emergency.work_order_id}
    remaining = [job for job in jobs if job.work_order_id not in settled]
    previously = {v.work_order_id for vs in previous.routes.values() for v in vs} | {
        u.work_order_id for u in previous.unassigned
    }
    if lost := sorted(previously - {job.work_order_id for job in jobs} - booked - begun_ids):
        raise ValueError(f"the jobs of the previous plan are needed to re-plan it; missing: {', '.join(lost)}")
    fresh = plan(
        [*remaining, emergency],
        days,
        travel,
        bookings=still_booked,
        previous=previous,
        time_limit_seconds=time_limit_seconds,
        seed=seed,
        max_iterations=max_iterations,
    )
    routes = {
        worker_id: (*begun.get(worker_id, ()), *fresh.routes.get(worker_id, ()))
        for worker_id in dict.fromkeys([*previous.routes, *fresh.routes])
    }
    merged = Plan(
        routes=routes,
        unassigned=fresh.unassigned,
        total_travel_minutes=sum(v.travel_minutes for visits in begun.values() for v in visits)
        + fresh.total_travel_minutes
        + home_legs,
        solve_seconds=fresh.solve_seconds,
        solver=fresh.solver,
    )
    candidates = [*(job.work_order_id for job in remaining), emergency.work_order_id]
    return Replan(merged, _moves(previous, merged, [key for key in candidates if key not in booked]))


def plan(
    jobs: Sequence[Job],
    days: Sequence[TechnicianDay],
    travel: TravelTimes,
    *,
    bookings: Mapping[str, Sequence[Visit]] | None = None,
    previous: Plan | None = None,
    time_limit_seconds: float,
    seed: int = 1,
    max_iterations: int | None = None,
) -> Plan:
    """Assign and order ``jobs`` among the given stretches of technicians' time.

    Booked visits that start within one of their technician's stretches are kept there at their
    booked time; others are not part of this plan. With ``previous``, moving a job away from the
    technician it had there costs :data:`REASSIGNMENT_PENALTY`, and the previous routes are the
    solver's starting point.
    """
    keys = [job.work_order_id for job in jobs] + [v.work_order_id for vs in (bookings or {}).values() for v in vs]
    if len(set(keys)) != len(keys):
        raise ValueError("work order ids must be unique across jobs and bookings")
    if not days:
        nobody = tuple(Unassigned(job.work_order_id, "no technician works that day") for job in jobs)
        return Plan({}, nobody, 0.0, 0.0, "none: nobody to plan")
    model = _Model(days, travel)
    for worker_id, visits in (bookings or {}).items():
        for visit in visits:
            model.book(worker_id, visit)
    owners = {v.work_order_id: (w, v.start) for w, vs in (previous.routes if previous else {}).items() for v in vs}
    reasons = {job.work_order_id: model.add(job, owners.get(job.work_order_id)) for job in jobs}
    solved = vrp.solve(
        model.vehicles,
        model.stops,
        travel,
        penalty=REASSIGNMENT_PENALTY,
        warm=model.warm(),
        time_limit_seconds=time_limit_seconds,
        seed=seed,
        max_iterations=max_iterations,
    )
    routes: dict[str, list[PlannedVisit]] = {day.worker.worker_id: [] for day in days}
    for stop in solved.stops:
        routes[days[stop.vehicle].worker.worker_id].append(
            PlannedVisit(
                work_order_id=stop.key,
                arrive=model.moment(stop.arrive),
                start=model.moment(stop.start),
                end=model.moment(stop.end),
                travel_minutes=stop.travel / 60,
            )
        )
    for key in solved.unplanned:
        able = model.able(key)
        reasons[key] = f"no room in its window: {_technicians(able)} could take it but {_are(able)} fully booked"
    return Plan(
        routes={worker: tuple(sorted(visits, key=lambda v: v.start)) for worker, visits in routes.items()},
        unassigned=tuple(Unassigned(key, reason) for key, reason in reasons.items() if reason),
        total_travel_minutes=solved.travel_seconds / 60,
        solve_seconds=solved.runtime,
        solver=f"{solved.solver}, seed {seed}",
    )


class _Model:
    """The day in the solver's terms: whole seconds from the earliest start, vehicles and stops by index."""

    def __init__(self, days: Sequence[TechnicianDay], travel: TravelTimes) -> None:
        self._days = days
        self._travel = travel
        self._origin = min(day.start for day in days)
        self.vehicles = [
            vrp.Vehicle(
                day.worker.worker_id, day.origin, day.finish, self._seconds(day.start, up=True), self._seconds(day.end)
            )
            for day in days
        ]
        self.stops: list[vrp.Stop] = []
        self._able: dict[str, int] = {}
        self._warm: dict[int, list[tuple[int, str]]] = defaultdict(list)

    def moment(self, seconds: int) -> datetime:
        return self._origin + timedelta(seconds=seconds)

    def able(self, key: str) -> int:
        return self._able[key]

    def warm(self) -> dict[int, list[str]]:
        return {vehicle: [key for _, key in sorted(entries)] for vehicle, entries in self._warm.items()}

    def book(self, worker_id: str, visit: Visit) -> None:
        vehicle = self._vehicle_of(worker_id, visit.start)
        if vehicle is None:
            return
        start = self._seconds(visit.start)
        self.stops.append(
            vrp.Stop(
                key=visit.work_order_id,
                location=visit.location,
                earliest=start,
                latest=start,
                service=math.ceil((visit.end - visit.start).total_seconds()),
                required=True,
                prize=0,
                vehicles=frozenset({vehicle}),
            )
        )
        self._warm[vehicle].append((start, visit.work_order_id))

    def add(self, job: Job, owner: tuple[str, datetime] | None) -> str:
        """Adds the job as a stop and returns "", or returns why it cannot be planned at all."""
        skilled = [i for i, day in enumerate(self._days) if _has_skills(day.worker, job)]
        if not skilled:
            return f"no technician working that day has all of: {', '.join(job.required_skills)}"
        earliest, latest = max(0, self._seconds(job.window_start, up=True)), self._seconds(job.window_end)
        service = job.duration_minutes * 60
        able = frozenset(i for i in skilled if self._fits_alone(i, job, earliest, latest, service))
        if not able:
            return (
                f"{_technicians(len(skilled))} with the skills {_are(len(skilled))} on duty, but none can be there "
                "within its window and be done within their working hours"
            )
        penalised: frozenset[int] = frozenset()
        if owner is not None:
            worker_id, start = owner
            penalised = frozenset(i for i in able if self._days[i].worker.worker_id != worker_id)
            vehicle = self._vehicle_of(worker_id, start)
            if vehicle in able:
                self._warm[vehicle].append((self._seconds(start), job.work_order_id))
        prize = EMERGENCY_PRIZE if job.emergency else PRIZES[job.priority]
        self.stops.append(
            vrp.Stop(job.work_order_id, job.location, earliest, latest, service, False, prize, able, penalised)
        )
        self._able[job.work_order_id] = len(able)
        return ""

    def _fits_alone(self, vehicle: int, job: Job, earliest: int, latest: int, service: int) -> bool:
        day, limits = self._days[vehicle], self.vehicles[vehicle]
        start = max(limits.earliest + vrp.seconds(self._travel.minutes(day.origin, job.location)), earliest)
        back = vrp.seconds(self._travel.minutes(job.location, day.finish))
        return start <= latest and start + service + back <= limits.latest

    def _vehicle_of(self, worker_id: str, moment: datetime) -> int | None:
        return next(
            (
                i
                for i, day in enumerate(self._days)
                if day.worker.worker_id == worker_id and day.start <= moment < day.end
            ),
            None,
        )

    def _seconds(self, moment: datetime, *, up: bool = False) -> int:
        seconds = (moment - self._origin).total_seconds()
        return math.ceil(seconds) if up else math.floor(seconds)


def _technicians(count: int) -> str:
    return "1 technician" if count == 1 else f"{count} technicians"


def _are(count: int) -> str:
    return "is" if count == 1 else "are"


def _has_skills(worker: Worker, job: Job) -> bool:
    return all(worker.skills.get(skill, 0) >= 1 for skill in job.required_skills)


def _moves(before: Plan, after: Plan, keys: Sequence[str]) -> tuple[Move, ...]:
    moves = []
    for key in keys:
        old, new = before.find(key), after.find(key)
        from_worker, from_start = (old[0], old[1].start) if old else (None, None)
        to_worker, to_start = (new[0], new[1].start) if new else (None, None)
        if (from_worker, from_start) != (to_worker, to_start):
            moves.append(Move(key, from_worker, to_worker, from_start, to_start))
    return tuple(moves)
