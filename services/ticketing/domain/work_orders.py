"""On-site repairs: which status a work order may move to, who may move it, and what each move needs.

    open -> scheduled -> en_route -> on_site -> completed
                ^  |                    |
                |  '- (rebooked)        '-> needs_revisit -> scheduled (the next visit)
    any status but completed and cancelled -> cancelled

The desk (agents, supervisors) plans: it creates, schedules, rebooks and cancels. The technician a
work order is assigned to moves the visit on, logs labour and the parts it used, and records the
customer's sign-off; a supervisor may do that on a technician's behalf. A technician never sees
or touches another technician's work orders. A pair of statuses missing from ``TRANSITIONS`` is
refused, whoever asks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from services.ticketing.domain import parts
from services.ticketing.domain.lifecycle import ADMIN, AGENT, SUPERVISOR, SYSTEM, TECHNICIAN, Actor
from services.ticketing.domain.parts import PartLine, PartUse
from switchboard.errors import FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied

# A single labour entry is at most one day; a visit lasting longer is logged day by day.
MAX_LABOUR_MINUTES = 24 * 60
MAX_ESTIMATED_MINUTES = 7 * 24 * 60
SIGNATORY_MAX = 200
NOTE_MAX = 500


class WorkOrderStatus(StrEnum):
    OPEN = "open"
    SCHEDULED = "scheduled"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    COMPLETED = "completed"
    NEEDS_REVISIT = "needs_revisit"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({WorkOrderStatus.COMPLETED, WorkOrderStatus.CANCELLED})
ACTIVE_STATUSES = frozenset(WorkOrderStatus) - FINAL_STATUSES
# The moves a technician makes with nothing but a note; scheduling, completing and cancelling
# touch stock and have use cases of their own.
FIELD_MOVES = frozenset({WorkOrderStatus.EN_ROUTE, WorkOrderStatus.ON_SITE, WorkOrderStatus.NEEDS_REVISIT})

_DESK = frozenset({AGENT, SUPERVISOR, SYSTEM})
_FIELD = frozenset({TECHNICIAN, SUPERVISOR, SYSTEM})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    # A technician and a visit window come with the move.
    needs_visit: bool = False
    needs_note: bool = False
    needs_sign_off: bool = False
    needs_labour: bool = False


_S = WorkOrderStatus
TRANSITIONS: dict[tuple[WorkOrderStatus, WorkOrderStatus], Rule] = {
    (_S.OPEN, _S.SCHEDULED): Rule(_DESK, needs_visit=True),
    # Rebooking: another technician or another window before the technician set off.
    (_S.SCHEDULED, _S.SCHEDULED): Rule(_DESK, needs_visit=True),
    (_S.NEEDS_REVISIT, _S.SCHEDULED): Rule(_DESK, needs_visit=True),
    (_S.SCHEDULED, _S.EN_ROUTE): Rule(_FIELD),
    (_S.EN_ROUTE, _S.ON_SITE): Rule(_FIELD),
    (_S.ON_SITE, _S.COMPLETED): Rule(_FIELD, needs_sign_off=True, needs_labour=True),
    (_S.ON_SITE, _S.NEEDS_REVISIT): Rule(_FIELD, needs_note=True),
    **{(source, _S.CANCELLED): Rule(_DESK, needs_note=True) for source in ACTIVE_STATUSES},
}
# Logging labour, parts used and the sign-off: the assigned technician's work, in these statuses.
_FIELD_WORK = Rule(_FIELD)
LABOUR_STATUSES = frozenset({_S.EN_ROUTE, _S.ON_SITE, _S.NEEDS_REVISIT})


@dataclass(frozen=True)
class NewWorkOrder:
    ticket_id: str
    site_address: str
    latitude: float
    longitude: float
    window_start: datetime
    window_end: datetime
    estimated_minutes: int
    created_by: str
    # Empty: the ticket's required skills.
    required_skills: tuple[str, ...] = ()
    parts_needed: tuple[PartLine, ...] = ()


@dataclass(frozen=True)
class WorkOrder:
    work_order_id: str
    ticket_id: str
    customer_id: str
    status: WorkOrderStatus
    required_skills: tuple[str, ...]
    site_address: str
    latitude: float
    longitude: float
    # The customer's window when created; the agreed visit window once scheduled.
    window_start: datetime
    window_end: datetime
    estimated_minutes: int
    # Everything the repair needs, grown by what a visit found missing.
    parts_needed: tuple[PartLine, ...]
    created_by: str
    created_at: datetime
    version: int
    technician_id: str = ""
    # The depot or van the parts are reserved from.
    stock_location_id: str = ""
    # Labour over all visits, in minutes.
    labour_minutes: int = 0
    # Every part fitted, over all visits, as the technician recorded it.
    parts_used: tuple[PartUse, ...] = ()
    # What stock has given up for it: parts used, taken when a visit ends.
    parts_consumed: tuple[PartUse, ...] = ()
    # What the last visit found missing; cleared when the next visit is scheduled.
    missing_parts: tuple[PartLine, ...] = ()
    signed_off_by: str = ""
    signed_off_at: datetime | None = None
    # Why it was last moved: a revisit's reason, a cancellation's reason, a technician's remark.
    note: str = ""
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None

    @property
    def outstanding_parts(self) -> tuple[PartLine, ...]:
        """What the next visit must bring: the needs not yet consumed."""
        return parts.outstanding(self.parts_needed, self.parts_consumed)


@dataclass(frozen=True)
class WorkOrderSummary:
    """A work order as its ticket's detail view lists it."""

    work_order_id: str
    status: WorkOrderStatus
    technician_id: str
    window_start: datetime
    window_end: datetime


