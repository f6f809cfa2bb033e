"""Each recipient's wishes: which channels per category, quiet hours, frequency caps, a digest for the small stuff.

:func:`decide` turns them into one decision per notification, in this order:

1. ``critical`` always goes out now: quiet hours, caps and digests never hold back an SLA breach or an offer.
2. Priorities in ``digest_priorities`` (``low`` by default) wait for the next digest: ``last_digest_at +
   digest_every``, or now when that moment has passed or no digest was ever sent (so at most one digest per
   period, and the first one is not held back a whole period). A digest that would land in quiet hours moves
   to their end. Caps do not apply: the digest is one message, however many items it holds.
3. Inside quiet hours → ``defer`` to their end (UTC).
4. A cap reached → ``suppress`` for ``normal``, with the reason; ``high`` is not dropped but deferred to the
   moment the window frees a slot (found from ``sent_in_window``; pushed past quiet hours if it lands in them).
5. Otherwise ``send``.

No preferences at all behave as ``Preferences`` with its defaults (no quiet hours, no caps, low waits for a
digest every four hours).

Quiet hours are wall-clock times in the recipient's own zone and follow daylight saving. A quiet period is the
stretch from the first instant the recipient's clock shows ``start`` to the last instant it shows ``end``:
- a boundary that does not exist that day (Europe/Berlin skips 02:00-03:00 in spring) falls at the jump, the
  first instant the clock is past it;
- a boundary that happens twice (02:00-03:00 repeats in autumn) counts from the first ``start`` and until the
  second ``end``: a recipient who asked for silence until 02:30 never hears from us while their clock reads
  02:15, either time round.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from switchboard.errors import FieldViolation, InvalidArgument

Priority = Literal["critical", "high", "normal", "low"]
PRIORITIES: tuple[str, ...] = get_args(Priority)
DEFAULT_CATEGORY = "*"
_ZONE_FIELD = "preferences.quiet_hours.time_zone"


@dataclass(frozen=True)
class QuietHours:
    start: time  # local wall-clock; a start after the end spans midnight (22:00-07:00)
    end: time
    time_zone: str


@dataclass(frozen=True)
class Cap:
    max_count: int  # at most max_count notifications in any per_seconds window
    per_seconds: int


@dataclass(frozen=True)
class Preferences:
    recipient_id: str
    # category → channels in preference order; "*" for every other category. An empty tuple opts out of it.
    channels: Mapping[str, tuple[str, ...]]
    quiet_hours: QuietHours | None = None
    # category → cap; "*" applies to a category without a cap of its own (what it counts is up to the caller's
    # sent_in_window: the service counts everything the recipient got).
    caps: Mapping[str, Cap] = field(default_factory=dict)
    digest_priorities: frozenset[str] = frozenset({"low"})
    digest_every: timedelta = timedelta(hours=4)
    version: int = 0


@dataclass(frozen=True)
class Decision:
    action: Literal["send", "defer", "digest", "suppress"]
    at: datetime | None  # defer: when to try again; digest: the digest's time; both UTC. None for send/suppress.
    reason: str  # a sentence for the ledger: "quiet hours until 07:00 Europe/Berlin"


_NO_PREFERENCES = Preferences(recipient_id="", channels={})


def channels_for(prefs: Preferences | None, category: str, defaults: tuple[str, ...]) -> tuple[str, ...]:
    """The recipient's channels for ``category``: its own entry, else their "*", else the rule's ``defaults``."""
    if prefs is None:
        return defaults
    for key in (category, DEFAULT_CATEGORY):
        if key in prefs.channels:
            return tuple(prefs.channels[key])
    return defaults


def check_preferences(prefs: Preferences, *, known_channels: Collection[str] | None = None) -> None:
    """Refuse preferences that cannot work, naming the field: an unknown zone, empty quiet hours, a zero cap."""
    violations: list[FieldViolation] = []
    quiet = prefs.quiet_hours
    if quiet is not None:
        if not _zone_exists(quiet.time_zone):
            violations.append(
                FieldViolation("preferences.quiet_hours.time_zone", f"unknown time zone {quiet.time_zone!r}")
            )
        if quiet.start == quiet.end:
            violations.append(
                FieldViolation("preferences.quiet_hours", "start and end are equal; leave quiet hours unset instead")
            )
    for category, cap in prefs.caps.items():
        if cap.max_count < 1:
            violations.append(FieldViolation(f"preferences.caps[{category}].max_count", "must be at least 1"))
        if cap.per_seconds < 1:
            violations.append(FieldViolation(f"preferences.caps[{category}].per_seconds", "must be at least 1"))
    unknown_priorities = sorted(set(prefs.digest_priorities) - set(PRIORITIES))
    if unknown_priorities:
        violations.append(
            FieldViolation("preferences.digest_priorities", f"unknown priorities {', '.join(unknown_priorities)}")
        )
    if "critical" in prefs.digest_priorities:
        violations.append(FieldViolation("preferences.digest_priorities", "critical messages never wait for a digest"))
    if prefs.digest_every <= timedelta(0):
        violations.append(FieldViolation("preferences.digest_every", "must be positive"))
    if known_channels is not None:
        for category, channels in prefs.channels.items():
            unknown = sorted(set(channels) - set(known_channels))
            if unknown:
                violations.append(
                    FieldViolation(
                        f"preferences.channels[{category}]",
                        f"unknown channels {', '.join(unknown)}; known: {', '.join(sorted(known_channels))}",
                    )
                )
    if violations:
        raise InvalidArgument(violations)


def quiet_until(quiet: QuietHours, now: datetime) -> datetime | None:
    """The UTC end of the quiet period ``now`` is in, or None when it is not quiet now."""
    if quiet.start == quiet.end:
        return None
    now = _aware(now)
    tz = _zone(quiet.time_zone)
    today = now.astimezone(tz).date()
    for day in (today - timedelta(days=1), today):
        start, end = _period(quiet, day, tz)
        if start <= now < end:
            # Back-to-back periods (an end that meets the next start) read as one longer silence.
            following_start, following_end = _period(quiet, day + timedelta(days=1), tz)
            while following_start <= end:
                end = following_end
                day += timedelta(days=1)
                following_start, following_end = _period(quiet, day + timedelta(days=1), tz)
            return end
    return None


def decide(
    prefs: Preferences | None,
    *,
    priority: Priority,
    category: str,
    now: datetime,
    sent_in_window: Callable[[int], int],
    last_digest_at: datetime | None,
) -> Decision:
    """Send, defer, digest or suppress one notification; see the module docstring for the order of the rules.

    ``sent_in_window(seconds)`` counts what this recipient got in ``category`` within the last ``seconds``.
    """
    now = _aware(now).astimezone(UTC)
    if priority == "critical":
        return Decision("send", None, "critical messages always go out")
    prefs = prefs or _NO_PREFERENCES
    quiet = prefs.quiet_hours

    if priority in prefs.digest_priorities:
        at = now
        if last_digest_at is not None:
            at = max(now, _aware(last_digest_at).astimezone(UTC) + prefs.digest_every)
        reason = f"{priority} priority waits for the digest"
        if quiet is not None and (end := quiet_until(quiet, at)) is not None:
            at = end
            reason += f", after quiet hours end at {_local_clock(end, quiet.time_zone)}"
        return Decision("digest", at, reason)

    if quiet is not None and (end := quiet_until(quiet, now)) is not None:
        return Decision("defer", end, f"quiet hours until {_local_clock(end, quiet.time_zone)}")

    own = prefs.caps.get(category)
    cap = own or prefs.caps.get(DEFAULT_CATEGORY)
    if cap is not None and sent_in_window(cap.per_seconds) >= cap.max_count:
        limit = f"cap of {cap.max_count} per {_duration(cap.per_seconds)} reached" + (f" for {category}" if own else "")
        if priority != "high":
            return Decision("suppress", None, limit)
        at = now + timedelta(seconds=_seconds_until_free(cap, sent_in_window))
        reason = f"{limit}; a slot frees at {at:%H:%M} UTC"
        if quiet is not None and (end := quiet_until(quiet, at)) is not None:
            at = end
            reason += f", then quiet hours until {_local_clock(end, quiet.time_zone)}"
        return Decision("defer", at, reason)

    return Decision("send", None, "")


# ---- caps


def _seconds_until_free(cap: Cap, sent_in_window: Callable[[int], int]) -> int:
    """The smallest wait after which the window holds fewer than ``max_count`` sends, if nothing else is sent.

    After waiting ``w`` seconds the window covers what was sent in the last ``per_seconds - w`` seconds, a count
    that only falls as ``w`` grows, so a binary search over whole seconds finds the first free moment with about
    log2(per_seconds) calls. One second more, because the caller's "within the last n seconds" may include or
    exclude the boundary.
    """
    low, high = 0, cap.per_seconds  # at high the window is empty: always free
    while low < high:
        wait = (low + high) // 2
        if sent_in_window(cap.per_seconds - wait) < cap.max_count:
            high = wait
        else:
            low = wait + 1
    return min(low + 1, cap.per_seconds)


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count} {unit}s"
    return f"{seconds} seconds"


# ---- quiet hours across zones and daylight saving


def _period(quiet: QuietHours, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The quiet period that starts on local ``day``, in UTC."""
    end_day = day if quiet.end > quiet.start else day + timedelta(days=1)
    return _instant(day, quiet.start, tz, last=False), _instant(end_day, quiet.end, tz, last=True)


