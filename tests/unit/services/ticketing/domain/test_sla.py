"""Business-time arithmetic and SLA clocks, checked against an independent reference.

The reference knows nothing of intervals or offsets: it walks real time minute by minute, reads each
minute's wall clock in the calendar's zone, and counts the minute when the desk is open then. Every
generated schedule, holiday and moment lies on whole minutes, so minutes count exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.ticketing.domain.calendars import (
    MINUTES_PER_DAY,
    BusinessCalendar,
    Span,
    add_business_time,
    always_open,
    business_seconds_between,
)
from services.ticketing.domain.sla import (
    Change,
    Clock,
    ClockKind,
    ClockState,
    Facts,
    SlaPolicy,
    advance,
    pick_policy,
    react,
    summary,
    tier_fallback,
    view,
)
from services.ticketing.domain.tickets import Activity, Status
from switchboard.errors import FailedPrecondition, InvalidArgument

MINUTE = timedelta(minutes=1)
BERLIN = "Europe/Berlin"
# Zones with a daylight-saving change near an anchor below; Lord Howe moves its clocks by 30 minutes.
ZONES = [BERLIN, "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
ANCHORS = [
    datetime(2025, 3, 30, 1, 0, tzinfo=UTC),  # Berlin: 02:00 becomes 03:00
    datetime(2025, 10, 26, 1, 0, tzinfo=UTC),  # Berlin: 03:00 becomes 02:00
    datetime(2025, 3, 9, 7, 0, tzinfo=UTC),  # New York springs forward
    datetime(2025, 11, 2, 6, 0, tzinfo=UTC),  # New York falls back
    datetime(2025, 4, 5, 15, 0, tzinfo=UTC),  # Lord Howe falls back half an hour
    datetime(2025, 10, 4, 15, 30, tzinfo=UTC),  # Lord Howe springs forward half an hour
]


def office(**overrides: object) -> BusinessCalendar:
    """Monday to Friday 08:00-18:00 in Berlin, closed on Bavaria's public holidays."""
    values: dict[str, object] = {
        "calendar_id": "office-berlin",
        "time_zone": BERLIN,
        "week": tuple((Span(8 * 60, 18 * 60),) if day < 5 else () for day in range(7)),
        "holiday_country": "DE",
        "holiday_subdivision": "BY",
    }
    values.update(overrides)
    return BusinessCalendar(**values)  # type: ignore[arg-type]