def summary_of(work_order: WorkOrder) -> WorkOrderSummary:
    return WorkOrderSummary(
        work_order.work_order_id,
        work_order.status,
        work_order.technician_id,
        work_order.window_start,
        work_order.window_end,
    )


def sees_all(actor: Actor) -> bool:
    """The desk sees every work order; a technician (and anyone else) only those assigned to it."""
    return actor.may(_DESK)


def sees(actor: Actor, work_order: WorkOrder) -> bool:
    return sees_all(actor) or (TECHNICIAN in actor.roles and work_order.technician_id == actor.id)


def rule_for(source: WorkOrderStatus, target: WorkOrderStatus) -> Rule:
    rule = TRANSITIONS.get((source, target))
    if rule is None:
        allowed = sorted(t.value for (s, t) in TRANSITIONS if s is source)
        raise FailedPrecondition(
            f"a work order cannot go from {source.value} to {target.value}; from {source.value} it can go to "
            + (", ".join(allowed) if allowed else "nowhere: it is finished")
        )
    return rule


def check(
    work_order: WorkOrder,
    target: WorkOrderStatus,
    actor: Actor,
    *,
    technician_id: str = "",
    note: str = "",
) -> Rule:
    """The rule that allows the move, or why not: PERMISSION_DENIED, FAILED_PRECONDITION or INVALID_ARGUMENT."""
    rule = rule_for(work_order.status, target)
    _permit(rule, actor, work_order, f"moving work order {work_order.work_order_id} to {target.value}")
    if rule.needs_visit and not technician_id:
        raise InvalidArgument([FieldViolation("technician_id", "scheduling a visit needs the technician who makes it")])
    if rule.needs_note and not note.strip():
        raise FailedPrecondition(f"moving work order {work_order.work_order_id} to {target.value} needs a reason")
    if rule.needs_labour and work_order.labour_minutes <= 0:
        raise FailedPrecondition(
            f"work order {work_order.work_order_id} has no labour logged; log it before completing"
        )
    if rule.needs_sign_off and not work_order.signed_off_by:
        raise FailedPrecondition(
            f"work order {work_order.work_order_id} has no customer sign-off; record who signed before completing"
        )
    return rule


