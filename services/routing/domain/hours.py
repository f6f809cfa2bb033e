"""Working hours: whether a worker is on shift at a moment, and when that next changes.

Shifts are wall-clock times on weekdays in the worker's own time zone, so "Monday 08:00-16:00 in
Europe/Berlin" follows daylight saving. A shift whose end is not after its start runs past midnight
into the next day (22:00-06:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.routing.domain.workers import WorkingHours
from switchboard.errors import FieldViolation, InvalidArgument

# Shifts repeat weekly, so a week and a day after now always holds the next change if there is one.
_HORIZON_DAYS = 8


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument([FieldViolation("hours.time_zone", f"unknown time zone {name!r}")]) from None


def on_shift(hours: WorkingHours | None, now: datetime) -> bool:
    if hours is None:
        return True
    return any(start <= now < end for start, end in _stretches(hours, now))


def next_change(hours: WorkingHours | None, now: datetime) -> datetime | None:
    """The first moment after ``now`` at which :func:`on_shift` flips; None when it never does."""
    if hours is None:
        return None
    current = on_shift(hours, now)
    # Back-to-back shifts (08-12, 12-16) share a boundary that is no change, hence the check per boundary.
    boundaries = sorted({moment for stretch in _stretches(hours, now) for moment in stretch if moment > now})
    return next((moment for moment in boundaries if on_shift(hours, moment) != current), None)


def _stretches(hours: WorkingHours, now: datetime) -> list[tuple[datetime, datetime]]:
    tz = zone(hours.time_zone)
    today = now.astimezone(tz).date()
    stretches = []
    for offset in range(-1, _HORIZON_DAYS):
        day = today + timedelta(days=offset)
        for shift in hours.shifts:
            if shift.weekday != day.weekday():
                continue
            end_day = day if shift.end > shift.start else day + timedelta(days=1)
            stretches.append((_utc(day, shift.start, tz), _utc(end_day, shift.end, tz)))
    return stretches


def _utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)
