"""A day of visits as a PyVRP problem, and PyVRP's answer back as timed stops.

The vocabulary here is PyVRP's, in whole seconds from an origin the caller picks: vehicles with a
start and end place and a working window, stops with a service window, a service time and a prize.
What those mean for Switchboard (technicians, skills, bookings, priorities) is planning.py's business.

Modelling choices:

* One vehicle type per vehicle (``num_available=1``), starting and ending at its own places, with its
  working window as the type's time window.
* Who may make which stop is a routing profile per distinct answer to "which stops are off limits, and
  which cost extra" (technicians with the same skills share one). An edge into a stop a vehicle may not
  make is :data:`PROHIBITED` long, and every vehicle's ``max_distance`` is one less, so using it makes
  the route infeasible rather than merely expensive: PyVRP's best solution never contains it.
  PyVRP 0.14 has no native "allowed vehicles" per client; profiles keep the rule hard with one
  matrix per group of alike vehicles instead of one per vehicle. A profile holds two n x n int64
  matrices (n = places), so memory grows with the number of distinct rules: a handful for a plan by
  skills, one per technician when re-planning (each keeps their own jobs without the penalty), about
  4 MB per technician at 500 places.
* Distance is the objective (travel seconds, plus a penalty on edges into a stop for vehicles the
  caller would rather not move it to); duration is the true travel time, so schedules stay exact.
* Optional stops carry prizes, so the solver leaves out what cannot fit and the answer still comes
  back. Required stops (booked visits) have a zero-width window at their booked start.
* A vehicle that ends somewhere other than where it starts (a technician out at a customer) gets a
  required stop at its end place: PyVRP only counts driving on routes that are used, and without it
  a technician in the field would look free to leave idle while really still owing the drive home.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import numpy as np
import numpy.typing as npt
import pyvrp
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

from services.routing.domain.dispatch.travel import TravelTimes
from services.routing.domain.workers import Location

# The length of an edge a vehicle may not take: 10 million seconds, months beyond any real route's
# driving and penalties. Not larger: PyVRP multiplies it by penalty weights in 64-bit integers.
PROHIBITED = 10_000_000
_MAX_ROUTE_DISTANCE = PROHIBITED - 1
PYVRP_VERSION = version("pyvrp")

Matrix = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Vehicle:
    name: str
    origin: Location
    finish: Location
    # Seconds from the origin of time: leaves ``origin`` no earlier than ``earliest``, back at ``finish`` by ``latest``.
    earliest: int
    latest: int


@dataclass(frozen=True)
class Stop:
    key: str
    location: Location
    # The service starts within [earliest, latest].
    earliest: int
    latest: int
    service: int
    required: bool
    prize: int
    # Indices of the vehicles that may make it.
    vehicles: frozenset[int]
    # Of those, the ones that pay ``penalty`` for making it (the caller would rather another did).
    penalised: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Scheduled:
    key: str
    vehicle: int
    arrive: int
    start: int
    end: int
    # From the previous place on the route.
    travel: int


@dataclass(frozen=True)
class Solved:
    stops: tuple[Scheduled, ...]
    unplanned: tuple[str, ...]
    # All driving, the way back to each vehicle's end place included.
    travel_seconds: int
    iterations: int
    runtime: float

    @property
    def solver(self) -> str:
        return f"PyVRP {PYVRP_VERSION} iterated local search, {self.iterations} iterations"


def seconds(minutes: float) -> int:
    """Travel minutes as whole seconds, rounded up: never plan a drive shorter than estimated."""
    # Float noise trimmed first: 12.3 minutes is 738 seconds, not the 739 that ceil(12.3 * 60) gives.
    return math.ceil(round(minutes * 60, 6))


def travel_seconds(travel: TravelTimes, points: Sequence[Location]) -> Matrix:
    """:func:`seconds` for every pair of points at once."""
    minutes = np.asarray(travel.matrix(points), dtype=np.float64)
    return np.ceil(np.round(minutes * 60, 6)).astype(np.int64)


def solve(
    vehicles: Sequence[Vehicle],
    stops: Sequence[Stop],
    travel: TravelTimes,
    *,
    penalty: int,
    warm: Mapping[int, Sequence[str]],
    time_limit_seconds: float,
    seed: int,
    max_iterations: int | None = None,
) -> Solved:
    """Visit what fits, collect the most prize for the least driving.

    ``warm`` is a starting point, vehicle index -> stop keys in order; it must put every required stop
    on a vehicle allowed to make it (the solver drops what does not fit, never a required stop). With
    ``max_iterations`` the answer depends only on the inputs and the seed; with only a time limit it
    depends on how many iterations the machine manages in that time.
    """
    # The caller's stops keep their indices; the homecomings follow them.
    homecomings = _homecomings(vehicles)
    ends = {vehicle: len(stops) + n for n, vehicle in enumerate(homecomings)}
    everything = [*stops, *homecomings.values()]
    places = _Places(vehicles, everything)
    durations = travel_seconds(travel, places.points)
    # PyVRP's stub types a matrix as np.ndarray[int], which no real array type matches.
    distance_matrices: list[Any] = [_distances(durations, places, rule, penalty) for rule in places.rules]
    duration_matrices: list[Any] = [durations] * len(places.rules)
    data = pyvrp.ProblemData(
        [pyvrp.Location(x=point.longitude, y=point.latitude) for point in places.points],
        [
            pyvrp.Client(
                location=places.stop(i),
                service_duration=stop.service,
                tw_early=stop.earliest,
                tw_late=stop.latest,
                prize=stop.prize,
                required=stop.required,
                name=stop.key,
            )
            for i, stop in enumerate(everything)
        ],
        [pyvrp.Depot(location=location) for location in range(places.depots)],
        [
            pyvrp.VehicleType(
                num_available=1,
                start_depot=places.depot(vehicle.origin),
                end_depot=places.depot(vehicle.finish),
                tw_early=vehicle.earliest,
                tw_late=vehicle.latest,
                max_distance=_MAX_ROUTE_DISTANCE,
                profile=profile,
                name=vehicle.name,
            )
            for vehicle, profile in zip(vehicles, places.profiles, strict=True)
        ],
        distance_matrices,
        duration_matrices,
    )
    index = {stop.key: i for i, stop in enumerate(stops)}
    routes = {vehicle: [index[key] for key in keys] for vehicle, keys in warm.items()}
    initial = _initial(data, vehicles, everything, ends, routes)
    # A second late must cost more than any prize is worth, or the search would trade lateness for
    # prizes and end up stuck at PyVRP's default cap of 100,000 per unit of violation.
    ceiling = max(100_000, 2 * max((stop.prize for stop in stops), default=0))
    params = pyvrp.SolveParams(penalty=pyvrp.PenaltyParams(max_penalty=float(ceiling)))
    criteria: list[StoppingCriterion] = [MaxRuntime(time_limit_seconds)]
    if max_iterations is not None:
        criteria.append(MaxIterations(max_iterations))
    started = time.perf_counter()
    result = pyvrp.solve(
        data,
        MultipleCriteria(criteria),
        seed=seed,
        collect_stats=False,
        display=False,
        params=params,
        initial_solution=initial,
    )
    runtime = time.perf_counter() - started
    if not result.is_feasible():
        raise RuntimeError("PyVRP returned an infeasible plan from a feasible start")
    return _decode(result, vehicles, stops, places, durations, runtime)


def _homecomings(vehicles: Sequence[Vehicle]) -> dict[int, Stop]:
    """Vehicle index -> the stop that holds it to its end place, for vehicles that end elsewhere."""
    away = [index for index, vehicle in enumerate(vehicles) if vehicle.origin != vehicle.finish]
    return {
        index: Stop(
            key=f"end of vehicle {index}",
            location=vehicle.finish,
            # Only at the very end, so it is the last stop and not a free pass through the end place.
            earliest=vehicle.latest,
            latest=vehicle.latest,
            service=0,
            required=True,
            prize=0,
            vehicles=frozenset({index}),
        )
        for index, vehicle in ((index, vehicles[index]) for index in away)
    }


class _Places:
    """Where everything is in PyVRP's index space, and which profile each vehicle drives."""

    def __init__(self, vehicles: Sequence[Vehicle], stops: Sequence[Stop]) -> None:
        # Depots first (PyVRP's convention), one per distinct place; then a place per stop, never
        # shared, because a profile forbids a column of the matrix and two stops at one address may
        # be open to different vehicles.
        depot_points = list(dict.fromkeys(point for v in vehicles for point in (v.origin, v.finish)))
        self._depot_index = {point: i for i, point in enumerate(depot_points)}
        self.depots = len(depot_points)
        self.points = depot_points + [stop.location for stop in stops]
        rules: dict[tuple[frozenset[int], frozenset[int]], int] = {}
        self.profiles = []
        for index in range(len(vehicles)):
            off_limits = frozenset(i for i, stop in enumerate(stops) if index not in stop.vehicles)
            penalised = frozenset(i for i, stop in enumerate(stops) if index in stop.penalised)
            self.profiles.append(rules.setdefault((off_limits, penalised), len(rules)))
        self.rules = list(rules)

    def depot(self, point: Location) -> int:
        return self._depot_index[point]

    def stop(self, index: int) -> int:
        return self.depots + index


