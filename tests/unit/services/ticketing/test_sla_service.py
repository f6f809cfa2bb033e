"""The SLA engine at work on real tickets: clocks follow the desk's use cases, timers announce warnings
and breaches and escalate, and the clocks rebuilt from history agree with the live ones.

The desk starts with the seeded defaults: P3 answers within 8 and resolves within 30 business hours
(Monday to Friday 08:00-18:00 UTC), P2 within 2 and 10, P1 within 1 and 4 hours around the clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from services.ticketing.api.sla import SlaApi
from services.ticketing.domain.calendars import Span
from services.ticketing.domain.lifecycle import THE_DESK, Actor
from services.ticketing.domain.sla import ClockKind, ClockState, ClockView, SlaPolicy, summary
from services.ticketing.domain.tickets import Status, Ticket
from services.ticketing.service import sla, tickets
from services.ticketing.service.sla import CLOCK_TIMER
from services.ticketing.store.history import HistoryStore
from services.ticketing.store.sla import SlaStore
from switchboard import context, envelope, timers
from switchboard.common.v1 import common_pb2
from switchboard.composition import Runtime
from switchboard.context import Caller, WorkContext
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.db.tables import timers as timers_table
from switchboard.db.uow import UnitOfWork
from switchboard.errors import Aborted, AlreadyExists, FailedPrecondition, InvalidArgument, PermissionDenied
from switchboard.events.v1 import ticketing_events_pb2 as events
from switchboard.settings import Settings
from switchboard.ticketing.v1 import sla_pb2
from switchboard.timers import TimerLoop
from tests.unit.builders import TICKETING_MIGRATIONS, OpenDb, new_ticket, rows

MONDAY = datetime(2030, 6, 3, 9, 0, tzinfo=UTC)  # after the seeded policies took effect
HOUR = timedelta(hours=1)
ALICE = Actor("alice", frozenset({"agent"}))
SAM = Actor("sam", frozenset({"supervisor", "agent"}))


class Clock:
    """The desk's time, moved by the test. Like a real clock it moves on a little at every reading."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=500)
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    return open_db("ticketing", TICKETING_MIGRATIONS)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    desk_time = Clock(MONDAY)
    monkeypatch.setattr(tickets, "utcnow", desk_time)
    monkeypatch.setattr(sla, "utcnow", desk_time)
    return desk_time