def at(text: str, zone: str = BERLIN) -> datetime:
    """A local wall-clock time ("2025-04-17 17:00") as the UTC moment it names."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


# The reference: minute by minute.


def ref_open(calendar: BusinessCalendar, minute: datetime) -> bool:
    local = minute.astimezone(ZoneInfo(calendar.time_zone))
    day = local.date()
    if day in calendar.holidays:
        return False
    if calendar.holiday_country and day in public_holidays(calendar.holiday_country, calendar.holiday_subdivision):
        return False
    clock = local.hour * 60 + local.minute
    return any(span.opens <= clock < span.closes for span in calendar.week[local.weekday()])


@functools.cache
def public_holidays(country: str, subdivision: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision or None, years=range(2024, 2027))


def minutes(start: datetime, end: datetime) -> Iterator[datetime]:
    moment = start
    while moment < end:
        yield moment
        moment += MINUTE


def ref_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> int:
    return 60 * sum(1 for m in minutes(start, end) if ref_open(calendar, m))


def ref_add(calendar: BusinessCalendar, start: datetime, seconds: int) -> datetime:
    wanted, moment = seconds // 60, start
    while wanted:
        if ref_open(calendar, moment):
            wanted -= 1
        moment += MINUTE
    return moment


# Strategies: random weekly schedules on a quarter-hour grid, holidays, moments near a clock change.


@st.composite
def spans(draw: st.DrawFn) -> tuple[Span, ...]:
    cuts = sorted(set(draw(st.lists(st.integers(0, MINUTES_PER_DAY // 15), max_size=4))))
    pairs = [(cuts[i] * 15, cuts[i + 1] * 15) for i in range(0, len(cuts) - 1, 2)]
    return tuple(Span(a, b) for a, b in pairs if a < b)


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    week = tuple(draw(spans()) for _ in range(7))
    if not any(week):
        week = ((Span(9 * 60, 17 * 60),), *week[1:])
    anchor = draw(st.sampled_from(ANCHORS)).date()
    closed = draw(st.sets(st.integers(-3, 10).map(lambda d: anchor + timedelta(days=d)), max_size=3))
    country = draw(st.sampled_from([("", ""), ("DE", "BY"), ("US", "")]))
    return BusinessCalendar(
        calendar_id="random",
        time_zone=draw(st.sampled_from(ZONES)),
        week=week,
        holidays=frozenset(closed),
        holiday_country=country[0],
        holiday_subdivision=country[1],
    )


moments = st.builds(
    lambda anchor, offset: anchor + offset * MINUTE, st.sampled_from(ANCHORS), st.integers(-3 * 24 * 60, 2 * 24 * 60)
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(calendars(), moments, st.integers(0, 4 * 24 * 60))
def test_business_seconds_between_counts_the_open_minutes(
    calendar: BusinessCalendar, start: datetime, length: int
) -> None:
    end = start + length * MINUTE
    assert business_seconds_between(calendar, start, end) == ref_between(calendar, start, end)


@PROPERTY
@given(calendars(), moments, st.integers(0, 20 * 60))
def test_add_business_time_ends_at_the_minute_the_reference_reaches(
    calendar: BusinessCalendar, start: datetime, business_minutes: int
) -> None:
    due = add_business_time(calendar, start, business_minutes * 60)

    assert due == ref_add(calendar, start, business_minutes * 60)
    assert business_seconds_between(calendar, start, due) == business_minutes * 60


@PROPERTY
@given(calendars(), moments, st.integers(1, 10**6), st.integers(0, 10**6))
def test_business_time_adds_up_in_any_two_steps(
    calendar: BusinessCalendar, start: datetime, first: int, second: int
) -> None:
    try:
        middle = add_business_time(calendar, start, first)
        whole = add_business_time(calendar, start, first + second)
    except FailedPrecondition:
        # A calendar open a few minutes a week cannot hold that much business time within ten years; that
        # is refused (test_a_target_a_calendar_cannot_reach_in_ten_years_is_refused), not a sum to check.
        assume(False)

    assert add_business_time(calendar, middle, second) == whole


def test_a_target_a_calendar_cannot_reach_in_ten_years_is_refused() -> None:
    sundays_quarter_hour = BusinessCalendar(
        calendar_id="tiny", time_zone=BERLIN, week=((), (), (), (), (), (), (Span(opens=0, closes=15),))
    )

    with pytest.raises(FailedPrecondition, match="calendar 'tiny' has fewer than 1000000 business seconds"):
        add_business_time(sundays_quarter_hour, at("2025-03-30 01:00"), 10**6)


def test_the_day_berlin_springs_forward_has_23_hours_and_the_day_it_falls_back_25() -> None:
    calendar = always_open("24x7-berlin", BERLIN)

    assert business_seconds_between(calendar, at("2025-03-30 00:00"), at("2025-03-31 00:00")) == 23 * 3600
    assert business_seconds_between(calendar, at("2025-10-26 00:00"), at("2025-10-27 00:00")) == 25 * 3600


def test_a_span_in_the_hour_berlin_repeats_is_open_both_times() -> None:
    night = office(week=tuple((Span(2 * 60, 3 * 60),) for _ in range(7)), holiday_country="", holiday_subdivision="")

    opened = business_seconds_between(night, at("2025-10-26 00:00"), at("2025-10-26 12:00"))

    assert opened == 2 * 3600


def test_a_span_across_the_hour_berlin_skips_is_an_hour_shorter() -> None:
    night = office(week=tuple((Span(1 * 60, 4 * 60),) for _ in range(7)), holiday_country="", holiday_subdivision="")

    assert business_seconds_between(night, at("2025-03-30 00:00"), at("2025-03-30 12:00")) == 2 * 3600


def test_easter_in_bavaria_moves_a_thursday_evening_deadline_to_tuesday() -> None:
    # Thursday 17:00: one hour left that day; Good Friday, the weekend and Easter Monday are closed.
    due = add_business_time(office(), at("2025-04-17 17:00"), 3 * 3600)

    assert due == at("2025-04-22 10:00")


def test_explicit_holidays_close_the_desk_too() -> None:
    calendar = office(holidays=frozenset({date(2025, 6, 2)}))

    assert add_business_time(calendar, at("2025-05-30 17:00"), 2 * 3600) == at("2025-06-03 09:00")


def test_zero_business_time_from_a_closed_moment_is_that_moment() -> None:
    saturday = at("2025-06-07 12:00")

    assert add_business_time(office(), saturday, 0) == saturday


def test_a_calendar_without_enough_open_time_says_so() -> None:
    closed_all_year = office(holidays=frozenset(date(2025, 1, 1) + timedelta(days=d) for d in range(4000)))

    with pytest.raises(FailedPrecondition, match="office-berlin"):
        add_business_time(closed_all_year, at("2025-01-01 00:00"), 60)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "calendar.time_zone"),
        ({"week": ((Span(18 * 60, 8 * 60),),) * 7}, "calendar.hours"),
        ({"week": ((Span(8 * 60, 12 * 60), Span(11 * 60, 13 * 60)),) * 7}, "calendar.hours"),
        ({"week": ((),) * 7}, "calendar.hours"),
        ({"week": ((),) * 6}, "calendar.hours"),
        ({"holiday_country": "XX"}, "calendar.holiday_country"),
        ({"holiday_subdivision": "ZZ"}, "calendar.holiday_subdivision"),
        ({"calendar_id": "Office Berlin"}, "calendar.calendar_id"),
    ],
)
def test_a_calendar_that_cannot_work_is_refused_naming_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        office(**overrides)

    assert field in [v.field for v in refused.value.violations]


# Policies.


def policy(policy_id: str, priority: int = 3, tier: str = "", **overrides: object) -> SlaPolicy:
    values: dict[str, object] = {
        "policy_id": policy_id,
        "priority": priority,
        "customer_tier": tier,
        "calendar_id": "office-berlin",
        "first_response_seconds": 8 * 3600,
        "next_response_seconds": 4 * 3600,
        "resolution_seconds": 30 * 3600,
        "warn_percents": (75,),
        "escalation_queue": "escalations",
    }
    values.update(overrides)
    return SlaPolicy(**values)  # type: ignore[arg-type]


def test_a_tier_falls_back_through_the_lower_tiers_to_the_policy_for_any_tier() -> None:
    assert tier_fallback("platinum") == ("platinum", "gold", "silver", "standard", "")
    assert tier_fallback("standard") == ("standard", "")
    assert tier_fallback("") == ("", "standard")


def test_the_best_active_policy_for_the_priority_and_tier_is_picked() -> None:
    policies = [
        policy("p3-any"),
        policy("p3-silver", tier="silver"),
        policy("p3-gold-old", tier="gold", active=False),
        policy("p2-gold", priority=2, tier="gold"),
    ]

    assert pick_policy(policies, 3, "platinum") == policies[1]  # gold is inactive: silver's
    assert pick_policy(policies, 3, "standard") == policies[0]
    assert pick_policy(policies, 3, "") == policies[0]
    assert pick_policy(policies, 2, "silver") is None
    assert pick_policy(policies, 4, "gold") is None


def test_a_policy_without_targets_or_with_muddled_warnings_is_refused() -> None:
    with pytest.raises(InvalidArgument) as refused:
        policy("p3", first_response_seconds=0, next_response_seconds=0, resolution_seconds=0, warn_percents=(90, 50))

    assert {v.field for v in refused.value.violations} == {"policy.resolution_seconds", "policy.warn_percents"}


# Clocks, driven through react() as the engine drives them.


class Rules:
    """One calendar and some policies, the same at every moment."""

    def __init__(self, calendar: BusinessCalendar, policies: list[SlaPolicy]) -> None:
        self.the_calendar, self.policies = calendar, policies

    def policy(self, priority: int, tier: str, at: datetime) -> SlaPolicy | None:
        return pick_policy(self.policies, priority, tier)

    def calendar(self, calendar_id: str, at: datetime) -> BusinessCalendar:
        assert calendar_id == self.the_calendar.calendar_id
        return self.the_calendar

    def calendar_revision(self, calendar_id: str, revision: int) -> BusinessCalendar:
        assert calendar_id == self.the_calendar.calendar_id
        return self.the_calendar


class Desk:
    """A ticket's facts and clocks, moved by hand through changes."""

    def __init__(self, rules: Rules, created: datetime, **facts: object) -> None:
        self.rules = rules
        values: dict[str, object] = {"status": Status.NEW, "priority": 3, "customer_tier": "", "team": "field"}
        values.update(facts)
        self.facts = Facts(**values)  # type: ignore[arg-type]
        self._ids = iter(range(1, 1000))
        self.clocks = self._react(Change(None, self.facts, None, created))

    def _react(self, change: Change) -> list[Clock]:
        existing = getattr(self, "clocks", [])
        return react(existing, change, self.rules, ticket_id="t-1", new_id=lambda: f"c-{next(self._ids)}")

    def change(self, moment: datetime, activity: Activity | None = None, **facts: object) -> None:
        after = replace(self.facts, **facts)  # type: ignore[arg-type]
        self.clocks = self._react(Change(self.facts, after, activity, moment))
        self.facts = after

    def clock(self, kind: ClockKind, index: int = -1) -> Clock:
        return [c for c in self.clocks if c.kind is kind][index]


