"""Which status a ticket may move to, who may move it, and what the move needs.

The table is the whole lifecycle: a pair that is not in it is refused, whoever asks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.ticketing.domain.tickets import OPEN_STATUSES, Status, Ticket
from switchboard.errors import FailedPrecondition, PermissionDenied

AGENT = "agent"
TECHNICIAN = "technician"
SUPERVISOR = "supervisor"
ADMIN = "admin"
INTEGRATION = "integration"
# The desk itself: automations such as a completed work order or an SLA escalation.
SYSTEM = "system"

DEFAULT_REOPEN_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a user id (or "system") and the roles its token carries."""

    id: str
    roles: frozenset[str]

    def may(self, roles: frozenset[str]) -> bool:
        return ADMIN in self.roles or bool(self.roles & roles)


THE_DESK = Actor("system", frozenset({SYSTEM}))


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    needs_resolution_code: bool = False
    needs_reason: bool = False
    needs_assignee: bool = False
    reopens: bool = False


_STAFF = frozenset({AGENT, SUPERVISOR, SYSTEM})
_FIELD = _STAFF | {TECHNICIAN}
# The customer answers or confirms through another system (email gateway, portal, shop).
_CUSTOMER_SIDE = _STAFF | {INTEGRATION}

_RESOLVABLE = (
    Status.NEW,
    Status.TRIAGED,
    Status.ASSIGNED,
    Status.IN_PROGRESS,
    Status.PENDING_CUSTOMER,
    Status.PENDING_PARTS,
)

TRANSITIONS: dict[tuple[Status, Status], Rule] = {
    (Status.NEW, Status.TRIAGED): Rule(_STAFF),
    (Status.NEW, Status.ASSIGNED): Rule(_STAFF, needs_assignee=True),
    (Status.TRIAGED, Status.ASSIGNED): Rule(_STAFF, needs_assignee=True),
    (Status.ASSIGNED, Status.IN_PROGRESS): Rule(_FIELD, needs_assignee=True),
    (Status.IN_PROGRESS, Status.PENDING_CUSTOMER): Rule(_FIELD),
    (Status.IN_PROGRESS, Status.PENDING_PARTS): Rule(_FIELD),
    (Status.PENDING_CUSTOMER, Status.IN_PROGRESS): Rule(_FIELD | {INTEGRATION}),
    (Status.PENDING_PARTS, Status.IN_PROGRESS): Rule(_FIELD),
    **{(source, Status.RESOLVED): Rule(_FIELD, needs_resolution_code=True) for source in _RESOLVABLE},
    (Status.RESOLVED, Status.CLOSED): Rule(_CUSTOMER_SIDE),
    (Status.RESOLVED, Status.IN_PROGRESS): Rule(_CUSTOMER_SIDE, needs_reason=True, needs_assignee=True, reopens=True),
    (Status.RESOLVED, Status.TRIAGED): Rule(_CUSTOMER_SIDE, needs_reason=True, reopens=True),
    (Status.CLOSED, Status.IN_PROGRESS): Rule(_CUSTOMER_SIDE, needs_reason=True, needs_assignee=True, reopens=True),
    (Status.CLOSED, Status.TRIAGED): Rule(_CUSTOMER_SIDE, needs_reason=True, reopens=True),
    **{(source, Status.CANCELLED): Rule(_STAFF, needs_reason=True) for source in OPEN_STATUSES},
}


def rule_for(source: Status, target: Status) -> Rule:
    rule = TRANSITIONS.get((source, target))
    if rule is None:
        allowed = sorted(t.value for (s, t) in TRANSITIONS if s is source)
        raise FailedPrecondition(
            f"a ticket cannot go from {source.value} to {target.value}; from {source.value} it can go to "
            + (", ".join(allowed) if allowed else "nowhere")
        )
    return rule


def check(
    ticket: Ticket,
    target: Status,
    actor: Actor,
    *,
    resolution_code: str = "",
    reason: str = "",
    now: datetime,
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
    open_children: int = 0,
) -> Rule:
    """The rule that allows the move, or the reason it is refused (PERMISSION_DENIED or FAILED_PRECONDITION)."""
    rule = rule_for(ticket.status, target)
    if not actor.may(rule.roles):
        raise PermissionDenied(
            f"moving a ticket from {ticket.status.value} to {target.value} needs one of the roles "
            f"{sorted(rule.roles - {SYSTEM})}"
        )
    if rule.needs_resolution_code and not resolution_code:
        raise FailedPrecondition(f"resolving {_name(ticket)} needs a resolution code (for example 'repaired')")
    if rule.needs_reason and not reason:
        raise FailedPrecondition(f"moving {_name(ticket)} to {target.value} needs a reason")
    if rule.needs_assignee and not ticket.assignee:
        raise FailedPrecondition(f"{_name(ticket)} has no assignee; assign it before moving it to {target.value}")
    if rule.reopens:
        resolved_at = ticket.resolved_at or ticket.closed_at
        if resolved_at is not None and now - resolved_at > reopen_window:
            raise FailedPrecondition(
                f"{_name(ticket)} was resolved more than {reopen_window.days} days ago; open a new ticket instead"
            )
    if target is Status.CLOSED and open_children:
        raise FailedPrecondition(f"{_name(ticket)} has {open_children} open child ticket(s); close them first")
    return rule


def moved(ticket: Ticket, target: Status, *, resolution_code: str = "", now: datetime) -> Ticket:
    """The ticket after an allowed move, with the timestamps and counters the move sets."""
    rule = rule_for(ticket.status, target)
    if rule.reopens:
        return replace(
            ticket,
            status=target,
            resolution_code="",
            resolved_at=None,
            closed_at=None,
            reopen_count=ticket.reopen_count + 1,
        )
    if target is Status.RESOLVED:
        return replace(ticket, status=target, resolution_code=resolution_code, resolved_at=now)
    if target in (Status.CLOSED, Status.CANCELLED):
        return replace(ticket, status=target, closed_at=now)
    return replace(ticket, status=target)


def _name(ticket: Ticket) -> str:
    return ticket.number if ticket.seq else "the ticket"
