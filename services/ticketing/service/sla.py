"""The SLA engine's use cases: keep a ticket's clocks in step with its changes, announce warnings
and breaches when their timers fall due (escalating a breached ticket), rebuild the clocks from
history, and manage the calendars and policies.

Every function runs in its caller's unit of work: the clocks, their timers, the ticket's summary
and the events commit together with the change that moved them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

import services.ticketing.service.tickets as desk  # escalation saves through the desk, which calls track
from services.ticketing.domain.calendars import BusinessCalendar
from services.ticketing.domain.lifecycle import THE_DESK
from services.ticketing.domain.sla import (
    Change,
    Clock,
    ClockKind,
    ClockState,
    ClockView,
    Facts,
    SlaPolicy,
    advance,
    pick_policy,
    react,
    summary,
    view,
)
from services.ticketing.domain.tickets import OPEN_STATUSES, Activity, Status, Ticket
from services.ticketing.store.conversation import ConversationStore
from services.ticketing.store.history import HistoryEntry, HistoryStore
from services.ticketing.store.sla import CalendarRevision, PolicyRevision, SlaStore, Stamped
from services.ticketing.store.tickets import TicketStore
from switchboard import timers
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from switchboard.events.v1 import ticketing_events_pb2 as events
from switchboard.ids import new_id
from switchboard.timers import RetryLater, Timer
from switchboard.timestamps import timestamp

# The timer kind of an SLA clock; its key is the clock id.
CLOCK_TIMER = "sla_clock"


def clock_kind_value(kind: ClockKind) -> events.SlaClockKind.ValueType:
    return events.SlaClockKind.Value(f"SLA_CLOCK_KIND_{kind.value.upper()}")


# Rules: the policies and calendars in force, now or at a moment of a ticket's past.


class LiveRules:
    """The current policies and calendars, read as needed within one unit of work."""

    def __init__(self, store: SlaStore) -> None:
        self.store = store
        self._revisions: dict[tuple[str, int], BusinessCalendar] = {}

    def policy(self, priority: int, tier: str, at: datetime) -> SlaPolicy | None:
        return pick_policy(self.store.active_policies(priority), priority, tier)

    def calendar(self, calendar_id: str, at: datetime) -> BusinessCalendar:
        found = self.store.calendar(calendar_id)
        if found is None:
            raise FailedPrecondition(f"SLA calendar {calendar_id!r} does not exist; put it before a policy uses it")
        return found[0]

    def calendar_revision(self, calendar_id: str, revision: int) -> BusinessCalendar:
        key = (calendar_id, revision)
        if key not in self._revisions:
            found = self.store.calendar_revision(calendar_id, revision)
            if found is None:
                raise FailedPrecondition(f"SLA calendar {calendar_id!r} has no revision {revision}")
            self._revisions[key] = found
        return self._revisions[key]


class HistoricRules:
    """The policies and calendars as they were at each moment: every revision, by when it took effect."""

    def __init__(self, policies: list[PolicyRevision], calendars: list[CalendarRevision]) -> None:
        self._policies: dict[str, list[PolicyRevision]] = defaultdict(list)
        for p in policies:
            self._policies[p.policy.policy_id].append(p)
        self._calendars: dict[str, list[CalendarRevision]] = defaultdict(list)
        for c in calendars:
            self._calendars[c.calendar.calendar_id].append(c)

    def policy(self, priority: int, tier: str, at: datetime) -> SlaPolicy | None:
        then = [_in_force(revisions, at) for revisions in self._policies.values()]
        return pick_policy([r.policy for r in then if r is not None], priority, tier)

    def calendar(self, calendar_id: str, at: datetime) -> BusinessCalendar:
        revisions = self._calendars.get(calendar_id)
        if not revisions:
            raise FailedPrecondition(f"SLA calendar {calendar_id!r} does not exist")
        found = _in_force(revisions, at)
        return (found or revisions[0]).calendar

    def calendar_revision(self, calendar_id: str, revision: int) -> BusinessCalendar:
        for candidate in self._calendars.get(calendar_id, []):
            if candidate.calendar.revision == revision:
                return candidate.calendar
        raise FailedPrecondition(f"SLA calendar {calendar_id!r} has no revision {revision}")


_Revision = TypeVar("_Revision", PolicyRevision, CalendarRevision)


def _in_force(revisions: list[_Revision], at: datetime) -> _Revision | None:
    found = None
    for revision in revisions:  # in revision order
        if revision.valid_from <= at:
            found = revision
    return found


# Tracking: the live engine.


def facts_of(ticket: Ticket) -> Facts:
    return Facts(
        status=ticket.status,
        priority=ticket.priority,
        customer_tier=ticket.customer_tier,
        team=ticket.team,
        responded=ticket.first_response_at is not None,
    )


def track(uow: UnitOfWork, before: Ticket | None, after: Ticket, *, activity: Activity | None, at: datetime) -> str:
    """Move the ticket's clocks through one saved change (``before`` None: it was just created);
    answer the ticket's SLA state (its sla_state column) as the clocks left it.

    ``at`` must be the moment the change is recorded at (its history rows' changed_at, its
    comment's created_at): recomputing from history replays the change at that moment.
    """
    store = SlaStore(uow.session)
    rules = LiveRules(store)
    clocks = [] if before is None else store.clocks(after.ticket_id, for_update=True)
    change = Change(None if before is None else facts_of(before), facts_of(after), activity, at)
    result = react(clocks, change, rules, ticket_id=after.ticket_id, new_id=new_id)
    known = {c.clock_id for c in clocks}
    for clock in store.save_clocks(clocks, result):
        _set_timer(uow, clock, rules, new=clock.clock_id not in known)
    state = summary(result)
    if state != after.sla_state:
        TicketStore(uow.session).set_sla_state(after.ticket_id, state)
    return state


def _set_timer(uow: UnitOfWork, clock: Clock, rules: LiveRules, *, new: bool) -> None:
    alarm = clock.next_alarm(rules.calendar_revision(clock.calendar_id, clock.calendar_revision))
    if alarm is not None:
        timers.schedule(uow, CLOCK_TIMER, clock.clock_id, alarm, {"ticket_id": clock.ticket_id})
    elif not new:
        timers.cancel(uow, CLOCK_TIMER, clock.clock_id)


def on_clock_timer(uow: UnitOfWork, timer: Timer) -> None:
    """A clock's moment came: announce the warning or breach it reached, escalate a breach, look again later."""
    store = SlaStore(uow.session)
    ticket_id = str(timer.payload["ticket_id"])
    if not store.lock_ticket_now(ticket_id):  # the ticket first, as save locks it
        raise RetryLater(f"ticket {ticket_id} is being changed")
    ticket = desk.load(uow, ticket_id)
    clocks = store.clocks(ticket.ticket_id, for_update=True)
    clock = next((c for c in clocks if c.clock_id == timer.key), None)
    if clock is None:
        return
    now = utcnow()
    rules = LiveRules(store)
    calendar = rules.calendar_revision(clock.calendar_id, clock.calendar_revision)
    reached = advance(clock, calendar, now, team=ticket.team)
    announced = reached
    if reached.state is ClockState.BREACHED and not reached.breach_announced:
        announced = replace(reached, breach_announced=True, announced_warning=reached.warned)
    elif reached.is_open and reached.warned > reached.announced_warning:
        announced = replace(reached, announced_warning=reached.warned)
    store.save_clocks([clock], [announced])
    _set_timer(uow, announced, rules, new=True)  # the loop deleted the timer it runs
    if announced.breach_announced and not clock.breach_announced:
        _breached(uow, ticket, announced, store, now)  # its escalation saves the ticket: track sets the summary
        return
    if announced.announced_warning > clock.announced_warning:
        _warned(uow, ticket, announced, now)
    state = summary([announced if c.clock_id == clock.clock_id else c for c in clocks])
    if state != ticket.sla_state:
        TicketStore(uow.session).set_sla_state(ticket.ticket_id, state)


def _warned(uow: UnitOfWork, ticket: Ticket, clock: Clock, now: datetime) -> None:
    uow.emit(
        events.TicketSlaWarning(
            ticket_id=ticket.ticket_id,
            number=ticket.number,
            customer_id=ticket.customer_id,
            clock=clock_kind_value(clock.kind),
            policy_id=clock.policy_id,
            percent=clock.warned,
            due_at=timestamp(clock.due_at) if clock.due_at else None,
            fired_at=timestamp(now),
            team=ticket.team,
            assignee=ticket.assignee,
            priority=ticket.priority,  # type: ignore[arg-type]
        ),
        customer_id=ticket.customer_id,
    )


def _breached(uow: UnitOfWork, ticket: Ticket, clock: Clock, store: SlaStore, now: datetime) -> None:
    """Escalate (one priority step more urgent, if the ticket is still open) and tell everyone."""
    found = store.policy(clock.policy_id)
    queue = found[0].escalation_queue if found else ""
    previous, current = ticket.priority, ticket
    escalating = ticket.status in OPEN_STATUSES and ticket.priority > 1
    if not escalating and ticket.sla_state != "breached":
        TicketStore(uow.session).set_sla_state(ticket.ticket_id, "breached")
    if escalating:
        current = desk.save(
            uow,
            ticket,
            replace(ticket, priority=ticket.priority - 1),
            actor=THE_DESK,
            reason=(
                f"SLA {clock.kind.value.replace('_', ' ')} target of policy {clock.policy_id} missed: "
                f"escalated from P{previous} to P{previous - 1}" + (f" for queue {queue}" if queue else "")
            ),
        )
    uow.emit(
        events.TicketSlaBreached(
            ticket_id=current.ticket_id,
            number=current.number,
            customer_id=current.customer_id,
            clock=clock_kind_value(clock.kind),
            policy_id=clock.policy_id,
            due_at=timestamp(clock.breached_at) if clock.breached_at else None,
            fired_at=timestamp(now),
            team=current.team,
            assignee=current.assignee,
            priority=current.priority,  # type: ignore[arg-type]
            previous_priority=previous,  # type: ignore[arg-type]
            escalation_queue=queue,
            required_skills=current.required_skills,
            language=current.language,
        ),
        customer_id=current.customer_id,
    )


# Reading: the live clocks, and the same rebuilt from history.


def _ticket(uow: UnitOfWork, ticket_id: str) -> Ticket:
    ticket = TicketStore(uow.session).get(ticket_id)
    if ticket is None:
        raise NotFound("ticket", ticket_id)
    return ticket


def _ordered(views: list[ClockView]) -> list[ClockView]:
    return sorted(views, key=lambda v: (v.started_at, list(ClockKind).index(v.kind)))


def clocks_of(uow: UnitOfWork, ticket_id: str, *, as_of: datetime | None = None) -> list[ClockView]:
    """The ticket's clocks as stored, seen at ``as_of`` (now): what GetTicket shows."""
    ticket = _ticket(uow, ticket_id)
    as_of = as_of or utcnow()
    rules = LiveRules(SlaStore(uow.session))
    return _ordered(
        [
            view(c, rules.calendar_revision(c.calendar_id, c.calendar_revision), as_of, team=ticket.team)
            for c in SlaStore(uow.session).clocks(ticket_id)
        ]
    )


_TRACKED = ("status", "priority", "customer_tier", "team", "first_response_at")


def _value(field: str, text: str) -> object:
    if field == "status":
        return Status(text)
    if field == "priority":
        return int(text)
    if field == "first_response_at":
        return text != ""  # as the fact it feeds: responded
    return text


@dataclass(frozen=True)
class _Moment:
    at: datetime
    changes: dict[str, str]
    activity: Activity | None
    version: int


def _moments(entries: list[HistoryEntry], comments: list[tuple[datetime, Activity]]) -> list[_Moment]:
    """The ticket's saved changes in order: the history rows of one save share its version and
    changed_at, and a comment belongs to the save recorded at its created_at (a reply that changed
    no field left no history: it is a moment of its own)."""
    moments: list[_Moment] = []
    for entry in entries:  # oldest first
        if not moments or (moments[-1].version, moments[-1].at) != (entry.version, entry.changed_at):
            moments.append(_Moment(entry.changed_at, {}, None, entry.version))
        if entry.field in _TRACKED:
            moments[-1].changes[entry.field] = entry.new_value
    for at, activity in comments:
        same = [i for i, m in enumerate(moments) if m.at == at and m.activity is None]
        if same:
            moments[same[-1]] = replace(moments[same[-1]], activity=activity)
        else:
            moments.append(_Moment(at, {}, activity, -1))
    return sorted(moments, key=lambda m: m.at)  # stable: one instant's saves keep their order


def recompute(uow: UnitOfWork, ticket_id: str, *, as_of: datetime | None = None) -> list[ClockView]:
    """The ticket's clocks rebuilt from its history and conversation under the policies and calendars
    then in force, seen at ``as_of`` (now). Agrees with ``clocks_of``."""
    ticket = _ticket(uow, ticket_id)
    as_of = as_of or utcnow()
    store = SlaStore(uow.session)
    rules = HistoricRules(store.policy_revisions(), store.calendar_revisions())
    entries = HistoryStore(uow.session).of(ticket_id)
    comments = [
        (c.created_at, Activity.CUSTOMER_MESSAGE if c.from_customer else Activity.AGENT_REPLY)
        for c in ConversationStore(uow.session).written_on(ticket_id)
        if c.from_customer or c.visibility == "public"
    ]
    current = {
        "status": ticket.status,
        "priority": ticket.priority,
        "customer_tier": ticket.customer_tier,
        "team": ticket.team,
        "first_response_at": ticket.first_response_at is not None,
    }
    # Created with the values each field had before its first recorded change.
    initial = dict(current)
    for entry in reversed(entries):
        if entry.field in _TRACKED:
            initial[entry.field] = _value(entry.field, entry.old_value)
    facts = _facts(initial)
    counter = iter(range(1, 1_000_000))
    clocks = react(
        [], Change(None, facts, None, ticket.created_at), rules, ticket_id=ticket_id, new_id=lambda: str(next(counter))
    )
    values = dict(initial)
    for moment in _moments(entries, comments):
        if moment.at < ticket.created_at or moment.at > as_of:
            continue
        for field, text in moment.changes.items():
            values[field] = _value(field, text)
        after = _facts(values)
        change = Change(facts, after, moment.activity, moment.at)
        clocks = react(clocks, change, rules, ticket_id=ticket_id, new_id=lambda: str(next(counter)))
        facts = after
    return _ordered(
        [view(c, rules.calendar_revision(c.calendar_id, c.calendar_revision), as_of, team=facts.team) for c in clocks]
    )


def _facts(values: dict[str, object]) -> Facts:
    status, priority = values["status"], values["priority"]
    assert isinstance(status, Status) and isinstance(priority, int)
    return Facts(
        status=status,
        priority=priority,
        customer_tier=str(values["customer_tier"]),
        team=str(values["team"]),
        responded=bool(values["first_response_at"]),
    )


@dataclass(frozen=True)
class SlaState:
    ticket_id: str
    summary: str
    live: list[ClockView]
    recomputed: list[ClockView]
    as_of: datetime

    @property
    def agree(self) -> bool:
        return self.live == self.recomputed


def sla_state(uow: UnitOfWork, ticket_id: str) -> SlaState:
    as_of = utcnow()
    live = clocks_of(uow, ticket_id, as_of=as_of)
    return SlaState(
        ticket_id=ticket_id,
        summary=_ticket(uow, ticket_id).sla_state,
        live=live,
        recomputed=recompute(uow, ticket_id, as_of=as_of),
        as_of=as_of,
    )


# Calendars and policies.


def put_calendar(
    uow: UnitOfWork, calendar: BusinessCalendar, *, expected_revision: int, by: str
) -> tuple[BusinessCalendar, Stamped]:
    now = utcnow()
    stored = SlaStore(uow.session).put_calendar(calendar, expected_revision=expected_revision, at=now, by=by)
    return stored, Stamped(now, by)


def list_calendars(uow: UnitOfWork, *, after: str, limit: int) -> list[tuple[BusinessCalendar, Stamped]]:
    return SlaStore(uow.session).calendars(after=after, limit=limit)


def put_policy(uow: UnitOfWork, policy: SlaPolicy, *, expected_revision: int, by: str) -> tuple[SlaPolicy, Stamped]:
    store = SlaStore(uow.session)
    if store.calendar(policy.calendar_id) is None:
        raise InvalidArgument(
            [FieldViolation("policy.calendar_id", f"calendar {policy.calendar_id!r} does not exist; put it first")]
        )
    if policy.active:
        for other in store.active_policies(policy.priority):
            if other.policy_id != policy.policy_id and other.customer_tier == policy.customer_tier:
                raise FailedPrecondition(
                    f"policy {other.policy_id!r} already covers P{policy.priority} for "
                    f"{policy.customer_tier or 'any tier'}; deactivate it or change it instead"
                )
    now = utcnow()
    stored = store.put_policy(policy, expected_revision=expected_revision, at=now, by=by)
    return stored, Stamped(now, by)


def list_policies(uow: UnitOfWork, *, after: str, limit: int) -> list[tuple[SlaPolicy, Stamped]]:
    return SlaStore(uow.session).policies(after=after, limit=limit)