class Desk:
    """The desk's use cases in units of work, the timer loop on the test's clock, and what came out."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock
        self.loop = TimerLoop(db, lambda: UnitOfWork(db), {CLOCK_TIMER: sla.on_clock_timer}, clock=clock)

    def create(self, **fields: Any) -> Ticket:
        with UnitOfWork(self.db) as uow:
            ticket = tickets.create_ticket(uow, new_ticket(**fields))
            uow.commit()
        return ticket

    def do(self, use_case: Any, *args: Any, **kwargs: Any) -> Any:
        with UnitOfWork(self.db) as uow:
            result = use_case(uow, *args, **kwargs)
            uow.commit()
        return result

    def ticket(self, ticket_id: str) -> Ticket:
        return self.do(tickets.load, ticket_id)  # type: ignore[no-any-return]

    def clocks(self, ticket_id: str) -> dict[ClockKind, ClockView]:
        return {c.kind: c for c in self.do(sla.clocks_of, ticket_id)}

    def wait(self, delta: timedelta) -> None:
        """Let time pass, running each timer at its moment as the loop would."""
        until = self.clock.now + delta
        while (due := self.loop.next_due()) is not None and due <= until:
            self.clock.now = max(self.clock.now, due)
            self.loop.fire_due()
        self.clock.now = max(self.clock.now, until)

    def events(self, event_type: str) -> list[Any]:
        found = [r for r in rows(self.db, outbox) if r.routing_key == event_type]
        return [envelope.decode(r.body, r.content_type).payload for r in found]

    def timer(self, clock_id: str) -> timers.Timer | None:
        with self.db.sessions() as session:
            return timers.pending(session, "ticketing", CLOCK_TIMER, clock_id)


@pytest.fixture
def desk(db: Database, clock: Clock) -> Desk:
    return Desk(db, clock)


def clock_id(desk: Desk, ticket_id: str, kind: ClockKind) -> str:
    with UnitOfWork(desk.db) as uow:
        return next(c.clock_id for c in SlaStore(uow.session).clocks(ticket_id) if c.kind is kind)


def test_a_new_ticket_runs_the_policy_of_its_priority_and_waits_for_its_first_warning(desk: Desk) -> None:
    ticket = desk.create()

    clocks = desk.clocks(ticket.ticket_id)
    first, resolution = clocks[ClockKind.FIRST_RESPONSE], clocks[ClockKind.RESOLUTION]
    assert (first.policy_id, first.state, first.target_seconds) == ("p3-normal", ClockState.RUNNING, 8 * 3600)
    assert first.due_at == ticket.created_at + 8 * HOUR  # Monday 17:00
    assert resolution.due_at == ticket.created_at + 3 * 24 * HOUR  # 30 business hours: Thursday 09:00
    assert desk.ticket(ticket.ticket_id).sla_state == "ok"
    timer = desk.timer(clock_id(desk, ticket.ticket_id, ClockKind.FIRST_RESPONSE))
    assert timer is not None and timer.due_at == ticket.created_at + 6 * HOUR  # 75% of 8 hours


def test_the_first_public_reply_meets_the_first_response_and_removes_its_timer(desk: Desk) -> None:
    ticket = desk.create()
    desk.clock.advance(2 * HOUR)

    desk.do(tickets.add_comment, ticket.ticket_id, public=True, body="We are on it", from_customer=False, actor=ALICE)

    first = desk.clocks(ticket.ticket_id)[ClockKind.FIRST_RESPONSE]
    assert (first.state, first.used_seconds) == (ClockState.MET, 2 * 3600)
    assert desk.timer(clock_id(desk, ticket.ticket_id, ClockKind.FIRST_RESPONSE)) is None
    assert desk.ticket(ticket.ticket_id).sla_state == "ok"


def test_an_internal_note_is_not_a_response(desk: Desk) -> None:
    ticket = desk.create()

    desk.do(tickets.add_comment, ticket.ticket_id, public=False, body="Call back?", from_customer=False, actor=ALICE)

    assert desk.clocks(ticket.ticket_id)[ClockKind.FIRST_RESPONSE].state is ClockState.RUNNING


def test_waiting_for_the_customer_pauses_every_clock_and_their_answer_resumes_them(desk: Desk) -> None:
    ticket = desk.create()
    desk.do(tickets.assign, ticket.ticket_id, team="field", assignee="alice", actor=ALICE)
    desk.do(tickets.transition, ticket.ticket_id, to=Status.IN_PROGRESS, actor=ALICE)
    desk.clock.advance(HOUR)
    desk.do(tickets.transition, ticket.ticket_id, to=Status.PENDING_CUSTOMER, actor=ALICE)

    paused = desk.clocks(ticket.ticket_id)
    assert {c.state for c in paused.values()} == {ClockState.PAUSED}
    assert desk.ticket(ticket.ticket_id).sla_state == "paused"
    assert desk.timer(clock_id(desk, ticket.ticket_id, ClockKind.RESOLUTION)) is None

    desk.clock.advance(24 * HOUR)
    desk.do(tickets.add_comment, ticket.ticket_id, public=True, body="Still leaking", from_customer=True, actor=ALICE)

    resumed = desk.clocks(ticket.ticket_id)
    assert resumed[ClockKind.RESOLUTION].state is ClockState.RUNNING
    assert resumed[ClockKind.RESOLUTION].used_seconds == pytest.approx(3600, abs=1)
    assert desk.timer(clock_id(desk, ticket.ticket_id, ClockKind.RESOLUTION)) is not None


def test_the_warning_is_announced_at_its_share_of_the_target(desk: Desk) -> None:
    ticket = desk.create(team="field")

    desk.wait(6 * HOUR + timedelta(seconds=1))

    (warning,) = desk.events("ticket.sla_warning")
    assert (warning.ticket_id, warning.clock, warning.percent) == (
        ticket.ticket_id,
        events.SLA_CLOCK_KIND_FIRST_RESPONSE,
        75,
    )
    assert (warning.policy_id, warning.team, warning.priority) == ("p3-normal", "field", 3)
    assert warning.due_at.ToDatetime(tzinfo=UTC) == ticket.created_at + 8 * HOUR
    fired_late = warning.fired_at.ToDatetime(tzinfo=UTC) - (ticket.created_at + 6 * HOUR)
    assert timedelta(0) <= fired_late < timedelta(seconds=1)
    assert desk.ticket(ticket.ticket_id).sla_state == "warning"


def test_a_breach_escalates_the_ticket_and_is_announced_with_its_escalation_queue(desk: Desk) -> None:
    ticket = desk.create(team="field", required_skills=("plumbing",), language="de")

    desk.wait(8 * HOUR + timedelta(seconds=1))

    (breach,) = desk.events("ticket.sla_breached")
    assert (breach.clock, breach.policy_id, breach.escalation_queue) == (
        events.SLA_CLOCK_KIND_FIRST_RESPONSE,
        "p3-normal",
        "escalations",
    )
    assert (breach.priority, breach.previous_priority, breach.team) == (2, 3, "field")
    assert (list(breach.required_skills), breach.language) == (["plumbing"], "de")
    assert breach.due_at.ToDatetime(tzinfo=UTC) == ticket.created_at + 8 * HOUR
    escalated = desk.ticket(ticket.ticket_id)
    assert (escalated.priority, escalated.sla_state) == (2, "breached")


def test_the_escalation_is_in_the_history_and_retargets_the_other_clocks(desk: Desk) -> None:
    ticket = desk.create()

    desk.wait(8 * HOUR + timedelta(seconds=1))

    with UnitOfWork(desk.db) as uow:
        entries = [e for e in HistoryStore(uow.session).of(ticket.ticket_id) if e.field == "priority"]
    assert [(e.old_value, e.new_value, e.actor) for e in entries] == [("3", "2", "system")]
    assert "first response target of policy p3-normal missed" in entries[0].reason
    resolution = desk.clocks(ticket.ticket_id)[ClockKind.RESOLUTION]
    assert (resolution.policy_id, resolution.target_seconds) == ("p2-high", 10 * 3600)
    # 8 hours used on Monday, 2 left: the last hour of Monday and the first of Tuesday.
    assert resolution.due_at == pytest.approx(ticket.created_at + 24 * HOUR, abs=timedelta(seconds=1))


def test_a_p1_breach_is_announced_and_stays_p1(desk: Desk) -> None:
    ticket = desk.create(priority=1)

    desk.wait(HOUR + timedelta(seconds=1))

    (breach,) = desk.events("ticket.sla_breached")
    assert (breach.priority, breach.previous_priority) == (1, 1)
    assert desk.ticket(ticket.ticket_id).priority == 1


def test_resolving_stops_every_clock_and_its_timers(desk: Desk) -> None:
    ticket = desk.create()
    desk.clock.advance(3 * HOUR)

    desk.do(tickets.transition, ticket.ticket_id, to=Status.RESOLVED, actor=ALICE, resolution_code="repaired")

    assert {c.state for c in desk.clocks(ticket.ticket_id).values()} == {ClockState.MET}
    assert desk.ticket(ticket.ticket_id).sla_state == "met"
    desk.wait(10 * 24 * HOUR)
    assert desk.events("ticket.sla_warning") == desk.events("ticket.sla_breached") == []


def test_a_better_customer_tier_moves_the_ticket_to_that_tiers_policy(desk: Desk) -> None:
    gold = SlaPolicy(
        policy_id="p3-gold",
        priority=3,
        customer_tier="gold",
        calendar_id="business-hours",
        first_response_seconds=2 * 3600,
        resolution_seconds=10 * 3600,
    )
    desk.do(sla.put_policy, gold, expected_revision=0, by="sam")
    ticket = desk.create()
    desk.clock.advance(HOUR)

    stored = desk.ticket(ticket.ticket_id)
    desk.do(tickets.save, stored, replace(stored, customer_tier="platinum"), actor=THE_DESK, reason="tier changed")

    first = desk.clocks(ticket.ticket_id)[ClockKind.FIRST_RESPONSE]
    assert (first.policy_id, first.target_seconds) == ("p3-gold", 2 * 3600)
    assert first.due_at == pytest.approx(ticket.created_at + 2 * HOUR, abs=timedelta(seconds=1))


def test_a_calendar_change_applies_from_the_next_segment_and_history_still_agrees(desk: Desk) -> None:
    ticket = desk.create()
    desk.do(tickets.assign, ticket.ticket_id, team="field", assignee="alice", actor=ALICE)
    desk.do(tickets.transition, ticket.ticket_id, to=Status.IN_PROGRESS, actor=ALICE)
    before = desk.clocks(ticket.ticket_id)[ClockKind.RESOLUTION].due_at
    with UnitOfWork(desk.db) as uow:
        (hours, _) = SlaStore(uow.session).calendar("business-hours") or (None, None)
    assert hours is not None
    longer = replace(hours, week=tuple((Span(7 * 60, 19 * 60),) if d < 5 else () for d in range(7)))
    desk.do(sla.put_calendar, longer, expected_revision=1, by="sam")

    assert desk.clocks(ticket.ticket_id)[ClockKind.RESOLUTION].due_at == before
    desk.clock.advance(HOUR)
    desk.do(tickets.transition, ticket.ticket_id, to=Status.PENDING_PARTS, actor=ALICE)
    desk.clock.advance(HOUR)
    desk.do(tickets.transition, ticket.ticket_id, to=Status.IN_PROGRESS, actor=ALICE)

    resumed = desk.clocks(ticket.ticket_id)[ClockKind.RESOLUTION]
    assert resumed.due_at is not None and before is not None and resumed.due_at < before + HOUR
    state = desk.do(sla.sla_state, ticket.ticket_id)
    assert state.live == state.recomputed


def test_policies_and_calendars_change_by_compare_and_set(desk: Desk) -> None:
    with UnitOfWork(desk.db) as uow:
        (p3, _) = SlaStore(uow.session).policy("p3-normal") or (None, None)
    assert p3 is not None

    changed, stamp = desk.do(sla.put_policy, replace(p3, resolution_seconds=40 * 3600), expected_revision=1, by="sam")

    assert (changed.revision, changed.resolution_seconds, stamp.updated_by) == (2, 40 * 3600, "sam")
    with pytest.raises(Aborted, match="revision 1"):
        desk.do(sla.put_policy, p3, expected_revision=1, by="sam")
    with pytest.raises(AlreadyExists):
        desk.do(sla.put_policy, p3, expected_revision=0, by="sam")


def test_a_policy_needs_an_existing_calendar_and_its_own_priority_and_tier(desk: Desk) -> None:
    lost = SlaPolicy(policy_id="p3-lost", priority=3, calendar_id="nowhere", resolution_seconds=3600)
    twin = SlaPolicy(policy_id="p3-twin", priority=3, calendar_id="24x7", resolution_seconds=3600)

    with pytest.raises(InvalidArgument, match="nowhere"):
        desk.do(sla.put_policy, lost, expected_revision=0, by="sam")
    with pytest.raises(FailedPrecondition, match="p3-normal"):
        desk.do(sla.put_policy, twin, expected_revision=0, by="sam")
    desk.do(sla.put_policy, replace(twin, active=False), expected_revision=0, by="sam")


# The live clocks and the clocks rebuilt from history agree, whatever happens to the ticket.

OPERATIONS = (
    "reply",
    "customer",
    "note",
    "assign",
    "start",
    "pending_customer",
    "pending_parts",
    "resume",
    "resolve",
    "reopen",
    "close",
    "cancel",
    "more_urgent",
    "less_urgent",
    "tier",
    "team",
)


def _apply(desk: Desk, ticket_id: str, operation: str, choice: int) -> None:
    current = desk.ticket(ticket_id)
    comment = {"public": True, "body": "Hello", "actor": ALICE}
    moves = {
        "start": Status.IN_PROGRESS,
        "pending_customer": Status.PENDING_CUSTOMER,
        "pending_parts": Status.PENDING_PARTS,
        "resume": Status.IN_PROGRESS,
        "close": Status.CLOSED,
    }
    if operation == "reply":
        desk.do(tickets.add_comment, ticket_id, from_customer=False, **comment)
    elif operation == "customer":
        desk.do(tickets.add_comment, ticket_id, from_customer=True, **comment)
    elif operation == "note":
        desk.do(tickets.add_comment, ticket_id, public=False, body="note", from_customer=False, actor=ALICE)
    elif operation == "assign":
        desk.do(tickets.assign, ticket_id, team=current.team or "field", assignee="alice", actor=SAM)
    elif operation in moves:
        desk.do(tickets.transition, ticket_id, to=moves[operation], actor=SAM)
    elif operation == "resolve":
        desk.do(tickets.transition, ticket_id, to=Status.RESOLVED, actor=SAM, resolution_code="repaired")
    elif operation == "reopen":
        desk.do(tickets.transition, ticket_id, to=Status.TRIAGED, actor=SAM, reason="still broken")
    elif operation == "cancel":
        desk.do(tickets.transition, ticket_id, to=Status.CANCELLED, actor=SAM, reason="duplicate call")
    elif operation in ("more_urgent", "less_urgent"):
        priority = max(1, min(4, current.priority + (-1 if operation == "more_urgent" else 1)))
        desk.do(tickets.update_fields, ticket_id, version=current.version, values={"priority": priority}, actor=SAM)
    elif operation == "tier":
        tier = ("", "standard", "silver", "gold", "platinum")[choice % 5]
        desk.do(tickets.save, current, replace(current, customer_tier=tier), actor=THE_DESK, reason="tier")
    elif operation == "team":
        desk.do(tickets.assign, ticket_id, team=("field", "remote")[choice % 2], assignee="", actor=SAM)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    priority=st.integers(1, 4),
    steps=st.lists(
        st.tuples(st.integers(0, 12 * 60), st.sampled_from(OPERATIONS), st.integers(0, 9)), min_size=1, max_size=20
    ),
    look=st.integers(0, 48 * 60),
)
def test_the_clocks_rebuilt_from_history_agree_with_the_live_clocks(
    desk: Desk, priority: int, steps: list[tuple[int, str, int]], look: int
) -> None:
    with desk.db.engine.begin() as connection:
        connection.execute(delete(timers_table))  # earlier examples' tickets
    desk.clock.now = MONDAY
    ticket = desk.create(priority=priority)
    for minutes, operation, choice in steps:
        desk.wait(timedelta(minutes=minutes))
        with contextlib.suppress(FailedPrecondition, PermissionDenied):  # the lifecycle refused: nothing changed
            _apply(desk, ticket.ticket_id, operation, choice)
    desk.wait(timedelta(minutes=look))

    state = desk.do(sla.sla_state, ticket.ticket_id)

    assert state.live == state.recomputed, f"live {state.live}\nrecomputed {state.recomputed}"
    assert desk.ticket(ticket.ticket_id).sla_state == summary(state.live)


# The API: who may change what, and the messages.

SUPERVISOR = Caller(subject="sam", roles=frozenset({"supervisor"}))


@pytest.fixture
def api(db: Database, settings: Settings) -> Iterator[SlaApi]:
    with context.working(WorkContext(correlation_id="corr-sla", causation_id="", caller=SUPERVISOR, deadline=None)):
        yield SlaApi(Runtime(settings=settings, db=db))


def test_put_calendar_answers_with_the_stored_revision(api: SlaApi) -> None:
    request = sla_pb2.PutCalendarRequest(
        idempotency_key="cal-berlin-0001",
        calendar=sla_pb2.BusinessCalendar(
            calendar_id="office-berlin",
            name="Berlin office",
            time_zone="Europe/Berlin",
            hours=[sla_pb2.OpeningSpan(weekday=d, opens="08:00", closes="18:00") for d in range(1, 6)],
            holidays=["2030-12-24"],
            holiday_country="DE",
            holiday_subdivision="BE",
        ),
    )

    stored = api.PutCalendar(request, None).calendar  # type: ignore[arg-type]

    assert (stored.revision, stored.updated_by, stored.time_zone) == (1, "sam", "Europe/Berlin")
    assert [(s.weekday, s.opens, s.closes) for s in stored.hours] == [(d, "08:00", "18:00") for d in range(1, 6)]
    assert api.PutCalendar(request, None) == sla_pb2.PutCalendarResponse(calendar=stored)  # type: ignore[arg-type]
    listed = api.ListCalendars(sla_pb2.ListCalendarsRequest(page_size=2), None)  # type: ignore[arg-type]
    assert [c.calendar_id for c in listed.calendars] == ["24x7", "business-hours"]
    rest = api.ListCalendars(sla_pb2.ListCalendarsRequest(page_token=listed.next_page_token), None)  # type: ignore[arg-type]
    assert [c.calendar_id for c in rest.calendars] == ["office-berlin"]


def test_a_calendar_in_an_unknown_zone_is_an_invalid_argument(api: SlaApi) -> None:
    request = sla_pb2.PutCalendarRequest(
        idempotency_key="cal-mars-0001",
        calendar=sla_pb2.BusinessCalendar(
            calendar_id="mars",
            time_zone="Mars/Olympus",
            hours=[sla_pb2.OpeningSpan(weekday=1, opens="08:00", closes="18:00")],
        ),
    )

    with pytest.raises(InvalidArgument, match="Mars/Olympus"):
        api.PutCalendar(request, None)  # type: ignore[arg-type]


def test_list_policies_shows_the_seeded_defaults(api: SlaApi) -> None:
    listed = api.ListPolicies(sla_pb2.ListPoliciesRequest(), None)  # type: ignore[arg-type]

    assert [(p.policy_id, p.priority, p.calendar_id) for p in listed.policies] == [
        ("p1-critical", common_pb2.PRIORITY_P1, "24x7"),
        ("p2-high", common_pb2.PRIORITY_P2, "business-hours"),
        ("p3-normal", common_pb2.PRIORITY_P3, "business-hours"),
        ("p4-low", common_pb2.PRIORITY_P4, "business-hours"),
    ]
    assert listed.next_page_token == ""


def test_get_sla_state_shows_live_and_recomputed_clocks_that_agree(api: SlaApi, db: Database) -> None:
    with UnitOfWork(db) as uow:
        ticket = tickets.create_ticket(uow, new_ticket(priority=1))
        uow.commit()

    answer = api.GetSlaState(sla_pb2.GetSlaStateRequest(ticket_id=ticket.ticket_id), None)  # type: ignore[arg-type]

    assert answer.agree and answer.sla_state == "ok"
    assert [(c.kind, c.policy_id, c.target_seconds) for c in answer.live] == [
        (events.SLA_CLOCK_KIND_FIRST_RESPONSE, "p1-critical", 3600),
        (events.SLA_CLOCK_KIND_RESOLUTION, "p1-critical", 4 * 3600),
    ]
    assert list(answer.recomputed) == list(answer.live)


def test_only_supervisors_may_change_policies_and_calendars() -> None:
    from services.ticketing.api.sla import PERMISSIONS

    assert PERMISSIONS["PutPolicy"] == PERMISSIONS["PutCalendar"] == frozenset({"supervisor"})  # admins always may
    assert "agent" in PERMISSIONS["GetSlaState"] and "agent" in PERMISSIONS["ListPolicies"]