def _distances(durations: Matrix, places: _Places, rule: tuple[frozenset[int], frozenset[int]], penalty: int) -> Matrix:
    off_limits, penalised = rule
    distances = durations.copy()
    distances[:, [places.stop(i) for i in sorted(penalised)]] += penalty
    distances[:, [places.stop(i) for i in sorted(off_limits)]] = PROHIBITED
    np.fill_diagonal(distances, 0)
    return distances


def _initial(
    data: pyvrp.ProblemData,
    vehicles: Sequence[Vehicle],
    stops: Sequence[Stop],
    ends: Mapping[int, int],
    warm: Mapping[int, Sequence[int]],
) -> pyvrp.Solution:
    """The warm start made feasible: its required stops, and what else fits in the given order."""
    routes = []
    for vehicle in range(len(vehicles)):
        order = list(warm.get(vehicle, ()))
        if vehicle in ends:
            order.append(ends[vehicle])
        kept = [i for i in order if stops[i].required]
        for candidate in order:
            if candidate in kept:
                continue
            trial = [i for i in order if i in kept or i == candidate]
            if pyvrp.Route(data, trial, vehicle).is_feasible():
                kept = trial
        if not kept:
            continue
        route = pyvrp.Route(data, kept, vehicle)
        if not route.is_feasible():
            raise ValueError(f"{vehicles[vehicle].name}: the booked visits cannot all be made in time")
        routes.append(route)
    return pyvrp.Solution(data, routes)


