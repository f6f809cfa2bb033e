"""Business calendars and the arithmetic of business time.

A moment is business time when its wall-clock time in the calendar's zone falls inside one of the
opening spans of its local weekday, and its local date is not a holiday. Business time is measured
in real elapsed seconds: an office open 00:00-24:00 has a 23-hour day when the clocks go forward
and a 25-hour day when they go back, and a span 02:00-03:00 on the night the clocks go back is open
twice. Pure: no I/O; the ``holidays`` package is a table of dates in code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from switchboard.errors import FailedPrecondition, FieldViolation, InvalidArgument

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CALENDAR_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")
# add_business_time gives up after this many days without enough business time (all holidays, say).
_SEARCH_DAYS = 3660
# A local day's moments lie within this much of its naive midnight read as UTC (offsets are -12h..+14h).
_ZONE_REACH = timedelta(hours=15)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, order=True)
class Span:
    """Open from ``opens`` to ``closes``, in minutes after local midnight (closes may be 1440, midnight)."""

    opens: int
    closes: int

    def __str__(self) -> str:
        return f"{minutes_text(self.opens)}-{minutes_text(self.closes)}"


def minutes_of(text: str) -> int:
    """ "08:30" -> 510; "24:00" -> 1440 (the midnight that ends a day)."""
    match = _HHMM.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a time of day as HH:MM (00:00 to 24:00)")
    if text == "24:00":
        return MINUTES_PER_DAY
    return int(match.group(1)) * 60 + int(match.group(2))


def minutes_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=256)
def _country_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision or None, years=year).keys())


Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class BusinessCalendar:
    """When the desk works: a time zone, opening spans per weekday (Monday first) and holidays."""

    calendar_id: str
    time_zone: str
    week: tuple[tuple[Span, ...], ...]
    holidays: frozenset[date] = frozenset()
    holiday_country: str = ""
    holiday_subdivision: str = ""
    name: str = ""
    revision: int = 1
    # Open intervals (UTC) per local date: the arithmetic visits the same days again and again.
    _days: dict[date, tuple[Interval, ...]] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        violations = calendar_violations(self)
        if violations:
            raise InvalidArgument(violations)

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.time_zone)

    def is_holiday(self, day: date) -> bool:
        if day in self.holidays:
            return True
        return bool(self.holiday_country) and day in _country_holidays(
            self.holiday_country, self.holiday_subdivision, day.year
        )

    def open_intervals(self, day: date) -> tuple[Interval, ...]:
        """The moments (UTC, half-open, sorted, disjoint) whose local date is ``day`` and that are open."""
        found = self._days.get(day)
        if found is None:
            if len(self._days) > 20_000:
                self._days.clear()
            found = () if self.is_holiday(day) else _intervals(self.zone, day, self.week[day.weekday()])
            self._days[day] = found
        return found

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def always_open(calendar_id: str = "24x7", time_zone: str = "UTC", name: str = "Around the clock") -> BusinessCalendar:
    return BusinessCalendar(
        calendar_id=calendar_id,
        time_zone=time_zone,
        week=tuple((Span(0, MINUTES_PER_DAY),) for _ in WEEKDAYS),
        name=name,
    )


def calendar_violations(calendar: BusinessCalendar) -> list[FieldViolation]:
    problems: list[FieldViolation] = []
    if not CALENDAR_ID.match(calendar.calendar_id):
        problems.append(FieldViolation("calendar.calendar_id", "use 1-64 lowercase letters, digits, '_', '.' or '-'"))
    try:
        _zone(calendar.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            FieldViolation("calendar.time_zone", f"{calendar.time_zone!r} is not an IANA time zone (Europe/Berlin)")
        )
    if len(calendar.week) != len(WEEKDAYS):
        problems.append(FieldViolation("calendar.hours", "give the opening spans of exactly seven weekdays"))
    else:
        for weekday, spans in zip(WEEKDAYS, calendar.week, strict=True):
            problems.extend(_span_violations(weekday, spans))
        if not any(calendar.week):
            problems.append(FieldViolation("calendar.hours", "the calendar is never open; give at least one span"))
    if calendar.holiday_country:
        supported = holidays.list_supported_countries()
        subdivisions = supported.get(calendar.holiday_country)
        if subdivisions is None:
            problems.append(
                FieldViolation(
                    "calendar.holiday_country",
                    f"{calendar.holiday_country!r} is not a country the holidays package knows (ISO 3166-1, 'DE')",
                )
            )
        elif calendar.holiday_subdivision and calendar.holiday_subdivision not in subdivisions:
            problems.append(
                FieldViolation(
                    "calendar.holiday_subdivision",
                    f"{calendar.holiday_subdivision!r} is not a subdivision of {calendar.holiday_country}; "
                    f"known: {', '.join(subdivisions)}",
                )
            )
    elif calendar.holiday_subdivision:
        problems.append(FieldViolation("calendar.holiday_subdivision", "a subdivision needs a holiday_country"))
    return problems


def _span_violations(weekday: str, spans: Sequence[Span]) -> Iterator[FieldViolation]:
    previous_close = -1
    for span in spans:
        if not 0 <= span.opens < span.closes <= MINUTES_PER_DAY:
            yield FieldViolation("calendar.hours", f"{weekday} {span}: a span opens before it closes, within a day")
        elif span.opens < previous_close:
            yield FieldViolation("calendar.hours", f"{weekday} {span}: spans of one day must not overlap")
        previous_close = max(previous_close, span.closes)


def _offset(zone: ZoneInfo, moment: datetime) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _transition(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first second in (low, high] whose UTC offset is that of ``high`` (offsets differ at the ends)."""
    target = _offset(zone, high)
    lo, hi = 0, int((high - low) / _SECOND)
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if _offset(zone, low + middle * _SECOND) == target:
            hi = middle
        else:
            lo = middle
    return low + hi * _SECOND