def desk(created: datetime, **facts: object) -> Desk:
    return Desk(
        Rules(office(), [policy("p3-normal"), policy("p2-high", priority=2, resolution_seconds=10 * 3600)]),
        created,
        **facts,
    )


def test_a_new_ticket_gets_first_response_and_resolution_clocks_due_in_business_time() -> None:
    ticket = desk(at("2025-06-02 17:00"))  # a Monday, an hour before closing

    first, resolution = ticket.clock(ClockKind.FIRST_RESPONSE), ticket.clock(ClockKind.RESOLUTION)

    assert (first.state, first.policy_id, first.target_seconds) == (ClockState.RUNNING, "p3-normal", 8 * 3600)
    assert first.due_at == at("2025-06-03 15:00")
    assert resolution.due_at == at("2025-06-05 17:00")
    assert summary(ticket.clocks) == "ok"


def test_waiting_for_the_customer_pauses_the_clocks_and_the_answer_resumes_them() -> None:
    ticket = desk(at("2025-06-02 09:00"), status=Status.IN_PROGRESS)
    ticket.change(at("2025-06-02 11:00"), status=Status.PENDING_CUSTOMER)
    paused = ticket.clock(ClockKind.RESOLUTION)
    ticket.change(at("2025-06-03 11:00"), status=Status.IN_PROGRESS)

    assert (paused.state, paused.used_seconds, paused.due_at) == (ClockState.PAUSED, 2 * 3600, None)
    assert summary([paused]) == "paused"
    # 28 hours left from Tuesday 11:00: 7 on Tuesday, 10 each on Wednesday and Thursday, 1 on Friday.
    assert ticket.clock(ClockKind.RESOLUTION).due_at == at("2025-06-06 09:00")


