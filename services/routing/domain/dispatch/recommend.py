"""Recommending technicians for a work order: who can do it, when they can be there, how well it fits.

Hard rules first: every required skill, a shift that covers the visit in the technician's own time
zone, and a free gap between their booked visits (or their base) long enough for the drive there,
the work, and the drive on to the next stop. Among those who qualify, a score out of 100 weighs the
extra driving, the parts in the van (missing parts cost points but do not exclude: a part can be
fetched), the territory, the day's workload, skill proficiency, and how soon they can start.

Fast enough to answer for a fleet of hundreds while the agent waits: one pass over the technicians,
a handful of travel estimates per booked visit, and the readable reasons only for those returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean

from services.routing.domain.dispatch.jobs import Job, Visit
from services.routing.domain.dispatch.shifts import Interval, shifts_overlapping
from services.routing.domain.dispatch.travel import TravelTimes
from services.routing.domain.hours import zone
from services.routing.domain.workers import Location, Worker, WorkerKind


@dataclass(frozen=True)
class Weights:
    """Points for each way a technician fits; a perfect fit on every one scores their sum (100 by default)."""

    travel: float = 35
    parts: float = 20
    territory: float = 15
    workload: float = 10
    proficiency: float = 10
    promptness: float = 10


STANDARD = Weights()
# An emergency is about the soonest arrival; the rest breaks ties between technicians about as quick.
EMERGENCY = Weights(travel=25, parts=15, territory=5, workload=5, proficiency=10, promptness=40)

# Half the travel points at this much added driving, a third at twice as much: close matters most
# when it is close, and an hour away is not much worse than fifty minutes.
TRAVEL_HALF_POINTS_MINUTES = 30.0
# Half the promptness points when the earliest start is this long after the customer's window opens.
PROMPTNESS_HALF_POINTS_MINUTES = 60.0


@dataclass(frozen=True)
class Recommendation:
    worker_id: str
    # 0..100, higher is better.
    score: float
    # From the previous stop (a booked visit, or the base) to the job.
    travel_minutes: float
    # How much longer the technician's day of driving gets with the job fitted in.
    detour_minutes: float
    earliest_start: datetime
    has_parts: bool
    # Part SKU -> units the van is short of.
    missing_parts: Mapping[str, int]
    # Minutes of visits already booked on that shift.
    workload_minutes: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class _Slot:
    start: datetime
    travel_minutes: float
    detour_minutes: float
    # The booked visit it follows; None when the technician comes from base.
    after: str | None
    shift: Interval
    booked_minutes: float


def recommend(
    job: Job,
    technicians: Iterable[Worker],
    bookings: Mapping[str, Sequence[Visit]],
    travel: TravelTimes,
    now: datetime,
    limit: int = 5,
    weights: Weights | None = None,
) -> list[Recommendation]:
    """The best ``limit`` technicians for ``job``, best first; ties go to the earlier start, then the worker id.

    ``bookings`` maps a worker id to the visits already booked for them.
    """
    weights = weights or (EMERGENCY if job.emergency else STANDARD)
    scored: list[tuple[float, datetime, str, Worker, _Slot]] = []
    for worker in technicians:
        if worker.kind is not WorkerKind.TECHNICIAN or worker.base is None:
            continue
        if any(worker.skills.get(skill, 0) < 1 for skill in job.required_skills):
            continue
        slot = _best_slot(job, worker, worker.base, bookings.get(worker.worker_id, ()), travel, now)
        if slot is not None:
            scored.append((_score(job, worker, slot, weights, now), slot.start, worker.worker_id, worker, slot))
    scored.sort(key=lambda entry: (-entry[0], entry[1], entry[2]))
    return [_recommendation(job, worker, slot, score) for score, _, _, worker, slot in scored[:limit]]


def _best_slot(
    job: Job, worker: Worker, base: Location, visits: Sequence[Visit], travel: TravelTimes, now: datetime
) -> _Slot | None:
    """The free gap that adds the least driving, the earliest of equals; None when none fits."""
    best: _Slot | None = None
    duration = job.duration
    for shift in shifts_overlapping(worker, job.window_start, job.window_end + duration):
        shift_start, shift_end = shift
        booked = sorted((v for v in visits if v.end > shift_start and v.start < shift_end), key=lambda v: v.start)
        booked_minutes = sum(_minutes(min(v.end, shift_end) - max(v.start, shift_start)) for v in booked)
        stops: list[tuple[str | None, Location, datetime, datetime]] = [
            (v.work_order_id, v.location, v.start, v.end) for v in booked
        ]
        stops.append((None, base, shift_end, shift_end))
        after: str | None = None
        here, free_from = base, shift_start
        for name, there, busy_from, busy_until in stops:
            slot = _fit(job, duration, here, free_from, there, busy_from, travel, now)
            if slot is not None and (best is None or (slot[2], slot[0]) < (best.detour_minutes, best.start)):
                best = _Slot(slot[0], slot[1], slot[2], after, shift, booked_minutes)
            after, here, free_from = name, there, max(free_from, busy_until)
    return best


def _fit(
    job: Job,
    duration: timedelta,
    here: Location,
    free_from: datetime,
    there: Location,
    busy_from: datetime,
    travel: TravelTimes,
    now: datetime,
) -> tuple[datetime, float, float] | None:
    """Start, drive in and detour for the job between two stops; None when it does not fit."""
    leave = max(free_from, now)
    if leave > job.window_end:
        return None
    drive_in = travel.minutes(here, job.location)
    start = _ceil_minute(max(leave + timedelta(minutes=drive_in), job.window_start))
    if start > job.window_end:
        return None
    drive_on = travel.minutes(job.location, there)
    if start + duration + timedelta(minutes=drive_on) > busy_from:
        return None
    direct = travel.minutes(here, there) if here != there else 0.0
    return start, drive_in, max(0.0, drive_in + drive_on - direct)


def _score(job: Job, worker: Worker, slot: _Slot, weights: Weights, now: datetime) -> float:
    wait = _minutes(slot.start - max(now, job.window_start))
    shift_minutes = _minutes(slot.shift[1] - slot.shift[0])
    points = (
        weights.travel / (1 + slot.detour_minutes / TRAVEL_HALF_POINTS_MINUTES)
        + weights.parts * _parts_share(job.parts, worker.van_stock)
        + weights.territory * (1.0 if not job.territory or worker.territory == job.territory else 0.0)
        + weights.workload * max(0.0, 1 - slot.booked_minutes / shift_minutes)
        + weights.proficiency * _proficiency(job, worker)
        + weights.promptness / (1 + max(0.0, wait) / PROMPTNESS_HALF_POINTS_MINUTES)
    )
    return round(points, 1)


def _parts_share(needed: Mapping[str, int], stock: Mapping[str, int]) -> float:
    total = sum(needed.values())
    if total <= 0:
        return 1.0
    return sum(min(stock.get(sku, 0), quantity) for sku, quantity in needed.items()) / total


def _missing(needed: Mapping[str, int], stock: Mapping[str, int]) -> dict[str, int]:
    return {
        sku: quantity - stock.get(sku, 0) for sku, quantity in sorted(needed.items()) if stock.get(sku, 0) < quantity
    }


def _proficiency(job: Job, worker: Worker) -> float:
    """Skill levels 1..5 as 0..1, averaged over the required skills; full marks when none is required."""
    if not job.required_skills:
        return 1.0
    return fmean(min(1.0, max(0.0, (worker.skills.get(skill, 0) - 1) / 4)) for skill in job.required_skills)


def _recommendation(job: Job, worker: Worker, slot: _Slot, score: float) -> Recommendation:
    missing = _missing(job.parts, worker.van_stock)
    return Recommendation(
        worker_id=worker.worker_id,
        score=score,
        travel_minutes=round(slot.travel_minutes, 1),
        detour_minutes=round(slot.detour_minutes, 1),
        earliest_start=slot.start,
        has_parts=not missing,
        missing_parts=missing,
        workload_minutes=round(slot.booked_minutes),
        reasons=_reasons(job, worker, slot, missing),
    )


def _reasons(job: Job, worker: Worker, slot: _Slot, missing: Mapping[str, int]) -> tuple[str, ...]:
    time_zone = worker.hours.time_zone if worker.hours else "UTC"
    local = slot.start.astimezone(zone(time_zone))
    after = "from base" if slot.after is None else f"after visit {slot.after}"
    skills = ", ".join(f"{skill} {worker.skills[skill]}/5" for skill in job.required_skills)
    if missing:
        parts = "missing from the van: " + ", ".join(f"{sku} x{short}" for sku, short in missing.items())
    else:
        parts = "all parts in the van" if job.parts else "no parts needed"
    if not job.territory or worker.territory == job.territory:
        territory = f"works territory {worker.territory or 'any'}"
    else:
        territory = f"works territory {worker.territory}, the job is in {job.territory}"
    shift_minutes = _minutes(slot.shift[1] - slot.shift[0])
    return (
        f"skills: {skills}" if skills else "no particular skills needed",
        f"can start {local:%a %H:%M} ({time_zone}) {after}, {slot.travel_minutes:.0f} min drive",
        f"adds {slot.detour_minutes:.0f} min of driving to the day",
        parts,
        territory,
        f"{slot.booked_minutes:.0f} of {shift_minutes:.0f} shift minutes already booked",
    )


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def _ceil_minute(moment: datetime) -> datetime:
    # Customers are told whole minutes; rounding up never promises an arrival earlier than the drive allows.
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)
