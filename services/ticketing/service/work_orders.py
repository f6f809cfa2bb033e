"""Work order and parts stock use cases. Each runs in a unit of work its caller commits, so a work
order's change, the stock it moves, its events and any change of its ticket land together.

Concurrency: every change of a work order is a compare-and-set on its version, written BEFORE any
stock is touched, so of two concurrent changes the loser is ABORTED without having moved a part.
Locks are always taken in one order, ticket -> work order -> stock rows by (location_id, sku), so
two transactions never wait for each other in a circle.

The ticket follows its work orders:
- completing the last open work order of a ticket resolves the ticket ("repaired_on_site") if its
  status may be resolved;
- a visit that ends needing a revisit because parts were missing moves an in_progress ticket to
  pending_parts (its SLA clock pauses while the parts are fetched);
- booking that revisit (the missing parts reserved) moves a pending_parts ticket back to
  in_progress, unless another of its work orders is still waiting for parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from google.protobuf.message import Message

from services.ticketing.domain import parts, work_orders
from services.ticketing.domain.lifecycle import TECHNICIAN, THE_DESK, TRANSITIONS, Actor
from services.ticketing.domain.parts import Draw, Part, PartLine, PartUse, StockLevel, StockLocation
from services.ticketing.domain.tickets import OPEN_STATUSES, Status, Ticket
from services.ticketing.domain.work_orders import (
    ACTIVE_STATUSES,
    NewWorkOrder,
    WorkOrder,
    WorkOrderStatus,
    WorkOrderSummary,
)
from services.ticketing.service import tickets
from services.ticketing.store.parts import PartsStore
from services.ticketing.store.work_orders import WorkOrderFilter, WorkOrderStore
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from switchboard.events.v1 import ticketing_events_pb2
from switchboard.events.v1 import work_order_events_pb2 as events
from switchboard.ids import new_id
from switchboard.timestamps import timestamp

RESOLUTION_CODE = "repaired_on_site"


@dataclass(frozen=True)
class WorkOrderView:
    """A work order with what it holds in stock now, as the API shows it."""

    work_order: WorkOrder
    reserved: tuple[PartUse, ...]


# -- work orders -------------------------------------------------------------------------------


def create_work_order(uow: UnitOfWork, new: NewWorkOrder, *, actor: Actor) -> WorkOrder:
    """Plan an on-site repair for an open ticket; its customer and (by default) skills come from the ticket."""
    ticket = tickets.load(uow, new.ticket_id)
    _require_open(ticket, "plan a visit for")
    catalogue = PartsStore(uow.session)
    for line in new.parts_needed:
        if catalogue.part(line.sku) is None:
            raise NotFound("part", line.sku)
    work_order = work_orders.opened(
        new,
        work_order_id=new_id(),
        customer_id=ticket.customer_id,
        ticket_skills=ticket.required_skills,
        actor=actor,
        now=utcnow(),
    )
    WorkOrderStore(uow.session).add(work_order)
    _emit(
        uow,
        work_order,
        events.WorkOrderCreated(
            work_order_id=work_order.work_order_id,
            ticket_id=work_order.ticket_id,
            customer_id=work_order.customer_id,
            required_skills=work_order.required_skills,
            site_address=work_order.site_address,
            latitude=work_order.latitude,
            longitude=work_order.longitude,
            window_start=timestamp(work_order.window_start),
            window_end=timestamp(work_order.window_end),
            estimated_minutes=work_order.estimated_minutes,
            parts=_lines(work_order.parts_needed),
            created_at=timestamp(work_order.created_at),
            created_by=work_order.created_by,
        ),
    )
    return work_order


def schedule(
    uow: UnitOfWork,
    work_order_id: str,
    *,
    actor: Actor,
    version: int | None,
    technician_id: str,
    window_start: datetime,
    window_end: datetime,
    stock_location_id: str = "",
) -> WorkOrder:
    """Book a technician and a window, and reserve the parts still needed at ``stock_location_id``
    (a depot, or the technician's own van), all or nothing.

    Booking again (a rebooking, or the visit after needs_revisit) first gives back what the earlier
    booking held. If any part is short the whole booking fails with FAILED_PRECONDITION naming the
    part, the location and what is available there, and nothing changes.
    """
    work_order = _load(uow, work_order_id, actor, version)
    ticket = tickets.load(uow, work_order.ticket_id, for_update=True)
    _require_open(ticket, "schedule a visit for")
    stock = PartsStore(uow.session)
    if stock_location_id:
        location = stock.location(stock_location_id)
        if location is None:
            raise NotFound("stock location", stock_location_id)
        parts.van_fits(location, technician_id)
    now = utcnow()
    after = work_orders.scheduled(
        work_order,
        actor,
        technician_id=technician_id,
        window_start=window_start,
        window_end=window_end,
        stock_location_id=stock_location_id,
        now=now,
    )
    stored = _save(uow, work_order, after)
    wanted = tuple(PartUse(line.sku, stock_location_id, line.quantity) for line in after.outstanding_parts)
    held = stock.reservations_of(work_order_id)
    released, reserved = _rebook(stock, work_order_id, held=held, wanted=wanted)
    if work_order.status is not stored.status:
        # A rebooking stays scheduled: work_order.scheduled alone tells of the new booking.
        _status_changed(uow, work_order, stored, actor, at=now)
    _emit(
        uow,
        stored,
        events.WorkOrderScheduled(
            **_key(stored),
            technician_id=stored.technician_id,
            window_start=timestamp(stored.window_start),
            window_end=timestamp(stored.window_end),
            reserved=_uses(reserved),
            stock_location_id=stored.stock_location_id,
            released=_uses(released),
            actor=actor.id,
            version=stored.version,
        ),
    )
    if work_order.status is WorkOrderStatus.NEEDS_REVISIT and work_order.missing_parts:
        _resume_ticket(uow, ticket, stored)
    return stored


def move(
    uow: UnitOfWork,
    work_order_id: str,
    *,
    to: WorkOrderStatus,
    actor: Actor,
    version: int | None,
    note: str = "",
    missing_parts: Iterable[PartLine] = (),
) -> WorkOrder:
    """The technician's moves: en_route, on_site, needs_revisit.

    A visit that needs a revisit ends: the parts recorded as used are taken from stock now (they are
    fitted), the rest stays reserved for the next visit, and the missing parts join the parts needed.
    If parts were missing, an in_progress ticket waits in pending_parts.
    """
    work_order = _load(uow, work_order_id, actor, version)
    missing = tuple(missing_parts)
    ticket = None
    if to is WorkOrderStatus.NEEDS_REVISIT:
        ticket = tickets.load(uow, work_order.ticket_id, for_update=True)
        _require_known_parts(uow, missing)
    now = utcnow()
    after = work_orders.moved(work_order, to, actor, note=note, missing=missing, now=now)
    stock = PartsStore(uow.session)
    draws: tuple[Draw, ...] = ()
    if to is WorkOrderStatus.NEEDS_REVISIT:
        draws = _consumption(stock, work_order)
        after = work_orders.with_consumed(after, _consumed(draws))
    stored = _save(uow, work_order, after)
    for draw in _in_lock_order(draws):
        stock.consume(work_order_id, draw)
    _status_changed(uow, work_order, stored, actor, at=now, consumed=_consumed(draws), missing=stored.missing_parts)
    if ticket is not None and stored.missing_parts and ticket.status is Status.IN_PROGRESS:
        tickets.transition(
            uow,
            ticket.ticket_id,
            to=Status.PENDING_PARTS,
            actor=THE_DESK,
            reason=f"work order {work_order_id} needs a revisit; missing {_describe(stored.missing_parts)}",
        )
    return stored


def log_labour(uow: UnitOfWork, work_order_id: str, *, actor: Actor, version: int | None, minutes: int) -> WorkOrder:
    work_order = _load(uow, work_order_id, actor, version)
    now = utcnow()
    stored = _save(uow, work_order, work_orders.with_labour(work_order, actor, minutes=minutes, now=now))
    _updated(uow, work_order, stored, actor, at=now)
    return stored


def record_parts_used(
    uow: UnitOfWork, work_order_id: str, *, actor: Actor, version: int | None, used: Iterable[PartUse]
) -> WorkOrder:
    """Replace the record of parts fitted (over all visits). A line without a location came from
    where the work order reserved its parts; stock is taken when the visit ends, not now."""
    work_order = _load(uow, work_order_id, actor, version)
    lines = []
    for index, use in enumerate(used):
        location_id = use.location_id or work_order.stock_location_id
        if not location_id:
            raise InvalidArgument(
                [FieldViolation(f"parts[{index}].location_id", "nothing was reserved: name the van or depot used")]
            )
        lines.append(replace(use, location_id=location_id))
    now = utcnow()
    after = work_orders.with_parts_used(work_order, actor, used=lines, now=now)
    _require_known_parts(uow, lines)
    stock = PartsStore(uow.session)
    for location_id in sorted({line.location_id for line in lines}):
        if stock.location(location_id) is None:
            raise NotFound("stock location", location_id)
    stored = _save(uow, work_order, after)
    _updated(uow, work_order, stored, actor, at=now)
    return stored


def record_sign_off(
    uow: UnitOfWork, work_order_id: str, *, actor: Actor, version: int | None, signed_off_by: str
) -> WorkOrder:
    work_order = _load(uow, work_order_id, actor, version)
    now = utcnow()
    stored = _save(uow, work_order, work_orders.signed_off(work_order, actor, signatory=signed_off_by, now=now))
    _updated(uow, work_order, stored, actor, at=now)
    return stored


def complete(uow: UnitOfWork, work_order_id: str, *, actor: Actor, version: int | None) -> WorkOrder:
    """Finish a signed-off visit with labour logged.

    The parts used are taken from stock (from the reservation first, anything beyond it from what
    is free at that location), what stays reserved goes back, and if no other work order of the
    ticket is open and the ticket's status may be resolved, the ticket is resolved as repaired on site.
    """
    work_order = _load(uow, work_order_id, actor, version)
    ticket = tickets.load(uow, work_order.ticket_id, for_update=True)
    now = utcnow()
    after = work_orders.completed(work_order, actor, now=now)
    stock = PartsStore(uow.session)
    held = _held(stock.reservations_of(work_order_id))
    draws = parts.plan_consumption(parts.not_yet_consumed(work_order.parts_used, work_order.parts_consumed), held)
    leftover = parts.left_after(held, draws)
    after = work_orders.with_consumed(after, _consumed(draws))
    stored = _save(uow, work_order, after)
    _settle(stock, work_order_id, draws=draws, release=leftover)
    others_open = [
        other
        for other in WorkOrderStore(uow.session).of_ticket(ticket.ticket_id)
        if other.work_order_id != work_order_id and other.status in ACTIVE_STATUSES
    ]
    resolves = not others_open and (ticket.status, Status.RESOLVED) in TRANSITIONS
    _status_changed(uow, work_order, stored, actor, at=now)
    _emit(
        uow,
        stored,
        events.WorkOrderCompleted(
            **_key(stored),
            technician_id=stored.technician_id,
            labour_minutes=stored.labour_minutes,
            consumed=_uses(_consumed(draws)),
            signed_off_by=stored.signed_off_by,
            completed_at=timestamp(now),
            released=_uses(leftover),
            actor=actor.id,
            version=stored.version,
            resolved_ticket=resolves,
        ),
    )
    if resolves:
        tickets.transition(
            uow,
            ticket.ticket_id,
            to=Status.RESOLVED,
            actor=THE_DESK,
            resolution_code=RESOLUTION_CODE,
            reason=f"work order {work_order_id} completed on site, signed off by {stored.signed_off_by}",
        )
    return stored


def cancel(uow: UnitOfWork, work_order_id: str, *, actor: Actor, version: int | None, reason: str) -> WorkOrder:
    """Call the visit off and give back every part it held (parts recorded as used but not yet
    taken are not taken: a cancelled visit fitted nothing)."""
    work_order = _load(uow, work_order_id, actor, version)
    now = utcnow()
    stored = _save(uow, work_order, work_orders.cancelled(work_order, actor, reason=reason, now=now))
    stock = PartsStore(uow.session)
    released = stock.reservations_of(work_order_id)
    _settle(stock, work_order_id, draws=(), release=released)
    _status_changed(uow, work_order, stored, actor, at=now)
    _emit(
        uow,
        stored,
        events.WorkOrderCancelled(
            **_key(stored),
            reason=stored.note,
            released=_uses(released),
            cancelled_at=timestamp(now),
            technician_id=stored.technician_id,
            actor=actor.id,
            version=stored.version,
        ),
    )
    return stored


def cancel_open_of_ticket(uow: UnitOfWork, ticket_id: str, *, reason: str) -> list[WorkOrder]:
    """The ticket ended (cancelled, merged away): its open work orders are called off by the desk."""
    return [
        cancel(uow, work_order.work_order_id, actor=THE_DESK, version=work_order.version, reason=reason)
        for work_order in WorkOrderStore(uow.session).of_ticket(ticket_id)
        if work_order.status in ACTIVE_STATUSES
    ]


def get_work_order(uow: UnitOfWork, work_order_id: str, *, actor: Actor) -> WorkOrder:
    """NOT_FOUND also when it exists but is another technician's: a technician cannot learn it exists."""
    return _load(uow, work_order_id, actor, None)


def list_work_orders(
    uow: UnitOfWork, where: WorkOrderFilter, *, actor: Actor, after: tuple[datetime, str] | None, limit: int
) -> list[WorkOrder]:
    """Soonest visit first. A technician lists its own work orders only."""
    if not work_orders.sees_all(actor):
        if TECHNICIAN not in actor.roles:
            raise PermissionDenied(f"{actor.id} may not list work orders")
        if where.technician_id and where.technician_id != actor.id:
            raise PermissionDenied(f"a technician lists its own work orders only, not {where.technician_id}'s")
        where = replace(where, technician_id=actor.id)
    return WorkOrderStore(uow.session).page(where, after=after, limit=limit)


def summaries_of(uow: UnitOfWork, ticket_id: str) -> list[WorkOrderSummary]:
    """A ticket's work orders for its detail view, oldest first."""
    return [work_orders.summary_of(w) for w in WorkOrderStore(uow.session).of_ticket(ticket_id)]


def view_of(uow: UnitOfWork, work_order: WorkOrder) -> WorkOrderView:
    return WorkOrderView(work_order, PartsStore(uow.session).reservations_of(work_order.work_order_id))


def views_of(uow: UnitOfWork, found: Sequence[WorkOrder]) -> list[WorkOrderView]:
    held = PartsStore(uow.session).reservations_of_many(w.work_order_id for w in found)
    return [WorkOrderView(w, held.get(w.work_order_id, ())) for w in found]


# -- parts catalogue and stock -----------------------------------------------------------------


def put_part(uow: UnitOfWork, part: Part, *, actor: Actor) -> Part:
    parts.require_stock_keeper(actor, "change the parts catalogue")
    return PartsStore(uow.session).put_part(parts.check_part(part))


def list_parts(uow: UnitOfWork, *, after: str, limit: int) -> list[Part]:
    return PartsStore(uow.session).parts_page(after=after, limit=limit)


def put_location(uow: UnitOfWork, location: StockLocation, *, actor: Actor) -> StockLocation:
    parts.require_stock_keeper(actor, "add or change depots and vans")
    return PartsStore(uow.session).put_location(parts.check_location(location))


def list_locations(uow: UnitOfWork, *, technician_id: str, after: str, limit: int) -> list[StockLocation]:
    return PartsStore(uow.session).locations_page(technician_id=technician_id, after=after, limit=limit)


def receive_stock(uow: UnitOfWork, sku: str, location_id: str, *, quantity: int, actor: Actor) -> StockLevel:
    """Parts delivered to a depot or loaded into a van."""
    parts.require_stock_keeper(actor, "adjust stock")
    parts.check_received(quantity)
    _require_stock_place(uow, sku, location_id)
    return PartsStore(uow.session).receive(sku, location_id, quantity)


def count_stock(uow: UnitOfWork, sku: str, location_id: str, *, counted: int, actor: Actor) -> StockLevel:
    """A physical count replaces on_hand; it may not go below what scheduled work orders hold."""
    parts.require_stock_keeper(actor, "adjust stock")
    _require_stock_place(uow, sku, location_id)
    stock = PartsStore(uow.session)
    parts.check_counted(stock.level(sku, location_id), counted, sku=sku, location_id=location_id)
    level = stock.count(sku, location_id, counted)
    if level is None:
        # A reservation landed between the check and the write: the check now words the refusal.
        parts.check_counted(stock.level(sku, location_id), counted, sku=sku, location_id=location_id)
        raise Aborted(f"stock of {sku} at {location_id} changed while counting; count again")
    return level


def list_stock(
    uow: UnitOfWork, *, location_id: str = "", sku: str = "", after: tuple[str, str] | None, limit: int
) -> list[StockLevel]:
    return PartsStore(uow.session).levels_page(location_id=location_id, sku=sku, after=after, limit=limit)


# -- helpers -----------------------------------------------------------------------------------


def _load(uow: UnitOfWork, work_order_id: str, actor: Actor, version: int | None) -> WorkOrder:
    found = WorkOrderStore(uow.session).get(work_order_id)
    if found is None or not work_orders.sees(actor, found):
        raise NotFound("work order", work_order_id)
    if version is not None and version != found.version:
        raise Aborted(
            f"work order {work_order_id} is at version {found.version}, not {version}; read it again and retry"
        )
    return found


def _save(uow: UnitOfWork, before: WorkOrder, after: WorkOrder) -> WorkOrder:
    return WorkOrderStore(uow.session).update(before, after)


def _require_open(ticket: Ticket, doing: str) -> None:
    if ticket.status not in OPEN_STATUSES:
        raise FailedPrecondition(f"ticket {ticket.number} is {ticket.status.value}; cannot {doing} it")


def _require_known_parts(uow: UnitOfWork, items: Iterable[PartLine | PartUse]) -> None:
    catalogue = PartsStore(uow.session)
    for sku in sorted({item.sku for item in items}):
        if catalogue.part(sku) is None:
            raise NotFound("part", sku)


def _require_stock_place(uow: UnitOfWork, sku: str, location_id: str) -> None:
    stock = PartsStore(uow.session)
    if stock.part(sku) is None:
        raise NotFound("part", sku)
    if stock.location(location_id) is None:
        raise NotFound("stock location", location_id)


def _resume_ticket(uow: UnitOfWork, ticket: Ticket, booked: WorkOrder) -> None:
    """The missing parts are reserved for the revisit: a ticket waiting for them works on again."""
    if ticket.status is not Status.PENDING_PARTS:
        return
    still_waiting = [
        other
        for other in WorkOrderStore(uow.session).of_ticket(ticket.ticket_id)
        if other.work_order_id != booked.work_order_id
        and other.status is WorkOrderStatus.NEEDS_REVISIT
        and other.missing_parts
    ]
    if still_waiting:
        return
    tickets.transition(
        uow,
        ticket.ticket_id,
        to=Status.IN_PROGRESS,
        actor=THE_DESK,
        reason=f"parts for the revisit of work order {booked.work_order_id} are reserved",
    )


def _held(reservations: Iterable[PartUse]) -> dict[tuple[str, str], int]:
    return {(use.sku, use.location_id): use.quantity for use in reservations}


def _consumption(stock: PartsStore, work_order: WorkOrder) -> tuple[Draw, ...]:
    held = _held(stock.reservations_of(work_order.work_order_id))
    return parts.plan_consumption(parts.not_yet_consumed(work_order.parts_used, work_order.parts_consumed), held)


def _consumed(draws: Iterable[Draw]) -> tuple[PartUse, ...]:
    return parts.merged(PartUse(d.sku, d.location_id, d.from_reservation + d.from_free) for d in draws)


def _lock_key(item: PartUse | Draw) -> tuple[str, str]:
    return item.location_id, item.sku


def _in_lock_order(draws: Iterable[Draw]) -> list[Draw]:
    return sorted(draws, key=_lock_key)


def _rebook(
    stock: PartsStore, work_order_id: str, *, held: Sequence[PartUse], wanted: Sequence[PartUse]
) -> tuple[tuple[PartUse, ...], tuple[PartUse, ...]]:
    """Give back what is held and reserve what is wanted, row by row in lock order (a row given back
    and reserved again is released first, so its own parts count as available)."""
    keys = sorted({_lock_key(u) for u in (*held, *wanted)})
    old = {_lock_key(u): u for u in held}
    new = {_lock_key(u): u for u in wanted}
    for key in keys:
        if key in old:
            stock.release(work_order_id, old[key])
        if key in new:
            stock.reserve(work_order_id, new[key])
    return tuple(held), tuple(wanted)


def _settle(stock: PartsStore, work_order_id: str, *, draws: Iterable[Draw], release: Iterable[PartUse]) -> None:
    """Take the draws and give back the releases, row by row in lock order."""
    takes = {_lock_key(d): d for d in draws}
    gives = {_lock_key(u): u for u in release}
    for key in sorted(set(takes) | set(gives)):
        if key in takes:
            stock.consume(work_order_id, takes[key])
        if key in gives:
            stock.release(work_order_id, gives[key])


def _describe(lines: Iterable[PartLine]) -> str:
    return ", ".join(f"{line.quantity} x {line.sku}" for line in lines)


def _key(work_order: WorkOrder) -> dict[str, str]:
    return {
        "work_order_id": work_order.work_order_id,
        "ticket_id": work_order.ticket_id,
        "customer_id": work_order.customer_id,
    }


def _emit(uow: UnitOfWork, work_order: WorkOrder, payload: Message) -> None:
    uow.emit(payload, customer_id=work_order.customer_id)


def _lines(lines: Iterable[PartLine]) -> list[events.PartQuantity]:
    return [events.PartQuantity(sku=line.sku, quantity=line.quantity) for line in lines]


def _uses(uses: Iterable[PartUse]) -> list[events.PartQuantity]:
    return [events.PartQuantity(sku=u.sku, quantity=u.quantity, location_id=u.location_id) for u in uses]


def _status_changed(
    uow: UnitOfWork,
    before: WorkOrder,
    after: WorkOrder,
    actor: Actor,
    *,
    at: datetime,
    consumed: Iterable[PartUse] = (),
    missing: Iterable[PartLine] = (),
) -> None:
    _emit(
        uow,
        after,
        events.WorkOrderStatusChanged(
            **_key(after),
            technician_id=after.technician_id,
            from_status=before.status.value,
            to_status=after.status.value,
            changed_at=timestamp(at),
            note=after.note,
            actor=actor.id,
            version=after.version,
            consumed=_uses(consumed),
            missing=_lines(missing),
        ),
    )


def _updated(uow: UnitOfWork, before: WorkOrder, after: WorkOrder, actor: Actor, *, at: datetime) -> None:
    changes = [
        ticketing_events_pb2.FieldChange(field=name, old_value=old, new_value=new)
        for name, old, new in (
            ("labour_minutes", str(before.labour_minutes), str(after.labour_minutes)),
            ("parts_used", _text(before.parts_used), _text(after.parts_used)),
            ("signed_off_by", before.signed_off_by, after.signed_off_by),
        )
        if old != new
    ]
    _emit(
        uow,
        after,
        events.WorkOrderUpdated(
            **_key(after),
            technician_id=after.technician_id,
            changes=changes,
            actor=actor.id,
            version=after.version,
            updated_at=timestamp(at),
        ),
    )


def _text(uses: Iterable[PartUse]) -> str:
    return ",".join(f"{u.sku}@{u.location_id}={u.quantity}" for u in uses)