def test_the_first_public_reply_meets_the_first_response_clock() -> None:
    ticket = desk(at("2025-06-02 09:00"))

    ticket.change(at("2025-06-02 10:30"), Activity.AGENT_REPLY, responded=True)

    first = ticket.clock(ClockKind.FIRST_RESPONSE)
    assert (first.state, first.used_seconds, first.stopped_at) == (ClockState.MET, 5400, at("2025-06-02 10:30"))
    assert ticket.clock(ClockKind.RESOLUTION).state is ClockState.RUNNING


def test_a_customer_message_after_the_first_reply_starts_a_next_response_clock() -> None:
    ticket = desk(at("2025-06-02 09:00"))
    ticket.change(at("2025-06-02 10:00"), Activity.AGENT_REPLY, responded=True)
    ticket.change(at("2025-06-02 15:00"), Activity.CUSTOMER_MESSAGE)
    ticket.change(at("2025-06-02 16:00"), Activity.CUSTOMER_MESSAGE)  # still waiting: no second clock

    following = [c for c in ticket.clocks if c.kind is ClockKind.NEXT_RESPONSE]
    assert len(following) == 1
    assert following[0].due_at == at("2025-06-03 09:00")  # 3 hours on Monday, 1 on Tuesday


def test_a_target_missed_breaches_the_clock_at_its_due_time() -> None:
    ticket = desk(at("2025-06-02 09:00"))

    ticket.change(at("2025-06-03 08:30"), team="escalations")

    first = ticket.clock(ClockKind.FIRST_RESPONSE)
    assert (first.state, first.breached_at, first.team) == (ClockState.BREACHED, at("2025-06-02 17:00"), "field")
    assert summary(ticket.clocks) == "breached"


