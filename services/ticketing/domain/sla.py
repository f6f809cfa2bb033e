"""SLA policies and clocks: which targets a ticket gets, and how its clocks run, pause and stop.

One function, ``react``, moves a ticket's clocks through one change of the ticket. The live engine
calls it after every saved change; recomputing from history calls it once per recorded change, in
order. The two agree because they are the same code fed the same facts.

A clock measures business time (see calendars) towards its target. It runs, pauses while the ticket
waits in a pending state, and stops: met when what it waits for happens before the target, breached
when the target passes first (it stops at that moment, breached_at = due_at). Warnings fall at the
policy's percentages of the target. A running segment is measured with the calendar revision in force
when the segment began; editing a calendar or policy changes clocks from their next start, pause,
resume or re-target on, never the deadline a running segment was already promised.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from services.ticketing.domain.calendars import BusinessCalendar, add_business_time, business_seconds_between
from services.ticketing.domain.tickets import OPEN_STATUSES, PENDING_STATUSES, TIERS, Activity, Status
from switchboard.errors import FieldViolation, InvalidArgument

ANY_TIER = ""
PRIORITIES = (1, 2, 3, 4)
POLICY_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
# A target longer than a year of business time is a typing mistake, not a service level.
MAX_TARGET_SECONDS = 366 * 24 * 3600


class ClockKind(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"


OPEN_CLOCK = frozenset({ClockState.RUNNING, ClockState.PAUSED})
RESPONSE_CLOCKS = frozenset({ClockKind.FIRST_RESPONSE, ClockKind.NEXT_RESPONSE})


@dataclass(frozen=True)
class SlaPolicy:
    """Targets in business seconds (0: no such clock) for one priority and customer tier ("" = any tier)."""

    policy_id: str
    priority: int
    calendar_id: str
    customer_tier: str = ANY_TIER
    name: str = ""
    first_response_seconds: int = 0
    next_response_seconds: int = 0
    resolution_seconds: int = 0
    warn_percents: tuple[int, ...] = (75,)
    escalation_queue: str = ""
    active: bool = True
    revision: int = 1

    def __post_init__(self) -> None:
        violations = policy_violations(self)
        if violations:
            raise InvalidArgument(violations)

    def target(self, kind: ClockKind) -> int:
        return {
            ClockKind.FIRST_RESPONSE: self.first_response_seconds,
            ClockKind.NEXT_RESPONSE: self.next_response_seconds,
            ClockKind.RESOLUTION: self.resolution_seconds,
        }[kind]


def policy_violations(policy: SlaPolicy) -> list[FieldViolation]:
    problems: list[FieldViolation] = []
    if not POLICY_ID.match(policy.policy_id):
        problems.append(FieldViolation("policy.policy_id", "use 1-64 lowercase letters, digits, '_', '.' or '-'"))
    if policy.priority not in PRIORITIES:
        problems.append(FieldViolation("policy.priority", f"must be 1 to 4 (P1-P4), not {policy.priority}"))
    if policy.customer_tier not in (*TIERS, ANY_TIER):
        problems.append(
            FieldViolation("policy.customer_tier", f"must be one of {', '.join(TIERS)}, or unset for any tier")
        )
    if not policy.calendar_id:
        problems.append(FieldViolation("policy.calendar_id", "name the business calendar the targets count in"))
    targets = {kind: policy.target(kind) for kind in ClockKind}
    for kind, seconds in targets.items():
        if not 0 <= seconds <= MAX_TARGET_SECONDS:
            problems.append(
                FieldViolation(f"policy.{kind.value}_seconds", f"must be 0 (no target) to {MAX_TARGET_SECONDS}")
            )
    if not any(targets.values()):
        problems.append(FieldViolation("policy.resolution_seconds", "a policy needs at least one target"))
    if list(policy.warn_percents) != sorted(set(policy.warn_percents)) or not all(
        0 < p < 100 for p in policy.warn_percents
    ):
        problems.append(FieldViolation("policy.warn_percents", "give distinct percentages from 1 to 99, ascending"))
    return problems


def tier_fallback(tier: str) -> tuple[str, ...]:
    """The tiers whose policies a customer of ``tier`` may get, best first.

    A platinum customer without a platinum policy gets gold's, then silver's, and so on down to the
    policy for any tier; a customer whose tier is not known yet gets the any-tier policy, then standard.
    """
    if tier in TIERS:
        return (*reversed(TIERS[: TIERS.index(tier) + 1]), ANY_TIER)
    return (ANY_TIER, TIERS[0])


def pick_policy(policies: Iterable[SlaPolicy], priority: int, tier: str) -> SlaPolicy | None:
    by_tier: dict[str, SlaPolicy] = {}
    for policy in sorted(policies, key=lambda p: p.policy_id, reverse=True):
        if policy.active and policy.priority == priority:
            by_tier[policy.customer_tier] = policy  # the lowest id wins a tie
    for candidate in tier_fallback(tier):
        if candidate in by_tier:
            return by_tier[candidate]
    return None


@dataclass(frozen=True)
class Clock:
    """One SLA clock of a ticket. ``used_seconds`` counts up to ``running_since`` while running."""

    clock_id: str
    ticket_id: str
    kind: ClockKind
    policy_id: str
    calendar_id: str
    calendar_revision: int
    state: ClockState
    target_seconds: int
    used_seconds: int
    started_at: datetime
    warn_percents: tuple[int, ...] = ()
    running_since: datetime | None = None
    due_at: datetime | None = None
    # The highest warning percentage the clock has reached (0: none).
    warned: int = 0
    stopped_at: datetime | None = None
    breached_at: datetime | None = None
    # The ticket's team when the clock stopped or breached.
    team: str = ""
    # What the timer has announced as events; bookkeeping of the live engine, not of the SLA state.
    announced_warning: int = 0
    breach_announced: bool = False

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_CLOCK

    def threshold(self, percent: int) -> int:
        """Business seconds used when the ``percent`` warning falls due."""
        return -(-self.target_seconds * percent // 100)

    def used_at(self, calendar: BusinessCalendar, moment: datetime) -> int:
        if self.state is ClockState.RUNNING and self.running_since is not None:
            return self.used_seconds + business_seconds_between(calendar, self.running_since, moment)
        return self.used_seconds

    def next_alarm(self, calendar: BusinessCalendar) -> datetime | None:
        """When the timer should next look at this clock: a warning or breach to announce, or None."""
        if self.state is ClockState.BREACHED:
            return None if self.breach_announced else self.breached_at
        if self.state is not ClockState.RUNNING or self.running_since is None or self.due_at is None:
            return None
        if self.warned > self.announced_warning:
            return self.running_since  # reached before the timer looked (a re-target, say): announce at once
        for percent in self.warn_percents:
            if percent > self.warned:
                return add_business_time(calendar, self.running_since, self.threshold(percent) - self.used_seconds)
        return self.due_at


class Rules(Protocol):
    """The policies and calendars the engine applies: the current ones live, those then in force when
    recomputing from history."""

    def policy(self, priority: int, tier: str, at: datetime) -> SlaPolicy | None: ...

    def calendar(self, calendar_id: str, at: datetime) -> BusinessCalendar: ...

    def calendar_revision(self, calendar_id: str, revision: int) -> BusinessCalendar: ...


@dataclass(frozen=True)
class Facts:
    """What of a ticket the clocks depend on."""

    status: Status
    priority: int
    customer_tier: str
    team: str
    # A public reply by staff has been given.
    responded: bool = False

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_STATUSES


@dataclass(frozen=True)
class Change:
    """One saved change of a ticket: its facts before (None when it was created) and after."""

    before: Facts | None
    after: Facts
    activity: Activity | None
    at: datetime


def advance(clock: Clock, calendar: BusinessCalendar, at: datetime, *, team: str) -> Clock:
    """The clock after time passed up to ``at`` with nothing happening: warnings reached, the target missed."""
    if clock.state is not ClockState.RUNNING or clock.due_at is None:
        return clock
    if clock.due_at <= at:
        return replace(
            clock,
            state=ClockState.BREACHED,
            used_seconds=clock.target_seconds,
            running_since=None,
            breached_at=clock.due_at,
            due_at=None,
            warned=max((clock.warned, *clock.warn_percents)),
            team=team,
        )
    return _warned(clock, clock.used_at(calendar, at))


def _warned(clock: Clock, used: int) -> Clock:
    reached = [p for p in clock.warn_percents if used >= clock.threshold(p)]
    warned = max((clock.warned, *reached))
    return clock if warned == clock.warned else replace(clock, warned=warned)


def start(
    kind: ClockKind, policy: SlaPolicy, facts: Facts, at: datetime, rules: Rules, *, ticket_id: str, clock_id: str
) -> Clock | None:
    target = policy.target(kind)
    if not target:
        return None
    calendar = rules.calendar(policy.calendar_id, at)
    clock = Clock(
        clock_id=clock_id,
        ticket_id=ticket_id,
        kind=kind,
        policy_id=policy.policy_id,
        calendar_id=calendar.calendar_id,
        calendar_revision=calendar.revision,
        state=ClockState.PAUSED,
        target_seconds=target,
        used_seconds=0,
        started_at=at,
        warn_percents=policy.warn_percents,
    )
    return clock if facts.is_pending else _run(clock, calendar, at, team=facts.team)


def _run(clock: Clock, calendar: BusinessCalendar, at: datetime, *, team: str) -> Clock:
    """Start a running segment at ``at`` (measured with ``calendar``), or breach when nothing is left."""
    left = clock.target_seconds - clock.used_seconds
    if left <= 0:
        return replace(
            clock,
            state=ClockState.BREACHED,
            used_seconds=clock.target_seconds,
            running_since=None,
            due_at=None,
            breached_at=at,
            warned=max((clock.warned, *clock.warn_percents)),
            team=team,
        )
    running = replace(
        clock,
        state=ClockState.RUNNING,
        calendar_id=calendar.calendar_id,
        calendar_revision=calendar.revision,
        running_since=at,
        due_at=add_business_time(calendar, at, left),
    )
    return _warned(running, running.used_seconds)


def pause(clock: Clock, calendar: BusinessCalendar, at: datetime) -> Clock:
    if clock.state is not ClockState.RUNNING:
        return clock
    return replace(
        clock, state=ClockState.PAUSED, used_seconds=clock.used_at(calendar, at), running_since=None, due_at=None
    )


def resume(clock: Clock, at: datetime, rules: Rules, *, team: str) -> Clock:
    if clock.state is not ClockState.PAUSED:
        return clock
    return _run(clock, rules.calendar(clock.calendar_id, at), at, team=team)


def stop(clock: Clock, calendar: BusinessCalendar, at: datetime, *, team: str) -> Clock:
    """What the clock waits for happened (or the ticket ended): met, or a breach gets its stop time."""
    if clock.state is ClockState.BREACHED:
        return clock if clock.stopped_at is not None else replace(clock, stopped_at=at)
    if clock.state is ClockState.MET:
        return clock
    return replace(
        clock,
        state=ClockState.MET,
        used_seconds=clock.used_at(calendar, at),
        running_since=None,
        due_at=None,
        stopped_at=at,
        team=team,
    )


def retarget(
    clock: Clock, policy: SlaPolicy, calendar: BusinessCalendar, at: datetime, rules: Rules, *, team: str
) -> Clock:
    """The ticket now falls under ``policy``: an open clock keeps the time it used, against the new target."""
    target = policy.target(clock.kind)
    if not clock.is_open or not target:
        return clock
    if (clock.policy_id, clock.target_seconds, clock.calendar_id) == (policy.policy_id, target, policy.calendar_id):
        return clock
    was_running = clock.state is ClockState.RUNNING
    paused = pause(clock, calendar, at)
    moved = replace(
        paused,
        policy_id=policy.policy_id,
        calendar_id=policy.calendar_id,
        target_seconds=target,
        warn_percents=policy.warn_percents,
    )
    new_calendar = rules.calendar(policy.calendar_id, at)
    if was_running:
        return _run(moved, new_calendar, at, team=team)
    if moved.used_seconds >= target:
        return _run(moved, new_calendar, at, team=team)  # breaches at once
    return _warned(replace(moved, calendar_revision=new_calendar.revision), moved.used_seconds)


def react(
    clocks: Sequence[Clock], change: Change, rules: Rules, *, ticket_id: str, new_id: Callable[[], str]
) -> list[Clock]:
    """The ticket's clocks after one change: time passes up to the change, then the policy is re-picked
    (priority or tier changed), then the status change applies, then the conversation."""
    before, after, at = change.before, change.after, change.at

    def calendar_of(clock: Clock) -> BusinessCalendar:
        return rules.calendar_revision(clock.calendar_id, clock.calendar_revision)

    def started(kind: ClockKind, policy: SlaPolicy | None) -> list[Clock]:
        if policy is None:
            return []
        clock = start(kind, policy, after, at, rules, ticket_id=ticket_id, clock_id=new_id())
        return [clock] if clock is not None else []

    def fresh() -> list[Clock]:
        policy = rules.policy(after.priority, after.customer_tier, at)
        first = [] if after.responded else started(ClockKind.FIRST_RESPONSE, policy)
        return first + started(ClockKind.RESOLUTION, policy)

    result = [advance(c, calendar_of(c), at, team=(before or after).team) for c in clocks]
    if before is None:
        return result + fresh() if after.is_open else result

    if (before.priority, before.customer_tier) != (after.priority, after.customer_tier):
        policy = rules.policy(after.priority, after.customer_tier, at)
        if policy is not None:
            result = [retarget(c, policy, calendar_of(c), at, rules, team=after.team) for c in result]
            if not result and after.is_open:
                result = fresh()

    if before.status is not after.status:
        if not after.is_open:
            result = [stop(c, calendar_of(c), at, team=after.team) for c in result]
        elif not before.is_open:
            policy = rules.policy(after.priority, after.customer_tier, at)
            result += started(ClockKind.RESOLUTION, policy)  # reopened: the work starts again
        elif after.is_pending and not before.is_pending:
            result = [pause(c, calendar_of(c), at) for c in result]
        elif before.is_pending and not after.is_pending:
            result = [resume(c, at, rules, team=after.team) for c in result]

    if change.activity is Activity.AGENT_REPLY:
        result = [
            stop(c, calendar_of(c), at, team=after.team) if c.kind in RESPONSE_CLOCKS and c.is_open else c
            for c in result
        ]
    elif change.activity is Activity.CUSTOMER_MESSAGE and after.is_open:
        waiting = any(c.kind in RESPONSE_CLOCKS and c.is_open for c in result)
        if not waiting:
            result += started(ClockKind.NEXT_RESPONSE, rules.policy(after.priority, after.customer_tier, at))
    return result


class _Shown(Protocol):
    @property
    def state(self) -> ClockState: ...

    @property
    def warned(self) -> int: ...


def summary(clocks: Sequence[_Shown]) -> str:
    """The ticket's SLA state for queues and filters: the worst of its clocks (stored, or as seen)."""
    if not clocks:
        return "none"
    if any(c.state is ClockState.BREACHED for c in clocks):
        return "breached"
    if any(c.state in OPEN_CLOCK and c.warned for c in clocks):
        return "warning"
    if any(c.state is ClockState.RUNNING for c in clocks):
        return "ok"
    if any(c.state is ClockState.PAUSED for c in clocks):
        return "paused"
    return "met"


@dataclass(frozen=True)
class ClockView:
    """A clock as a person sees it at ``as_of``: what GetTicket and GetSlaState show."""

    kind: ClockKind
    policy_id: str
    state: ClockState
    target_seconds: int
    used_seconds: int
    started_at: datetime
    due_at: datetime | None
    warned: bool
    stopped_at: datetime | None
    breached_at: datetime | None
    team: str


def view(clock: Clock, calendar: BusinessCalendar, as_of: datetime, *, team: str) -> ClockView:
    """The clock as of ``as_of``, as if every timer due by then had fired."""
    now = advance(clock, calendar, as_of, team=team)
    return ClockView(
        kind=now.kind,
        policy_id=now.policy_id,
        state=now.state,
        target_seconds=now.target_seconds,
        used_seconds=now.used_at(calendar, as_of),
        started_at=now.started_at,
        due_at=now.due_at,
        warned=bool(now.warned),
        stopped_at=now.stopped_at,
        breached_at=now.breached_at,
        team=now.team,
    )