def _decode(
    result: pyvrp.Result,
    vehicles: Sequence[Vehicle],
    stops: Sequence[Stop],
    places: _Places,
    durations: Matrix,
    runtime: float,
) -> Solved:
    """PyVRP's routes, timed from the start: leave for the first stop just in time, then go on at once.

    ``stops`` are the caller's; an index past them is a homecoming, driven to but not reported.

    PyVRP's own schedule may start a route as late as it can, which can push an emergency to the end
    of its window; going on at once after each visit is feasible whenever the route is, and keeps every
    arrival as early as the route allows.
    """
    scheduled = []
    driving = 0
    for route in result.best.routes():
        vehicle = route.vehicle_type()
        # Depot i sits at place i.
        here, clock, first = route.start_depot(), vehicles[vehicle].earliest, True
        for activity in route.schedule():
            if not activity.is_client():
                continue
            there = places.stop(activity.idx)
            travel = int(durations[here, there])
            driving += travel
            here = there
            if activity.idx >= len(stops):
                continue
            stop = stops[activity.idx]
            arrive = max(clock + travel, stop.earliest) if first else clock + travel
            start = max(arrive, stop.earliest)
            if start > stop.latest:
                raise RuntimeError(f"{stop.key} would start after its window on a route PyVRP deems feasible")
            clock, first = start + stop.service, False
            scheduled.append(Scheduled(stop.key, vehicle, arrive, start, clock, travel))
        driving += int(durations[here, route.end_depot()])
    unplanned = tuple(stops[activity.idx].key for activity in result.best.unplanned() if activity.is_client())
    return Solved(tuple(scheduled), unplanned, driving, result.num_iterations, runtime)
