"""When a technician works, as UTC intervals: around a job's window, or on a planning day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from services.routing.domain.hours import zone
from services.routing.domain.workers import Shift, Worker, WorkingHours

Interval = tuple[datetime, datetime]


def shifts_overlapping(worker: Worker, start: datetime, end: datetime) -> list[Interval]:
    """The worker's shifts that overlap [start, end), in time order; all of it when they keep no hours."""
    if worker.hours is None:
        return [(start, end)]
    tz = zone(worker.hours.time_zone)
    # A shift that began the day before may run past midnight into the range.
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    found = []
    for offset in range((last - first).days + 1):
        for shift_start, shift_end in _shifts_starting(worker.hours, first + timedelta(days=offset)):
            if shift_start < end and shift_end > start:
                found.append((shift_start, shift_end))
    return sorted(found)


def shifts_on(worker: Worker, day: date) -> list[Interval]:
    """The worker's shifts that start on ``day`` in their own time zone (the UTC day when they keep no hours)."""
    if worker.hours is None:
        midnight = datetime.combine(day, time(), tzinfo=UTC)
        return [(midnight, midnight + timedelta(days=1))]
    return sorted(_shifts_starting(worker.hours, day))


def _shifts_starting(hours: WorkingHours, day: date) -> list[Interval]:
    tz = zone(hours.time_zone)
    return [
        (
            datetime.combine(day, shift.start, tzinfo=tz).astimezone(UTC),
            datetime.combine(_end_day(day, shift), shift.end, tzinfo=tz).astimezone(UTC),
        )
        for shift in hours.shifts
        if shift.weekday == day.weekday()
    ]


def _end_day(day: date, shift: Shift) -> date:
    # As in hours.py: a shift whose end is not after its start runs past midnight (22:00-06:00).
    return day if shift.end > shift.start else day + timedelta(days=1)