def _instant(day: date, wall: time, tz: ZoneInfo, *, last: bool) -> datetime:
    """The UTC instant a wall-clock time names: the first (or last) of two when the clock repeats it, the jump
    when the clock skips it."""
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return second if last and second != first else first
    # Skipped: fold=1 reads the time with the offset after the jump (an instant before it), fold=0 with the offset
    # before (an instant after it). The jump lies between; find it to the second (offsets change on whole seconds).
    before, after = sorted((first, second))
    offset_after = naive.replace(tzinfo=tz, fold=1).utcoffset()
    low, high = 0, int((after - before).total_seconds())
    while low < high:
        middle = (low + high) // 2
        if (before + timedelta(seconds=middle)).astimezone(tz).utcoffset() == offset_after:
            high = middle
        else:
            low = middle + 1
    return before + timedelta(seconds=low)


def _local_clock(moment: datetime, time_zone: str) -> str:
    return f"{moment.astimezone(_zone(time_zone)):%H:%M} {time_zone}"


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"a naive datetime is ambiguous here; pass an aware one (got {moment.isoformat()})")
    return moment


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(
            [FieldViolation("preferences.quiet_hours.time_zone", f"unknown time zone {name!r}")]
        ) from None


def _zone_exists(name: str) -> bool:
    try:
        _zone(name)
    except InvalidArgument:
        return False
    return True
