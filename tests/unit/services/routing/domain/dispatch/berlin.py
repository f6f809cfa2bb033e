"""A small Berlin to dispatch in: real places, technicians on Berlin time, jobs with UTC windows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta

from services.routing.domain.dispatch import Job
from services.routing.domain.workers import Location, Shift, Worker, WorkerKind, WorkingHours

BRANDENBURG_GATE = Location(52.516275, 13.377704)
TV_TOWER = Location(52.520817, 13.409419)
HAUPTBAHNHOF = Location(52.525084, 13.369402)
POTSDAMER_PLATZ = Location(52.509648, 13.376000)
TEMPELHOF = Location(52.473000, 13.402000)
NEUKOELLN = Location(52.481150, 13.435350)
SPANDAU = Location(52.535700, 13.199600)
KOEPENICK = Location(52.445000, 13.575000)
PANKOW = Location(52.569200, 13.402100)
WEDDING = Location(52.550000, 13.366700)
PRENZLAUER_BERG = Location(52.538600, 13.424400)
KREUZBERG = Location(52.497800, 13.403900)

# Tuesday 18 March 2025: Berlin is on CET, UTC+1, so 08:00 there is 07:00 UTC.
DAY = datetime(2025, 3, 18, tzinfo=UTC).date()
WEEKDAYS_8_TO_16 = WorkingHours("Europe/Berlin", tuple(Shift(day, time(8), time(16)) for day in range(5)))


def utc(hour: int, minute: int = 0) -> datetime:
    """A moment on DAY, in UTC."""
    return datetime(2025, 3, 18, hour, minute, tzinfo=UTC)


def technician(
    worker_id: str,
    base: Location,
    skills: Mapping[str, int],
    *,
    territory: str = "mitte",
    van_stock: Mapping[str, int] | None = None,
    hours: WorkingHours = WEEKDAYS_8_TO_16,
) -> Worker:
    return Worker(
        worker_id=worker_id,
        name=worker_id.title(),
        kind=WorkerKind.TECHNICIAN,
        skills=dict(skills),
        hours=hours,
        base=base,
        territory=territory,
        van_stock=dict(van_stock or {}),
    )


def job(
    work_order_id: str,
    location: Location,
    window: tuple[datetime, datetime],
    *,
    skills: tuple[str, ...] = ("boiler",),
    minutes: int = 60,
    parts: Mapping[str, int] | None = None,
    territory: str = "mitte",
    priority: int = 3,
    emergency: bool = False,
) -> Job:
    return Job(
        work_order_id=work_order_id,
        ticket_id=f"ticket-{work_order_id}",
        customer_id=f"customer-{work_order_id}",
        location=location,
        territory=territory,
        required_skills=skills,
        window_start=window[0],
        window_end=window[1],
        duration_minutes=minutes,
        parts=dict(parts or {}),
        priority=priority,
        emergency=emergency,
    )


def minutes(count: float) -> timedelta:
    return timedelta(minutes=count)