def test_a_warning_is_reached_at_its_share_of_the_target() -> None:
    ticket = desk(at("2025-06-02 09:00"))
    first = ticket.clock(ClockKind.FIRST_RESPONSE)

    assert advance(first, office(), at("2025-06-02 14:59"), team="field").warned == 0
    assert advance(first, office(), at("2025-06-02 15:00"), team="field").warned == 75  # 6 of 8 hours


def test_resolving_stops_every_clock_and_reopening_starts_a_new_resolution_clock() -> None:
    ticket = desk(at("2025-06-02 09:00"), status=Status.IN_PROGRESS)
    ticket.change(at("2025-06-02 12:00"), status=Status.RESOLVED)
    ticket.change(at("2025-06-03 09:00"), status=Status.IN_PROGRESS)

    first, reopened = ticket.clock(ClockKind.RESOLUTION, 0), ticket.clock(ClockKind.RESOLUTION, 1)
    assert (first.state, first.used_seconds) == (ClockState.MET, 3 * 3600)
    assert ticket.clock(ClockKind.FIRST_RESPONSE).state is ClockState.MET
    assert (reopened.state, reopened.started_at, reopened.used_seconds) == (
        ClockState.RUNNING,
        at("2025-06-03 09:00"),
        0,
    )


def test_a_more_urgent_priority_retargets_the_running_clocks_keeping_the_time_used() -> None:
    ticket = desk(at("2025-06-02 09:00"))

    ticket.change(at("2025-06-02 13:00"), priority=2)

    resolution = ticket.clock(ClockKind.RESOLUTION)
    assert (resolution.policy_id, resolution.target_seconds, resolution.used_seconds) == (
        "p2-high",
        10 * 3600,
        4 * 3600,
    )
    assert resolution.due_at == at("2025-06-03 09:00")  # 5 of the 6 hours left on Monday


def test_a_retarget_below_the_time_already_used_breaches_at_once() -> None:
    ticket = desk(at("2025-06-02 09:00"))
    ticket.change(at("2025-06-03 12:00"), priority=2)  # 13 hours used; P2 allows 10

    resolution = ticket.clock(ClockKind.RESOLUTION)
    assert (resolution.state, resolution.breached_at) == (ClockState.BREACHED, at("2025-06-03 12:00"))


@st.composite
def pauses(draw: st.DrawFn) -> tuple[datetime, list[tuple[datetime, bool]], datetime]:
    """A creation moment, then (moment, pending?) status changes, then a moment to look at."""
    created = draw(moments)
    steps = draw(st.lists(st.integers(1, 12 * 60), max_size=6))
    changes, moment, pending = [], created, False
    for gap in steps:
        moment += gap * MINUTE
        pending = not pending
        changes.append((moment, pending))
    return created, changes, moment + draw(st.integers(0, 12 * 60)) * MINUTE


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars(), pauses(), st.integers(1, 8 * 60))
def test_a_clock_with_pauses_uses_exactly_the_open_minutes_while_not_pending(
    calendar: BusinessCalendar, timeline: tuple[datetime, list[tuple[datetime, bool]], datetime], target: int
) -> None:
    created, changes, look = timeline
    rules = Rules(replace(calendar, calendar_id="office-berlin"), [policy("p3", resolution_seconds=target * 60)])
    ticket = Desk(rules, created, status=Status.IN_PROGRESS)
    for moment, pending in changes:
        ticket.change(moment, status=Status.PENDING_PARTS if pending else Status.IN_PROGRESS)
    seen = view(ticket.clock(ClockKind.RESOLUTION), rules.the_calendar, look, team="field")

    # The reference: count open, not-pending minutes until the target is used up.
    used, breached_at, switches = 0, None, dict(changes)
    pending = False
    for minute in minutes(created, look):
        pending = switches.get(minute, pending)
        if not pending and ref_open(rules.the_calendar, minute):
            used += 60
            if used == target * 60:
                breached_at = minute + MINUTE
                break
    pending = changes[-1][1] if changes else False  # as of look, which no change comes after
    if breached_at is not None and breached_at <= look:
        assert (seen.state, seen.breached_at, seen.used_seconds) == (ClockState.BREACHED, breached_at, target * 60)
    else:
        assert seen.used_seconds == used
        assert seen.state is (ClockState.PAUSED if pending else ClockState.RUNNING)
        if not pending:
            assert seen.due_at == ref_add(rules.the_calendar, look, target * 60 - used)
        assert seen.warned == (used >= -(-target * 60 * 75 // 100))