def opened(
    new: NewWorkOrder,
    *,
    work_order_id: str,
    customer_id: str,
    ticket_skills: tuple[str, ...],
    actor: Actor,
    now: datetime,
) -> WorkOrder:
    """A new work order for a ticket, before any technician is sent."""
    if not actor.may(_DESK):
        raise PermissionDenied("only agents and supervisors plan work orders")
    problems = _site_problems(new.site_address, new.latitude, new.longitude)
    problems += window_problems(new.window_start, new.window_end, new.estimated_minutes, now=now)
    if not 0 < new.estimated_minutes <= MAX_ESTIMATED_MINUTES:
        problems.append(FieldViolation("estimated_minutes", f"between 1 and {MAX_ESTIMATED_MINUTES}"))
    if problems:
        raise InvalidArgument(problems)
    return WorkOrder(
        work_order_id=work_order_id,
        ticket_id=new.ticket_id,
        customer_id=customer_id,
        status=WorkOrderStatus.OPEN,
        required_skills=tuple(new.required_skills) or tuple(ticket_skills),
        site_address=new.site_address.strip(),
        latitude=new.latitude,
        longitude=new.longitude,
        window_start=new.window_start,
        window_end=new.window_end,
        estimated_minutes=new.estimated_minutes,
        parts_needed=parts.lines(new.parts_needed, field="parts_needed"),
        created_by=new.created_by,
        created_at=now,
        version=1,
        updated_at=now,
    )


def scheduled(
    work_order: WorkOrder,
    actor: Actor,
    *,
    technician_id: str,
    window_start: datetime,
    window_end: datetime,
    stock_location_id: str,
    now: datetime,
) -> WorkOrder:
    """The work order booked for a visit. A sign-off belongs to one visit, so an earlier one is cleared."""
    check(work_order, WorkOrderStatus.SCHEDULED, actor, technician_id=technician_id)
    problems = window_problems(window_start, window_end, work_order.estimated_minutes, now=now)
    if problems:
        raise InvalidArgument(problems)
    if work_order.outstanding_parts and not stock_location_id:
        raise InvalidArgument(
            [FieldViolation("stock_location_id", "the visit needs parts: name the van or depot to reserve them from")]
        )
    return replace(
        work_order,
        status=WorkOrderStatus.SCHEDULED,
        technician_id=technician_id,
        window_start=window_start,
        window_end=window_end,
        stock_location_id=stock_location_id,
        missing_parts=(),
        signed_off_by="",
        signed_off_at=None,
        note="",
        updated_at=now,
    )


def moved(
    work_order: WorkOrder,
    target: WorkOrderStatus,
    actor: Actor,
    *,
    note: str = "",
    missing: Iterable[PartLine] = (),
    now: datetime,
) -> WorkOrder:
    """A technician's move: en_route, on_site, or needs_revisit (with the parts found missing)."""
    if target not in FIELD_MOVES:
        raise InvalidArgument(
            [FieldViolation("to_status", f"{target.value} is not a technician's move; schedule, complete or cancel")]
        )
    check(work_order, target, actor, note=note)
    _check_note(note)
    missing_lines = parts.lines(missing, field="missing_parts")
    if missing_lines and target is not WorkOrderStatus.NEEDS_REVISIT:
        raise InvalidArgument(
            [FieldViolation("missing_parts", "only a visit that needs a revisit finds parts missing")]
        )
    return replace(
        work_order,
        status=target,
        note=note.strip(),
        missing_parts=missing_lines,
        parts_needed=parts.lines((*work_order.parts_needed, *missing_lines)),
        updated_at=now,
    )


def completed(work_order: WorkOrder, actor: Actor, *, now: datetime) -> WorkOrder:
    check(work_order, WorkOrderStatus.COMPLETED, actor)
    return replace(work_order, status=WorkOrderStatus.COMPLETED, completed_at=now, updated_at=now)


def cancelled(work_order: WorkOrder, actor: Actor, *, reason: str, now: datetime) -> WorkOrder:
    check(work_order, WorkOrderStatus.CANCELLED, actor, note=reason)
    _check_note(reason)
    return replace(work_order, status=WorkOrderStatus.CANCELLED, note=reason.strip(), cancelled_at=now, updated_at=now)