def _pieces(zone: ZoneInfo, low: datetime, high: datetime) -> list[tuple[datetime, datetime, timedelta]]:
    """[low, high) cut where the zone's offset changes: (start, end, offset) each. At most one change
    is looked for: real zones never change twice within the 54 hours around one local day."""
    first, last = _offset(zone, low), _offset(zone, high)
    if first == last:
        return [(low, high, first)]
    change = _transition(zone, low, high)
    return [(low, change, first), (change, high, last)]


def _intervals(zone: ZoneInfo, day: date, spans: Sequence[Span]) -> tuple[Interval, ...]:
    if not spans:
        return ()
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)  # the local midnight's digits, read as UTC
    pieces = _pieces(zone, midnight - _ZONE_REACH, midnight + timedelta(days=1) + _ZONE_REACH)
    found: list[Interval] = []
    for span in spans:
        opens, closes = midnight + timedelta(minutes=span.opens), midnight + timedelta(minutes=span.closes)
        for start, end, offset in pieces:
            # Local time = UTC + offset within a piece, so the span's local times are these UTC moments.
            low, high = max(opens - offset, start), min(closes - offset, end)
            if low < high:
                found.append((low, high))
    found.sort()
    merged: list[Interval] = []
    for low, high in found:
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def _days_around(calendar: BusinessCalendar, start: datetime) -> Iterator[date]:
    # A moment's local date, or the day before it, may hold intervals that reach it.
    day = calendar.local_date(start) - timedelta(days=1)
    while True:
        yield day
        day += timedelta(days=1)


def _aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")


def business_seconds_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> int:
    """Whole business seconds in [start, end); 0 when end is not after start."""
    _aware(start, "start")
    _aware(end, "end")
    if end <= start:
        return 0
    last = calendar.local_date(end) + timedelta(days=1)
    total = timedelta()
    for day in _days_around(calendar, start):
        if day > last:
            break
        for low, high in calendar.open_intervals(day):
            overlap = min(high, end) - max(low, start)
            if overlap > timedelta():
                total += overlap
    return total // _SECOND


def add_business_time(calendar: BusinessCalendar, start: datetime, seconds: int) -> datetime:
    """The earliest moment by which ``seconds`` of business time have passed since ``start``."""
    _aware(start, "start")
    if seconds < 0:
        raise ValueError(f"seconds must not be negative, not {seconds}")
    remaining = timedelta(seconds=seconds)
    if not remaining:
        return start
    for searched, day in enumerate(_days_around(calendar, start)):
        if searched > _SEARCH_DAYS:
            break
        for low, high in calendar.open_intervals(day):
            if high <= start:
                continue
            begin = max(low, start)
            available = high - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
    raise FailedPrecondition(
        f"calendar {calendar.calendar_id!r} has fewer than {seconds} business seconds in the ten years after "
        f"{start.isoformat()}: check its opening hours and holidays"
    )
