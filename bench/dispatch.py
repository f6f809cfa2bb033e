"""``python -m bench dispatch``: technician dispatch, how fast it recommends and how good its plans are.

Two parts, each optional:

* recommend: latency of ``recommend()`` for one work order against a fleet of ``--technicians``
  technicians (500 by default) around Berlin, each with ``--visits`` visits (8) already booked that
  day; every technician is evaluated in full (skills, shifts, every gap between visits). The
  fleet and the work orders are generated from ``--seed``. The issue's target: within 300 ms.
* solomon: plan quality on Solomon's VRPTW instances (100 customers, bench/data/solomon/), as the
  gap between the planned distance and the best known one, and the time the plan took. Each instance
  is solved two ways with the same budget and seed:

  - ``pyvrp``: PyVRP directly on the instance as published (one vehicle type, 25 vehicles, capacity,
    distances truncated to one decimal as in the literature). This is the solver's quality on the
    benchmark problem itself.
  - ``dispatch``: through Switchboard's own planning path (``planning.plan``, the model plan_day
    builds): 25 technicians at the depot, one job per customer (window, service time), travel as a
    precomputed matrix of the same distances. Technicians carry no load, so the capacity constraint is
    absent there: the row says whether the plan happens to respect it, and its gap is only comparable
    when it does.

Best known distances are CVRPLIB's (bench/data/solomon/README.md); before measuring, each best known
solution is re-evaluated on the instance file and must be feasible and cost what it claims.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter, perf_counter_ns
from typing import Any

import numpy as np
import pyvrp
import vrplib  # type: ignore[import-untyped]
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]
from pyvrp.stop import MaxRuntime

from bench.arguments import at_least
from services.routing.domain.dispatch import Job, StraightLine, TechnicianDay, TravelMatrix, Visit, plan, recommend, vrp
from services.routing.domain.dispatch.shifts import shifts_on
from services.routing.domain.workers import Location, Shift, Worker, WorkerKind, WorkingHours

RESULTS = Path(__file__).parent / "results"
SOLOMON = Path(__file__).parent / "data" / "solomon"
INSTANCES = ("C101", "C202", "R101", "R201", "RC101", "RC201")

# --- recommend: a generated fleet around Berlin -------------------------------------------------------

SKILLS = (
    "boiler",
    "gas-safe",
    "heat-pump",
    "f-gas",
    "washer",
    "dishwasher",
    "cooling",
    "cooking",
    "plumbing",
    "electrics",
    "small-appliances",
    "networking",
)
PARTS = tuple(f"SKU-{n:03d}" for n in range(60))
TERRITORIES = {(False, False): "south-west", (False, True): "south-east", (True, False): "north-west"}
CENTRE = Location(52.52, 13.405)
# A Tuesday; 05:00 UTC, before anyone's shift, is when the agent asks.
DAY = date(2025, 3, 18)
NOW = datetime(2025, 3, 18, 5, tzinfo=UTC)
SHIFTS = ((7, 15), (8, 16), (10, 18))


def _near(rng: random.Random, centre: Location, degrees: float) -> Location:
    # Longitude degrees are shorter at Berlin's latitude; scale them to keep the area round-ish.
    return Location(
        centre.latitude + rng.uniform(-degrees, degrees), centre.longitude + rng.uniform(-degrees, degrees) * 1.64
    )


def _territory(place: Location) -> str:
    return TERRITORIES.get((place.latitude > CENTRE.latitude, place.longitude > CENTRE.longitude), "north-east")


def fleet(count: int, rng: random.Random) -> list[Worker]:
    technicians = []
    for n in range(count):
        base = _near(rng, CENTRE, 0.2)
        start, end = rng.choice(SHIFTS)
        hours = WorkingHours("Europe/Berlin", tuple(Shift(day, time(start), time(end)) for day in range(5)))
        technicians.append(
            Worker(
                worker_id=f"tech-{n:04d}",
                name=f"Technician {n}",
                kind=WorkerKind.TECHNICIAN,
                skills={skill: rng.randint(1, 5) for skill in rng.sample(SKILLS, rng.randint(2, 4))},
                hours=hours,
                base=base,
                territory=_territory(base),
                van_stock={sku: rng.randint(1, 3) for sku in rng.sample(PARTS, 15)},
            )
        )
    return technicians


def booked_days(technicians: Sequence[Worker], visits: int, rng: random.Random) -> dict[str, list[Visit]]:
    """``visits`` visits per technician on DAY, one after another from the start of the shift, near their base."""
    travel = StraightLine()
    booked = {}
    for worker in technicians:
        assert worker.base is not None
        (start, _), *_ = shifts_on(worker, DAY)
        here, clock, day = worker.base, start, []
        for n in range(visits):
            place = _near(rng, worker.base, 0.05)
            begin = clock + timedelta(minutes=travel.minutes(here, place) + rng.choice((0, 5, 10, 30)))
            end = begin + timedelta(minutes=rng.choice((20, 30, 40)))
            day.append(Visit(f"{worker.worker_id}-booked-{n}", begin, end, place))
            here, clock = place, end
        booked[worker.worker_id] = day
    return booked


def work_orders(count: int, rng: random.Random) -> list[Job]:
    jobs = []
    for n in range(count):
        place = _near(rng, CENTRE, 0.2)
        opens = datetime(2025, 3, 18, 7, tzinfo=UTC) + timedelta(hours=rng.randint(0, 7))
        jobs.append(
            Job(
                work_order_id=f"wo-{n:05d}",
                ticket_id=f"ticket-{n:05d}",
                customer_id=f"customer-{n:05d}",
                location=place,
                territory=_territory(place),
                required_skills=tuple(rng.sample(SKILLS, rng.choice((1, 1, 2)))),
                window_start=opens,
                window_end=opens + timedelta(hours=rng.choice((2, 3, 4))),
                duration_minutes=rng.choice((30, 45, 60, 90)),
                parts={sku: 1 for sku in rng.sample(PARTS, rng.choice((0, 1, 2)))},
                priority=rng.randint(1, 4),
                emergency=rng.random() < 0.1,
            )
        )
    return jobs


@dataclass(frozen=True)
class Latency:
    technicians: int
    visits_each: int
    queries: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    # Per work order: technicians with every required skill, those with a free slot in its window
    # during their shift (every hard rule met), and the recommendations returned (at most 5).
    mean_skilled: float
    mean_fitting: float
    mean_returned: float


def measure_recommend(technicians: int, visits: int, queries: int, seed: int) -> Latency:
    rng = random.Random(seed)
    team = fleet(technicians, rng)
    bookings = booked_days(team, visits, rng)
    jobs = work_orders(queries + 20, rng)
    travel = StraightLine()
    for warm in jobs[:20]:
        recommend(warm, team, bookings, travel, NOW)
    latencies = HdrHistogram(1, 60_000_000, 3)  # microseconds, up to a minute
    skilled = fitting = returned = 0
    for job in jobs[20:]:
        started = perf_counter_ns()
        found = recommend(job, team, bookings, travel, NOW)
        latencies.record_value(max(1, (perf_counter_ns() - started) // 1000))
        returned += len(found)
        skilled += sum(all(w.skills.get(s, 0) >= 1 for s in job.required_skills) for w in team)
        fitting += len(recommend(job, team, bookings, travel, NOW, limit=len(team)))
    return Latency(
        technicians=technicians,
        visits_each=visits,
        queries=queries,
        p50_ms=latencies.get_value_at_percentile(50) / 1000,
        p90_ms=latencies.get_value_at_percentile(90) / 1000,
        p99_ms=latencies.get_value_at_percentile(99) / 1000,
        max_ms=latencies.get_max_value() / 1000,
        mean_skilled=skilled / queries,
        mean_fitting=fitting / queries,
        mean_returned=returned / queries,
    )


# --- solomon: plan quality against the best known solutions --------------------------------------------


@dataclass(frozen=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    coords: list[tuple[int, int]]
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]
    # Distances as in the literature: Euclidean, truncated to one decimal; here in tenths (integers).
    tenths: np.ndarray[Any, np.dtype[np.int64]]
    best_known: float
    best_known_routes: list[list[int]]


def read_instance(name: str) -> Instance:
    raw = vrplib.read_instance(SOLOMON / f"{name}.txt", instance_format="solomon")
    solution = vrplib.read_solution(SOLOMON / f"{name}.sol")
    coords = [(int(x), int(y)) for x, y in raw["node_coord"]]
    xy = np.asarray(coords, dtype=np.float64)
    euclid = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    return Instance(
        name=name,
        vehicles=int(raw["vehicles"]),
        capacity=int(raw["capacity"]),
        coords=coords,
        demand=[int(d) for d in raw["demand"]],
        ready=[int(t) for t in raw["time_window"][:, 0]],
        due=[int(t) for t in raw["time_window"][:, 1]],
        service=[int(s) for s in raw["service_time"]],
        # The small epsilon keeps 12.3 from truncating to 12.2 through float noise.
        tenths=np.floor(euclid * 10 + 1e-9).astype(np.int64),
        best_known=float(solution["cost"]),
        best_known_routes=[list(route) for route in solution["routes"]],
    )


def pyvrp_data(instance: Instance) -> pyvrp.ProblemData:
    """The instance as published: one depot, ``vehicles`` alike vehicles with capacity, time in tenths."""
    tenths = instance.tenths
    count = len(instance.coords)
    matrices: list[Any] = [tenths]
    return pyvrp.ProblemData(
        [pyvrp.Location(x=x, y=y) for x, y in instance.coords],
        [
            pyvrp.Client(
                location=i,
                delivery=[instance.demand[i]],
                service_duration=instance.service[i] * 10,
                tw_early=instance.ready[i] * 10,
                tw_late=instance.due[i] * 10,
            )
            for i in range(1, count)
        ],
        [pyvrp.Depot(location=0, tw_early=instance.ready[0] * 10, tw_late=instance.due[0] * 10)],
        [
            pyvrp.VehicleType(
                num_available=instance.vehicles,
                capacity=[instance.capacity],
                tw_early=instance.ready[0] * 10,
                tw_late=instance.due[0] * 10,
            )
        ],
        matrices,
        list(matrices),
    )


def check_best_known(instance: Instance) -> None:
    """The best known solution must be feasible on this file and cost what it claims, or the file is wrong."""
    data = pyvrp_data(instance)
    routes = [pyvrp.Route(data, [customer - 1 for customer in route], 0) for route in instance.best_known_routes]
    solution = pyvrp.Solution(data, routes)
    visited = sorted(customer for route in instance.best_known_routes for customer in route)
    once = visited == list(range(1, len(instance.coords)))
    if not (once and solution.is_feasible() and solution.distance() == round(instance.best_known * 10)):
        raise SystemExit(
            f"{instance.name}: the best known solution does not hold on bench/data/solomon/{instance.name}.txt "
            f"(each customer once: {once}, feasible: {solution.is_feasible()}, "
            f"distance {solution.distance() / 10} vs {instance.best_known})"
        )


@dataclass(frozen=True)
class Quality:
    instance: str
    best_known: float
    path: str
    distance: float
    gap_percent: float
    routes: int
    served: int
    # Every route within the vehicle capacity (the dispatch path does not model it).
    capacity_ok: bool
    plan_seconds: float


def solve_directly(instance: Instance, seconds: float, seed: int) -> Quality:
    started = perf_counter()
    result = pyvrp.solve(pyvrp_data(instance), MaxRuntime(seconds), seed=seed, collect_stats=False, display=False)
    took = perf_counter() - started
    best = result.best
    distance = best.distance() / 10
    return Quality(
        instance=instance.name,
        best_known=instance.best_known,
        path="pyvrp",
        distance=distance,
        gap_percent=_gap(distance, instance.best_known),
        routes=best.num_routes(),
        served=best.num_clients(),
        capacity_ok=not best.has_excess_load(),
        plan_seconds=took,
    )


def solve_as_dispatch(instance: Instance, seconds: float, seed: int) -> Quality:
    """The instance as a dispatch day: a Solomon time unit is a minute, from midnight UTC on DAY."""
    midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    # Only keys into the matrix: a Solomon point is not a place on Earth.
    points = [Location(float(y), float(x)) for x, y in instance.coords]
    unique = list(dict.fromkeys(points))
    first = [points.index(point) for point in unique]
    minutes = (instance.tenths[np.ix_(first, first)] / 10).tolist()
    travel = TravelMatrix(unique, minutes)
    depot = points[0]
    technicians = [
        TechnicianDay(
            Worker(f"vehicle-{n:02d}", f"Vehicle {n}", kind=WorkerKind.TECHNICIAN, base=depot),
            midnight + timedelta(minutes=instance.ready[0]),
            midnight + timedelta(minutes=instance.due[0]),
            depot,
            depot,
        )
        for n in range(instance.vehicles)
    ]
    jobs = [
        Job(
            work_order_id=f"customer-{i:03d}",
            ticket_id="",
            customer_id=str(i),
            location=points[i],
            territory="",
            required_skills=(),
            window_start=midnight + timedelta(minutes=instance.ready[i]),
            window_end=midnight + timedelta(minutes=instance.due[i]),
            duration_minutes=instance.service[i],
        )
        for i in range(1, len(points))
    ]
    started = perf_counter()
    planned = plan(jobs, technicians, travel, time_limit_seconds=seconds, seed=seed)
    took = perf_counter() - started
    used = [visits for visits in planned.routes.values() if visits]
    load = [sum(instance.demand[int(v.work_order_id.split("-")[1])] for v in visits) for visits in used]
    distance = round(planned.total_travel_minutes, 1)
    return Quality(
        instance=instance.name,
        best_known=instance.best_known,
        path="dispatch",
        distance=distance,
        gap_percent=_gap(distance, instance.best_known),
        routes=len(used),
        served=sum(len(visits) for visits in used),
        capacity_ok=all(amount <= instance.capacity for amount in load),
        plan_seconds=took,
    )


def _gap(distance: float, best_known: float) -> float:
    return (distance - best_known) / best_known * 100


# --- the command -----------------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench dispatch", description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("recommend", "solomon", "both"), default="both")
    parser.add_argument("--technicians", type=at_least(1), default=500, help="fleet size (default 500)")
    parser.add_argument("--visits", type=at_least(0), default=8, help="visits booked per technician (default 8)")
    parser.add_argument("--queries", type=at_least(1), default=1000, help="work orders recommended for (default 1000)")
    parser.add_argument(
        "--instance",
        action="append",
        choices=INSTANCES,
        help=f"Solomon instance (repeatable; default all: {', '.join(INSTANCES)})",
    )
    parser.add_argument(
        "--time-limit", type=float, default=10.0, help="solver seconds per instance and path (default 10)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the fleet, the work orders and the solver (default 1)"
    )
    return parser.parse_args(argv)


def table(latency: Latency | None, quality: list[Quality], args: argparse.Namespace) -> str:
    lines = ["Switchboard bench dispatch"]
    if latency is not None:
        lines += [
            f"recommend: {latency.technicians} technicians with {latency.visits_each} booked visits each, "
            f"{latency.queries} work orders; latency in ms",
            f"{'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'skilled':>8} {'fitting':>8} {'returned':>9}",
            f"{latency.p50_ms:7.1f} {latency.p90_ms:7.1f} {latency.p99_ms:7.1f} {latency.max_ms:7.1f} "
            f"{latency.mean_skilled:8.1f} {latency.mean_fitting:8.1f} {latency.mean_returned:9.1f}",
        ]
    if quality:
        if latency is not None:
            lines.append("")
        lines += [
            f"Solomon VRPTW, 100 customers: {args.time_limit:g} s per plan, seed {args.seed}; "
            "gap to the best known distance (CVRPLIB)",
            f"{'instance':<8} {'best':>7} {'path':<8} {'distance':>8} {'gap %':>6} {'routes':>6} {'served':>6} "
            f"{'cap ok':>6} {'plan s':>6}",
        ]
        for q in quality:
            lines.append(
                f"{q.instance:<8} {q.best_known:7.1f} {q.path:<8} {q.distance:8.1f} {q.gap_percent:6.2f} "
                f"{q.routes:6d} {q.served:6d} {'yes' if q.capacity_ok else 'no':>6} {q.plan_seconds:6.1f}"
            )
    return "\n".join(lines)


def _commit() -> str | None:
    git = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=RESULTS.parent, check=False)
    return git.stdout.strip() or None


def save(latency: Latency | None, quality: list[Quality], args: argparse.Namespace, started: datetime) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"dispatch-{started:%Y%m%dT%H%M%SZ}.json"
    document = {
        "benchmark": "dispatch",
        "started_at": started.isoformat(),
        "args": vars(args),
        "recommend": asdict(latency) if latency else None,
        "solomon": [asdict(q) for q in quality],
        "pyvrp": vrp.PYVRP_VERSION,
        # Figures only compare on like code and like machines: say which these were.
        "commit": _commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = datetime.now(UTC)
    latency = None
    if args.part in ("recommend", "both"):
        print(f"recommend: {args.queries} work orders against {args.technicians} technicians", file=sys.stderr)
        latency = measure_recommend(args.technicians, args.visits, args.queries, args.seed)
    quality = []
    if args.part in ("solomon", "both"):
        for name in args.instance or INSTANCES:
            instance = read_instance(name)
            check_best_known(instance)
            for path, solve in (("pyvrp", solve_directly), ("dispatch", solve_as_dispatch)):
                print(f"solomon: {name} via {path}, {args.time_limit:g} s", file=sys.stderr)
                quality.append(solve(instance, args.time_limit, args.seed))
    print(table(latency, quality, args))
    print(f"results: {save(latency, quality, args, started)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