def with_labour(work_order: WorkOrder, actor: Actor, *, minutes: int, now: datetime) -> WorkOrder:
    """Labour adds up over the visits: travel counts from en_route, and it may be logged after leaving."""
    _field_work(work_order, actor, "logging labour on", LABOUR_STATUSES)
    if not 0 < minutes <= MAX_LABOUR_MINUTES:
        raise InvalidArgument([FieldViolation("minutes", f"between 1 and {MAX_LABOUR_MINUTES} per entry")])
    return replace(work_order, labour_minutes=work_order.labour_minutes + minutes, updated_at=now)


def with_parts_used(work_order: WorkOrder, actor: Actor, *, used: Iterable[PartUse], now: datetime) -> WorkOrder:
    """Replace the record of parts used (so a mistake can be corrected) while the technician is on site.

    The record covers every visit: parts consumed when an earlier visit ended must stay in it.
    """
    _field_work(work_order, actor, "recording parts used on", frozenset({WorkOrderStatus.ON_SITE}))
    recorded = parts.uses(used, field="parts")
    parts.check_used_covers_consumed(recorded, work_order.parts_consumed)
    return replace(work_order, parts_used=recorded, updated_at=now)


def signed_off(work_order: WorkOrder, actor: Actor, *, signatory: str, now: datetime) -> WorkOrder:
    """The customer confirms the visit on site; the name of whoever signed is kept."""
    _field_work(work_order, actor, "recording a sign-off on", frozenset({WorkOrderStatus.ON_SITE}))
    name = signatory.strip()
    if not name or len(name) > SIGNATORY_MAX:
        raise InvalidArgument(
            [FieldViolation("signed_off_by", f"the signatory's name, 1 to {SIGNATORY_MAX} characters")]
        )
    return replace(work_order, signed_off_by=name, signed_off_at=now, updated_at=now)


def with_consumed(work_order: WorkOrder, consumed_now: Iterable[PartUse]) -> WorkOrder:
    return replace(work_order, parts_consumed=parts.merged(work_order.parts_consumed, consumed_now))


def window_problems(start: datetime, end: datetime, estimated_minutes: int, *, now: datetime) -> list[FieldViolation]:
    """A window must be in the future and long enough for the visit's estimated duration."""
    if end <= start:
        return [FieldViolation("window_end", "must be after window_start")]
    if end <= now:
        return [FieldViolation("window_end", "the window is over already; choose one in the future")]
    if end - start < timedelta(minutes=estimated_minutes):
        return [
            FieldViolation(
                "window_end",
                f"the window is {int((end - start).total_seconds() // 60)} minutes; "
                f"the visit needs {estimated_minutes}",
            )
        ]
    return []


def _site_problems(address: str, latitude: float, longitude: float) -> list[FieldViolation]:
    problems = []
    if not address.strip():
        problems.append(FieldViolation("site_address", "where the technician goes"))
    if not -90.0 <= latitude <= 90.0:
        problems.append(FieldViolation("latitude", "between -90 and 90"))
    if not -180.0 <= longitude <= 180.0:
        problems.append(FieldViolation("longitude", "between -180 and 180"))
    return problems


def _check_note(note: str) -> None:
    if len(note) > NOTE_MAX:
        raise InvalidArgument([FieldViolation("note", f"at most {NOTE_MAX} characters")])


def _permit(rule: Rule, actor: Actor, work_order: WorkOrder, doing: str) -> None:
    if ADMIN in actor.roles or actor.roles & (rule.roles - {TECHNICIAN}):
        return
    if TECHNICIAN in rule.roles and TECHNICIAN in actor.roles:
        if work_order.technician_id == actor.id:
            return
        raise PermissionDenied(f"work order {work_order.work_order_id} is not assigned to {actor.id}")
    raise PermissionDenied(f"{doing} needs one of the roles {sorted(rule.roles - {SYSTEM})}")


def _field_work(work_order: WorkOrder, actor: Actor, doing: str, statuses: frozenset[WorkOrderStatus]) -> None:
    _permit(_FIELD_WORK, actor, work_order, f"{doing} work order {work_order.work_order_id}")
    if work_order.status not in statuses:
        raise FailedPrecondition(
            f"{doing} work order {work_order.work_order_id} is possible only while it is "
            f"{' or '.join(sorted(s.value for s in statuses))}; it is {work_order.status.value}"
        )
