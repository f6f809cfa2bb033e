"""What the supervisors' reports mean, kept apart from the queries that feed them.

Definitions every report shares:

- A report covers [start, end): an instant equal to ``end`` belongs to the next report.
- Calendar buckets (a day, an ISO week starting on Monday, a month) are cut at local midnight in
  the report's IANA time zone, so a day is 23 or 25 hours long across a daylight-saving change. The
  first and last bucket are clipped to the range.
- Percentiles interpolate linearly between the two closest ranks: Hyndman and Fan's type 7, the
  method of PostgreSQL's ``percentile_cont``, numpy's default and Excel's ``PERCENTILE.INC``. For n
  sorted values x1..xn the p-th percentile lies at rank h = 1 + (n - 1) * p / 100 and is
  x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]). The median is the 50th percentile.
- Handling time is created -> resolved, in whole seconds (both instants truncated to the second),
  of the tickets resolved in the range.
- A resolved ticket is one whose resolution (``resolved_at``) falls in the range and that is still
  resolved or closed; a duplicate merged into another ticket is not counted, the ticket it went into is.
- First-contact resolution: a resolved ticket that needed at most one public reply from an agent and
  was never reopened. The rate is first-contact tickets / resolved tickets.
- SLA compliance counts clocks decided in the range: met when stopped in time (by ``stopped_at``),
  breached when they passed their target (by ``breached_at``). Running and paused clocks are undecided.
- Satisfaction: the ratings given in the range; good means 4 or 5.
- A rate over nothing (no resolved tickets, no decided clocks, no ratings) is 0.0; its count says why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from switchboard.errors import FieldViolation, InvalidArgument

# A year of days fits; more bars than this make an unreadable chart (and SQLite caps the
# compound SELECT the buckets are queried with at 500 terms).
MAX_BUCKETS = 400
MEDIAN = 50
P90 = 90
FIRST_CONTACT_MAX_PUBLIC_REPLIES = 1


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, and the time zone whose calendar buckets it."""

    start: datetime
    end: datetime
    zone: ZoneInfo


def period(start: datetime, end: datetime, time_zone: str) -> Period:
    """A report's range, or INVALID_ARGUMENT naming what is wrong with it."""
    violations = []
    zone = None
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        violations.append(
            FieldViolation(
                "range.time_zone", f"{time_zone!r} is not an IANA time zone (for example 'Europe/Berlin' or 'UTC')"
            )
        )
    for name, moment in (("range.start_time", start), ("range.end_time", end)):
        if moment.tzinfo is None:
            violations.append(FieldViolation(name, "must be an instant with a UTC offset, not a naive time"))
    if not violations and end <= start:
        violations.append(FieldViolation("range.end_time", f"must be after start_time ({start.isoformat()})"))
    if violations or zone is None:
        raise InvalidArgument(violations)
    return Period(start.astimezone(UTC), end.astimezone(UTC), zone)


@dataclass(frozen=True)
class Bucket:
    """One bar of a chart: a local day, ISO week or month, as the instants it covers in the range."""

    # "2025-03-14", "2025-W11" or "2025-03".
    label: str
    first_day: date
    start: datetime
    end: datetime


def buckets(within: Period, grain: Grain) -> list[Bucket]:
    """The calendar periods of ``grain`` that overlap the range, oldest first, clipped to it."""
    first = _floor(within.start.astimezone(within.zone).date(), grain)
    days: list[date] = [first]
    while _midnight(days[-1], within.zone) < within.end:
        if len(days) > MAX_BUCKETS:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "granularity",
                        f"the range has more than {MAX_BUCKETS} {grain.value}s; "
                        "choose a coarser granularity or a shorter range",
                    )
                ]
            )
        days.append(_next(days[-1], grain))
    return [
        Bucket(
            label=_label(day, grain),
            first_day=day,
            start=max(_midnight(day, within.zone), within.start),
            end=min(_midnight(following, within.zone), within.end),
        )
        for day, following in pairwise(days)
    ]


def _floor(day: date, grain: Grain) -> date:
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    if grain is Grain.MONTH:
        return day.replace(day=1)
    return day


def _next(day: date, grain: Grain) -> date:
    if grain is Grain.WEEK:
        return day + timedelta(weeks=1)
    if grain is Grain.MONTH:
        return date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return day + timedelta(days=1)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    # Where midnight does not exist (a zone that springs forward at 00:00), fold=0 reads it with
    # the offset before the change, which lands on the first instant the day does have.
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _label(day: date, grain: Grain) -> str:
    if grain is Grain.WEEK:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if grain is Grain.MONTH:
        return f"{day.year}-{day.month:02d}"
    return day.isoformat()


@dataclass(frozen=True)
class RankSpan:
    """Where a percentile lies among n sorted values: between two 1-based ranks."""

    lower: int
    upper: int
    # How far from the lower value towards the upper one, 0 <= weight < 1.
    weight: Fraction


def rank_span(count: int, percent: int) -> RankSpan:
    if count < 1:
        raise ValueError("a percentile of no values is undefined")
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be from 0 to 100, not {percent}")
    hundredths = (count - 1) * percent
    lower = hundredths // 100 + 1
    return RankSpan(lower, min(lower + 1, count), Fraction(hundredths % 100, 100))


def ranks_needed(count: int, percents: Iterable[int]) -> frozenset[int]:
    """The ranks whose values the percentiles need: all a query has to return of a sorted column."""
    return frozenset(rank for p in percents for span in [rank_span(count, p)] for rank in (span.lower, span.upper))


def percentile_of(span: RankSpan, value_at: Mapping[int, float]) -> float:
    lower, upper = value_at[span.lower], value_at[span.upper]
    return float(lower + span.weight * (upper - lower)) if span.weight else float(lower)


def percentile(sorted_values: Sequence[float], percent: int) -> float:
    span = rank_span(len(sorted_values), percent)
    return percentile_of(span, {span.lower: sorted_values[span.lower - 1], span.upper: sorted_values[span.upper - 1]})


@dataclass(frozen=True)
class Durations:
    count: int
    mean: float
    median: float
    p90: float


def durations(count: int, total: float, value_at: Mapping[int, float]) -> Durations:
    """Mean, median and p90 from the count, the sum and the values at ``ranks_needed(count, (MEDIAN, P90))``."""
    return Durations(
        count=count,
        mean=total / count,
        median=percentile_of(rank_span(count, MEDIAN), value_at),
        p90=percentile_of(rank_span(count, P90), value_at),
    )


def summarize(values: Iterable[float]) -> Durations:
    """The same figures from the values themselves, for data already in memory."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values to summarize")
    return durations(len(ordered), math.fsum(ordered), dict(enumerate(ordered, start=1)))


@dataclass(frozen=True)
class HandlingTime:
    # "" for tickets never categorised.
    category: str
    durations: Durations


def longest_first(rows: Iterable[HandlingTime]) -> list[HandlingTime]:
    """Which kinds of problem take longest: by median, then p90, then mean; ties by category name."""
    return sorted(rows, key=lambda r: (-r.durations.median, -r.durations.p90, -r.durations.mean, r.category))


def first_contact(public_replies: int, reopen_count: int) -> bool:
    return public_replies <= FIRST_CONTACT_MAX_PUBLIC_REPLIES and reopen_count == 0


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class FirstContact:
    resolved: int
    first_contact: int

    @property
    def rate(self) -> float:
        return _share(self.first_contact, self.resolved)

    def __add__(self, other: FirstContact) -> FirstContact:
        return FirstContact(self.resolved + other.resolved, self.first_contact + other.first_contact)


@dataclass(frozen=True)
class Compliance:
    met: int
    breached: int

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def rate(self) -> float:
        return _share(self.met, self.decided)

    def __add__(self, other: Compliance) -> Compliance:
        return Compliance(self.met + other.met, self.breached + other.breached)


@dataclass(frozen=True)
class Satisfaction:
    ratings: int
    score_total: int
    good: int

    @property
    def mean(self) -> float:
        return self.score_total / self.ratings if self.ratings else 0.0

    @property
    def good_share(self) -> float:
        return _share(self.good, self.ratings)


@dataclass(frozen=True)
class Scoring:
    """The points table's rules: points for each resolved ticket and each good rating (4 or 5).

    A low rating costs nothing: a penalty would teach agents not to ask for ratings.
    """

    per_resolved: int = 10
    per_good_rating: int = 5

    def points(self, resolved: int, good_ratings: int) -> int:
        return resolved * self.per_resolved + good_ratings * self.per_good_rating


DEFAULT_SCORING = Scoring()


@dataclass(frozen=True)
class AgentTally:
    agent: str
    resolved: int
    good_ratings: int


@dataclass(frozen=True)
class Standing:
    # Competition ranking: agents with equal points share a rank, and the next rank skips (1, 2, 2, 4).
    rank: int
    agent: str
    resolved: int
    good_ratings: int
    points: int


def standing_order(points: int, good_ratings: int, resolved: int, agent: str) -> tuple[int, int, int, str]:
    """Most points first; among equals, more good ratings, then more resolved, then by name."""
    return (-points, -good_ratings, -resolved, agent)


def standings(tallies: Iterable[AgentTally], scoring: Scoring = DEFAULT_SCORING) -> list[Standing]:
    scored = sorted(
        ((scoring.points(t.resolved, t.good_ratings), t) for t in tallies),
        key=lambda pt: standing_order(pt[0], pt[1].good_ratings, pt[1].resolved, pt[1].agent),
    )
    table: list[Standing] = []
    for position, (points, tally) in enumerate(scored, start=1):
        rank = table[-1].rank if table and table[-1].points == points else position
        table.append(Standing(rank, tally.agent, tally.resolved, tally.good_ratings, points))
    return table
