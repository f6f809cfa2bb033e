"""Work orders and parts stock through the use cases, on a real SQLite database: a visit is planned,
booked with its parts reserved all or nothing, worked through by its technician, and completed
(parts consumed, the rest given back, the ticket resolved) or cancelled (everything given back).
The last section drives the same through the gRPC servicer, called directly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

import pytest

from services.ticketing.api.work_orders import PERMISSIONS, WorkOrderApi, summary_proto
from services.ticketing.domain.lifecycle import Actor
from services.ticketing.domain.parts import LocationKind, Part, PartLine, PartUse, StockLevel, StockLocation
from services.ticketing.domain.tickets import Status, Ticket
from services.ticketing.domain.work_orders import NewWorkOrder, WorkOrder, WorkOrderStatus
from services.ticketing.service import tickets
from services.ticketing.service import work_orders as service
from services.ticketing.store.work_orders import WorkOrderFilter
from switchboard import context, envelope
from switchboard.composition import Runtime
from switchboard.context import Caller, WorkContext
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.db.uow import UnitOfWork
from switchboard.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from switchboard.settings import Settings
from switchboard.ticketing.v1 import work_orders_pb2
from tests.unit.builders import TICKETING_MIGRATIONS, OpenDb, new_ticket, rows

T = TypeVar("T")
S = WorkOrderStatus

ALICE = Actor("alice", frozenset({"agent"}))
SAM = Actor("sam", frozenset({"supervisor"}))
TOM = Actor("tom", frozenset({"technician"}))
TINA = Actor("tina", frozenset({"technician"}))

_TOMORROW = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(0), tzinfo=UTC)
MORNING = (_TOMORROW + timedelta(hours=8), _TOMORROW + timedelta(hours=12))
AFTERNOON = (_TOMORROW + timedelta(hours=13), _TOMORROW + timedelta(hours=17))
NEXT_WEEK = (_TOMORROW + timedelta(days=7, hours=8), _TOMORROW + timedelta(days=7, hours=12))


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    return open_db("ticketing", TICKETING_MIGRATIONS)


def _do(db: Database, act: Callable[[UnitOfWork], T]) -> T:
    with UnitOfWork(db) as uow:
        result = act(uow)
        uow.commit()
    return result


def _read(db: Database, act: Callable[[UnitOfWork], T]) -> T:
    with UnitOfWork(db) as uow:
        return act(uow)


@pytest.fixture
def shelves(db: Database) -> None:
    """A Berlin depot, Tom's and Tina's vans, three parts, and stock of them."""

    def stock_up(uow: UnitOfWork) -> None:
        for part in (Part("PUMP-200", "Drain pump", "piece"), Part("HOSE-12", "Inlet hose", "piece")):
            service.put_part(uow, part, actor=SAM)
        service.put_part(uow, Part("CLAMP-8", "Hose clamp 8mm", "piece"), actor=SAM)
        service.put_location(uow, StockLocation("depot-berlin", LocationKind.DEPOT, "Berlin depot"), actor=SAM)
        service.put_location(uow, StockLocation("van-tom", LocationKind.VAN, "Tom's van", "tom"), actor=SAM)
        service.put_location(uow, StockLocation("van-tina", LocationKind.VAN, "Tina's van", "tina"), actor=SAM)
        for sku, location, quantity in (
            ("PUMP-200", "van-tom", 2),
            ("CLAMP-8", "van-tom", 10),
            ("PUMP-200", "depot-berlin", 5),
            ("HOSE-12", "depot-berlin", 3),
        ):
            service.receive_stock(uow, sku, location, quantity=quantity, actor=SAM)

    _do(db, stock_up)


def _ticket(db: Database, *, status: Status = Status.NEW) -> Ticket:
    ticket = _do(db, lambda uow: tickets.create_ticket(uow, new_ticket(required_skills=("washing-machines",))))
    if status is Status.IN_PROGRESS:
        _do(db, lambda uow: tickets.assign(uow, ticket.ticket_id, team="field", assignee="tom", actor=ALICE))
        ticket = _do(db, lambda uow: tickets.transition(uow, ticket.ticket_id, to=Status.IN_PROGRESS, actor=TOM))
    return ticket


def _new(ticket_id: str, **overrides: Any) -> NewWorkOrder:
    values: dict[str, Any] = {
        "ticket_id": ticket_id,
        "site_address": "Hauptstrasse 5, 10115 Berlin",
        "latitude": 52.5321,
        "longitude": 13.3849,
        "window_start": MORNING[0],
        "window_end": MORNING[1],
        "estimated_minutes": 90,
        "created_by": "alice",
        "parts_needed": (PartLine("PUMP-200", 1), PartLine("CLAMP-8", 2)),
    }
    values.update(overrides)
    return NewWorkOrder(**values)


def _create(db: Database, ticket: Ticket, **overrides: Any) -> WorkOrder:
    return _do(db, lambda uow: service.create_work_order(uow, _new(ticket.ticket_id, **overrides), actor=ALICE))


def _schedule(
    db: Database, work_order: WorkOrder, *, technician: str = "tom", location: str = "van-tom", window: Any = AFTERNOON
) -> WorkOrder:
    return _do(
        db,
        lambda uow: service.schedule(
            uow,
            work_order.work_order_id,
            actor=ALICE,
            version=work_order.version,
            technician_id=technician,
            window_start=window[0],
            window_end=window[1],
            stock_location_id=location,
        ),
    )


def _move(db: Database, work_order: WorkOrder, to: WorkOrderStatus, actor: Actor = TOM, **more: Any) -> WorkOrder:
    return _do(
        db,
        lambda uow: service.move(uow, work_order.work_order_id, to=to, actor=actor, version=work_order.version, **more),
    )


def _on_site(db: Database, work_order: WorkOrder) -> WorkOrder:
    return _move(db, _move(db, work_order, S.EN_ROUTE), S.ON_SITE)


def _visit_without_parts(db: Database, ticket: Ticket) -> WorkOrder:
    """A technician on site for a visit that needs no parts."""
    return _on_site(db, _schedule(db, _create(db, ticket, parts_needed=()), location=""))


def _labour(db: Database, work_order: WorkOrder, minutes: int = 75) -> WorkOrder:
    return _do(
        db,
        lambda uow: service.log_labour(
            uow, work_order.work_order_id, actor=TOM, version=work_order.version, minutes=minutes
        ),
    )


def _used(db: Database, work_order: WorkOrder, *used: PartUse) -> WorkOrder:
    return _do(
        db,
        lambda uow: service.record_parts_used(
            uow, work_order.work_order_id, actor=TOM, version=work_order.version, used=used
        ),
    )


def _sign(db: Database, work_order: WorkOrder, name: str = "Erika Mustermann") -> WorkOrder:
    return _do(
        db,
        lambda uow: service.record_sign_off(
            uow, work_order.work_order_id, actor=TOM, version=work_order.version, signed_off_by=name
        ),
    )


def _complete(db: Database, work_order: WorkOrder, actor: Actor = TOM) -> WorkOrder:
    return _do(db, lambda uow: service.complete(uow, work_order.work_order_id, actor=actor, version=work_order.version))


def _level(db: Database, sku: str, location: str) -> tuple[int, int]:
    found = _read(db, lambda uow: service.list_stock(uow, location_id=location, sku=sku, after=None, limit=1))
    return (found[0].on_hand, found[0].reserved) if found else (0, 0)


def _held(db: Database, work_order: WorkOrder) -> tuple[PartUse, ...]:
    return _read(db, lambda uow: service.view_of(uow, work_order).reserved)


def _events(db: Database, *types: str) -> list[Any]:
    decoded = [envelope.decode(row.body, row.content_type) for row in rows(db, outbox)]
    return [e.payload for e in decoded if not types or e.type in types]


def _types(db: Database, prefix: str = "work_order.") -> list[str]:
    return [row.routing_key for row in rows(db, outbox) if row.routing_key.startswith(prefix)]


def _get(db: Database, work_order: WorkOrder, actor: Actor = ALICE) -> WorkOrder:
    return _read(db, lambda uow: service.get_work_order(uow, work_order.work_order_id, actor=actor))


# -- planning ------------------------------------------------------------------------------------


def test_a_work_order_for_a_ticket_takes_its_customer_and_skills_and_is_announced(db: Database, shelves: None) -> None:
    ticket = _ticket(db)

    created = _create(db, ticket)

    assert (created.status, created.version, created.customer_id) == (S.OPEN, 1, "C-1001")
    assert created.required_skills == ("washing-machines",)
    assert created.parts_needed == (PartLine("CLAMP-8", 2), PartLine("PUMP-200", 1))
    [announced] = _events(db, "work_order.created")
    assert (announced.work_order_id, announced.ticket_id, announced.customer_id) == (
        created.work_order_id,
        ticket.ticket_id,
        "C-1001",
    )
    assert [(p.sku, p.quantity) for p in announced.parts] == [("CLAMP-8", 2), ("PUMP-200", 1)]
    assert (announced.site_address, announced.estimated_minutes) == ("Hauptstrasse 5, 10115 Berlin", 90)


def test_a_work_order_for_an_unknown_ticket_is_not_found(db: Database, shelves: None) -> None:
    unknown = "0195a0c4-7d1e-7f00-8000-00000000dead"

    with pytest.raises(NotFound, match=f"ticket '{unknown}' does not exist"):
        _do(db, lambda uow: service.create_work_order(uow, _new(unknown), actor=ALICE))


def test_a_work_order_for_a_cancelled_ticket_is_refused(db: Database, shelves: None) -> None:
    ticket = _ticket(db)
    _do(db, lambda uow: tickets.transition(uow, ticket.ticket_id, to=Status.CANCELLED, actor=ALICE, reason="dup"))

    with pytest.raises(FailedPrecondition, match=f"ticket {ticket.number} is cancelled; cannot plan a visit for it"):
        _create(db, ticket)


def test_a_work_order_needing_a_part_not_in_the_catalogue_is_not_found(db: Database, shelves: None) -> None:
    with pytest.raises(NotFound, match="part 'VALVE-9' does not exist"):
        _create(db, _ticket(db), parts_needed=(PartLine("VALVE-9", 1),))


# -- booking and reserving -----------------------------------------------------------------------


def test_scheduling_books_the_technician_and_reserves_the_parts_at_the_named_van(db: Database, shelves: None) -> None:
    created = _create(db, _ticket(db))

    booked = _schedule(db, created)

    assert (booked.status, booked.technician_id, booked.stock_location_id, booked.version) == (
        S.SCHEDULED,
        "tom",
        "van-tom",
        2,
    )
    assert (booked.window_start, booked.window_end) == AFTERNOON
    assert _level(db, "PUMP-200", "van-tom") == (2, 1)
    assert _level(db, "CLAMP-8", "van-tom") == (10, 2)
    assert _held(db, booked) == (PartUse("CLAMP-8", "van-tom", 2), PartUse("PUMP-200", "van-tom", 1))
    [scheduled] = _events(db, "work_order.scheduled")
    assert (scheduled.technician_id, scheduled.stock_location_id, scheduled.version) == ("tom", "van-tom", 2)
    assert [(p.sku, p.quantity, p.location_id) for p in scheduled.reserved] == [
        ("CLAMP-8", 2, "van-tom"),
        ("PUMP-200", 1, "van-tom"),
    ]
    [moved] = _events(db, "work_order.status_changed")
    assert (moved.from_status, moved.to_status, moved.actor) == ("open", "scheduled", "alice")


def test_a_booking_is_all_or_nothing_and_names_the_part_short(db: Database, shelves: None) -> None:
    created = _create(db, _ticket(db), parts_needed=(PartLine("CLAMP-8", 2), PartLine("PUMP-200", 3)))

    with pytest.raises(FailedPrecondition) as refused:
        _schedule(db, created)

    assert str(refused.value) == "not enough PUMP-200 at van-tom: 3 wanted, 2 available (2 on hand, 0 reserved)"
    assert _level(db, "CLAMP-8", "van-tom") == (10, 0)
    assert _get(db, created).status is S.OPEN
    assert _types(db) == ["work_order.created"]


def test_a_booking_from_a_place_that_never_stocked_the_part_says_none_is_available(db: Database, shelves: None) -> None:
    created = _create(db, _ticket(db), parts_needed=(PartLine("HOSE-12", 1),))

    with pytest.raises(FailedPrecondition, match="van-tom stocks no HOSE-12: cannot take 1; 0 available"):
        _schedule(db, created)


def test_parts_cannot_come_from_another_technicians_van(db: Database, shelves: None) -> None:
    created = _create(db, _ticket(db))

    with pytest.raises(FailedPrecondition, match="van van-tina belongs to tina, not tom"):
        _schedule(db, created, technician="tom", location="van-tina")


def test_booking_from_an_unknown_location_is_not_found(db: Database, shelves: None) -> None:
    with pytest.raises(NotFound, match="stock location 'depot-hamburg' does not exist"):
        _schedule(db, _create(db, _ticket(db)), location="depot-hamburg")


def test_rebooking_gives_the_vans_parts_back_and_reserves_at_the_depot(db: Database, shelves: None) -> None:
    booked = _schedule(db, _create(db, _ticket(db), parts_needed=(PartLine("PUMP-200", 2),)))

    rebooked = _schedule(db, booked, technician="tina", location="depot-berlin", window=NEXT_WEEK)

    assert (rebooked.technician_id, rebooked.window_start, rebooked.version) == ("tina", NEXT_WEEK[0], 3)
    assert _level(db, "PUMP-200", "van-tom") == (2, 0)
    assert _level(db, "PUMP-200", "depot-berlin") == (5, 2)
    last = _events(db, "work_order.scheduled")[-1]
    assert [(p.sku, p.quantity, p.location_id) for p in last.released] == [("PUMP-200", 2, "van-tom")]
    assert [(p.sku, p.quantity, p.location_id) for p in last.reserved] == [("PUMP-200", 2, "depot-berlin")]
    assert [(e.from_status, e.to_status) for e in _events(db, "work_order.status_changed")] == [("open", "scheduled")]


def test_rebooking_at_the_same_van_may_use_the_parts_it_already_holds(db: Database, shelves: None) -> None:
    booked = _schedule(db, _create(db, _ticket(db), parts_needed=(PartLine("PUMP-200", 2),)))

    rebooked = _schedule(db, booked, window=NEXT_WEEK)

    assert rebooked.window_start == NEXT_WEEK[0]
    assert _level(db, "PUMP-200", "van-tom") == (2, 2)


def test_a_change_from_a_stale_version_is_aborted_and_moves_no_stock(db: Database, shelves: None) -> None:
    created = _create(db, _ticket(db))
    _schedule(db, created)

    with pytest.raises(Aborted, match="is at version 2, not 1"):
        _schedule(db, created, location="depot-berlin")

    assert _level(db, "PUMP-200", "depot-berlin") == (5, 0)


# -- the visit -----------------------------------------------------------------------------------


def test_a_completed_visit_consumes_what_was_used_gives_back_the_rest_and_resolves_the_ticket(
    db: Database, shelves: None
) -> None:
    ticket = _ticket(db)
    booked = _schedule(db, _create(db, ticket, parts_needed=(PartLine("PUMP-200", 2), PartLine("CLAMP-8", 2))))
    on_site = _on_site(db, booked)
    # One pump of the two reserved, and three clamps: two reserved, one more from the van's free stock.
    worked = _sign(db, _used(db, _labour(db, on_site), PartUse("PUMP-200", "", 1), PartUse("CLAMP-8", "", 3)))

    done = _complete(db, worked)

    assert (done.status, done.labour_minutes, done.signed_off_by) == (S.COMPLETED, 75, "Erika Mustermann")
    assert done.parts_consumed == (PartUse("CLAMP-8", "van-tom", 3), PartUse("PUMP-200", "van-tom", 1))
    assert _level(db, "PUMP-200", "van-tom") == (1, 0)
    assert _level(db, "CLAMP-8", "van-tom") == (7, 0)
    assert _held(db, done) == ()
    resolved = _read(db, lambda uow: tickets.load(uow, ticket.ticket_id))
    assert (resolved.status, resolved.resolution_code) == (Status.RESOLVED, "repaired_on_site")
    [completed] = _events(db, "work_order.completed")
    assert (completed.labour_minutes, completed.signed_off_by, completed.resolved_ticket) == (
        75,
        "Erika Mustermann",
        True,
    )
    assert [(p.sku, p.quantity) for p in completed.consumed] == [("CLAMP-8", 3), ("PUMP-200", 1)]
    assert [(p.sku, p.quantity) for p in completed.released] == [("PUMP-200", 1)]
    assert _types(db) == [
        "work_order.created",
        "work_order.status_changed",
        "work_order.scheduled",
        "work_order.status_changed",
        "work_order.status_changed",
        "work_order.updated",
        "work_order.updated",
        "work_order.updated",
        "work_order.status_changed",
        "work_order.completed",
    ]
    assert "ticket.resolved" in _types(db, "ticket.")


def test_the_technicians_records_are_announced_field_by_field(db: Database, shelves: None) -> None:
    on_site = _on_site(db, _schedule(db, _create(db, _ticket(db))))

    _sign(db, _used(db, _labour(db, on_site, 40), PartUse("PUMP-200", "", 1)))

    changes = [[(c.field, c.old_value, c.new_value) for c in e.changes] for e in _events(db, "work_order.updated")]
    assert changes == [
        [("labour_minutes", "0", "40")],
        [("parts_used", "", "PUMP-200@van-tom=1")],
        [("signed_off_by", "", "Erika Mustermann")],
    ]


def test_completing_while_another_work_order_is_open_leaves_the_ticket_open(db: Database, shelves: None) -> None:
    ticket = _ticket(db)
    _create(db, ticket, parts_needed=())
    _complete(db, _sign(db, _labour(db, _visit_without_parts(db, ticket))))

    assert _read(db, lambda uow: tickets.load(uow, ticket.ticket_id)).status is Status.NEW
    assert _events(db, "work_order.completed")[0].resolved_ticket is False


def test_completing_without_a_sign_off_changes_nothing(db: Database, shelves: None) -> None:
    on_site = _labour(db, _on_site(db, _schedule(db, _create(db, _ticket(db)))))

    with pytest.raises(FailedPrecondition, match="no customer sign-off"):
        _complete(db, on_site)

    assert _get(db, on_site).status is S.ON_SITE
    assert _level(db, "PUMP-200", "van-tom") == (2, 1)


def test_using_more_than_the_van_has_free_refuses_the_completion_naming_the_part(db: Database, shelves: None) -> None:
    other = _schedule(db, _create(db, _ticket(db), parts_needed=(PartLine("PUMP-200", 1),)))
    on_site = _on_site(db, _schedule(db, _create(db, _ticket(db), parts_needed=(PartLine("PUMP-200", 1),))))
    # The van has two pumps, both reserved: a second one for this visit is not free.
    worked = _sign(db, _labour(db, _used(db, on_site, PartUse("PUMP-200", "", 2))))

    with pytest.raises(FailedPrecondition, match="not enough PUMP-200 at van-tom: 1 wanted, 0 available"):
        _complete(db, worked)

    assert _level(db, "PUMP-200", "van-tom") == (2, 2)
    assert _held(db, other) == (PartUse("PUMP-200", "van-tom", 1),)


def test_a_revisit_for_missing_parts_consumes_what_was_fitted_keeps_the_rest_and_parks_the_ticket(
    db: Database, shelves: None
) -> None:
    ticket = _ticket(db, status=Status.IN_PROGRESS)
    booked = _schedule(db, _create(db, ticket, parts_needed=(PartLine("PUMP-200", 1), PartLine("CLAMP-8", 2))))
    on_site = _labour(db, _used(db, _on_site(db, booked), PartUse("CLAMP-8", "", 1)), 50)

    revisit = _move(
        db, on_site, S.NEEDS_REVISIT, note="inlet hose cracked; none on the van", missing_parts=[PartLine("HOSE-12", 1)]
    )

    assert revisit.parts_consumed == (PartUse("CLAMP-8", "van-tom", 1),)
    assert revisit.missing_parts == (PartLine("HOSE-12", 1),)
    assert revisit.outstanding_parts == (PartLine("CLAMP-8", 1), PartLine("HOSE-12", 1), PartLine("PUMP-200", 1))
    assert _level(db, "CLAMP-8", "van-tom") == (9, 1)
    assert _level(db, "PUMP-200", "van-tom") == (2, 1)
    parked = _read(db, lambda uow: tickets.load(uow, ticket.ticket_id))
    assert parked.status is Status.PENDING_PARTS
    moved = _events(db, "work_order.status_changed")[-1]
    assert (moved.to_status, moved.note) == ("needs_revisit", "inlet hose cracked; none on the van")
    assert [(p.sku, p.quantity, p.location_id) for p in moved.consumed] == [("CLAMP-8", 1, "van-tom")]
    assert [(p.sku, p.quantity) for p in moved.missing] == [("HOSE-12", 1)]


def test_booking_the_revisit_reserves_what_is_still_needed_and_resumes_the_ticket(db: Database, shelves: None) -> None:
    ticket = _ticket(db, status=Status.IN_PROGRESS)
    booked = _schedule(db, _create(db, ticket, parts_needed=(PartLine("PUMP-200", 1), PartLine("CLAMP-8", 2))))
    on_site = _labour(db, _used(db, _on_site(db, booked), PartUse("CLAMP-8", "", 1)), 50)
    revisit = _move(db, on_site, S.NEEDS_REVISIT, note="hose cracked", missing_parts=[PartLine("HOSE-12", 1)])
    _do(db, lambda uow: service.receive_stock(uow, "CLAMP-8", "depot-berlin", quantity=5, actor=SAM))

    second = _schedule(db, revisit, location="depot-berlin", window=NEXT_WEEK)

    assert _held(db, second) == (
        PartUse("CLAMP-8", "depot-berlin", 1),
        PartUse("HOSE-12", "depot-berlin", 1),
        PartUse("PUMP-200", "depot-berlin", 1),
    )
    assert _level(db, "CLAMP-8", "van-tom") == (9, 0)
    assert _level(db, "PUMP-200", "van-tom") == (2, 0)
    assert _read(db, lambda uow: tickets.load(uow, ticket.ticket_id)).status is Status.IN_PROGRESS


def test_the_depot_has_no_clamps_so_the_revisit_is_booked_from_the_van_instead(db: Database, shelves: None) -> None:
    booked = _schedule(db, _create(db, _ticket(db), parts_needed=(PartLine("CLAMP-8", 2),)))
    revisit = _move(db, _labour(db, _on_site(db, booked)), S.NEEDS_REVISIT, note="customer away")

    with pytest.raises(FailedPrecondition, match="depot-berlin stocks no CLAMP-8"):
        _schedule(db, revisit, location="depot-berlin")

    assert _held(db, revisit) == (PartUse("CLAMP-8", "van-tom", 2),)


def test_a_revisit_without_missing_parts_leaves_the_ticket_in_progress(db: Database, shelves: None) -> None:
    ticket = _ticket(db, status=Status.IN_PROGRESS)
    on_site = _on_site(db, _schedule(db, _create(db, ticket)))

    _move(db, on_site, S.NEEDS_REVISIT, note="nobody home")

    assert _read(db, lambda uow: tickets.load(uow, ticket.ticket_id)).status is Status.IN_PROGRESS


def test_cancelling_gives_every_reserved_part_back(db: Database, shelves: None) -> None:
    booked = _schedule(db, _create(db, _ticket(db)))

    cancelled = _do(
        db,
        lambda uow: service.cancel(
            uow, booked.work_order_id, actor=ALICE, version=booked.version, reason="customer fixed it"
        ),
    )

    assert (cancelled.status, cancelled.note) == (S.CANCELLED, "customer fixed it")
    assert _level(db, "PUMP-200", "van-tom") == (2, 0)
    assert _level(db, "CLAMP-8", "van-tom") == (10, 0)
    [event] = _events(db, "work_order.cancelled")
    assert (event.reason, event.technician_id, event.actor) == ("customer fixed it", "tom", "alice")
    assert [(p.sku, p.quantity) for p in event.released] == [("CLAMP-8", 2), ("PUMP-200", 1)]


def test_a_ticket_that_ends_calls_off_its_open_work_orders(db: Database, shelves: None) -> None:
    ticket = _ticket(db)
    booked = _schedule(db, _create(db, ticket))
    done = _complete(db, _sign(db, _labour(db, _visit_without_parts(db, ticket))))

    cancelled = _do(db, lambda uow: service.cancel_open_of_ticket(uow, ticket.ticket_id, reason="ticket merged"))

    assert [(w.work_order_id, w.status) for w in cancelled] == [(booked.work_order_id, S.CANCELLED)]
    assert _get(db, done).status is S.COMPLETED
    assert _level(db, "PUMP-200", "van-tom") == (2, 0)


# -- who sees what -------------------------------------------------------------------------------


def test_another_technicians_work_order_is_not_found_for_reading_or_changing(db: Database, shelves: None) -> None:
    booked = _schedule(db, _create(db, _ticket(db)))

    with pytest.raises(NotFound, match=f"work order '{booked.work_order_id}' does not exist"):
        _get(db, booked, TINA)
    with pytest.raises(NotFound):
        _move(db, booked, S.EN_ROUTE, TINA)
    assert _get(db, booked, TOM).technician_id == "tom"


def test_a_technician_lists_only_its_own_work_orders(db: Database, shelves: None) -> None:
    ticket = _ticket(db)
    toms = _schedule(db, _create(db, ticket, parts_needed=()), location="", window=NEXT_WEEK)
    _schedule(db, _create(db, ticket, parts_needed=()), technician="tina", location="")
    _create(db, ticket, parts_needed=())

    listed = _read(db, lambda uow: service.list_work_orders(uow, WorkOrderFilter(), actor=TOM, after=None, limit=10))

    assert [w.work_order_id for w in listed] == [toms.work_order_id]
    with pytest.raises(PermissionDenied, match="not tina's"):
        _read(
            db,
            lambda uow: service.list_work_orders(
                uow, WorkOrderFilter(technician_id="tina"), actor=TOM, after=None, limit=10
            ),
        )


def test_the_desk_lists_visits_soonest_first_a_page_at_a_time(db: Database, shelves: None) -> None:
    ticket = _ticket(db)
    later = _schedule(db, _create(db, ticket, parts_needed=()), location="", window=NEXT_WEEK)
    sooner = _schedule(db, _create(db, ticket, parts_needed=()), location="", window=AFTERNOON)
    earliest = _create(db, ticket, parts_needed=())  # still at the customer's morning window

    def page(after: tuple[datetime, str] | None) -> list[WorkOrder]:
        return _read(
            db, lambda uow: service.list_work_orders(uow, WorkOrderFilter(), actor=ALICE, after=after, limit=2)
        )

    first = page(None)
    second = page((first[-1].window_start, first[-1].work_order_id))

    assert [w.work_order_id for w in first + second] == [
        earliest.work_order_id,
        sooner.work_order_id,
        later.work_order_id,
    ]


def test_the_tickets_view_gets_a_summary_of_each_of_its_work_orders(db: Database, shelves: None) -> None:
    ticket = _ticket(db)
    booked = _schedule(db, _create(db, ticket))

    [summary] = _read(db, lambda uow: service.summaries_of(uow, ticket.ticket_id))

    assert (summary.work_order_id, summary.status, summary.technician_id) == (booked.work_order_id, S.SCHEDULED, "tom")
    as_proto = summary_proto(summary)
    assert (as_proto.status, as_proto.window_start.ToDatetime(tzinfo=UTC)) == ("scheduled", AFTERNOON[0])


# -- stock ---------------------------------------------------------------------------------------


def test_receiving_adds_to_what_is_on_hand(db: Database, shelves: None) -> None:
    level = _do(db, lambda uow: service.receive_stock(uow, "PUMP-200", "van-tom", quantity=3, actor=SAM))

    assert level == StockLevel("PUMP-200", "van-tom", on_hand=5, reserved=0)


def test_a_count_replaces_what_is_on_hand_but_never_below_what_is_reserved(db: Database, shelves: None) -> None:
    _schedule(db, _create(db, _ticket(db), parts_needed=(PartLine("PUMP-200", 2),)))

    with pytest.raises(FailedPrecondition, match="1 x PUMP-200 counted at van-tom, but 2 are reserved"):
        _do(db, lambda uow: service.count_stock(uow, "PUMP-200", "van-tom", counted=1, actor=SAM))
    counted = _do(db, lambda uow: service.count_stock(uow, "PUMP-200", "van-tom", counted=4, actor=SAM))

    assert (counted.on_hand, counted.reserved, counted.available) == (4, 2, 2)


@pytest.mark.parametrize("actor", [ALICE, TOM])
def test_only_supervisors_adjust_stock(db: Database, shelves: None, actor: Actor) -> None:
    with pytest.raises(PermissionDenied, match="only a supervisor or an admin may adjust stock"):
        _do(db, lambda uow: service.receive_stock(uow, "PUMP-200", "van-tom", quantity=1, actor=actor))


def test_stock_of_an_unknown_part_or_place_is_not_found(db: Database, shelves: None) -> None:
    with pytest.raises(NotFound, match="part 'VALVE-9'"):
        _do(db, lambda uow: service.receive_stock(uow, "VALVE-9", "van-tom", quantity=1, actor=SAM))
    with pytest.raises(NotFound, match="stock location 'van-tim'"):
        _do(db, lambda uow: service.receive_stock(uow, "PUMP-200", "van-tim", quantity=1, actor=SAM))


def test_stock_is_listed_by_place_then_part(db: Database, shelves: None) -> None:
    levels = _read(db, lambda uow: service.list_stock(uow, after=None, limit=10))

    assert [(lv.location_id, lv.sku, lv.on_hand) for lv in levels] == [
        ("depot-berlin", "HOSE-12", 3),
        ("depot-berlin", "PUMP-200", 5),
        ("van-tom", "CLAMP-8", 10),
        ("van-tom", "PUMP-200", 2),
    ]


def test_putting_a_part_again_renames_it(db: Database, shelves: None) -> None:
    _do(db, lambda uow: service.put_part(uow, Part("PUMP-200", "Drain pump 200W", "piece"), actor=SAM))

    listed = _read(db, lambda uow: service.list_parts(uow, after="", limit=10))

    assert [(p.sku, p.name) for p in listed] == [
        ("CLAMP-8", "Hose clamp 8mm"),
        ("HOSE-12", "Inlet hose"),
        ("PUMP-200", "Drain pump 200W"),
    ]


# -- through the servicer ------------------------------------------------------------------------

TOM_CALLER = Caller("tom", frozenset({"technician"}))
TINA_CALLER = Caller("tina", frozenset({"technician"}))
ALICE_CALLER = Caller("alice", frozenset({"agent"}))


@pytest.fixture
def api(db: Database, settings: Settings) -> WorkOrderApi:
    return WorkOrderApi(Runtime(settings=settings, db=db))


@pytest.fixture
def calling_as() -> Iterator[Callable[[Caller], Any]]:
    def as_(caller: Caller) -> Any:
        return context.working(WorkContext(correlation_id="corr-7f3a", causation_id="", caller=caller, deadline=None))

    yield as_


def _create_request(ticket: Ticket, **overrides: Any) -> work_orders_pb2.CreateWorkOrderRequest:
    request = work_orders_pb2.CreateWorkOrderRequest(
        idempotency_key="key-wo-0001",
        ticket_id=ticket.ticket_id,
        site_address="Hauptstrasse 5, 10115 Berlin",
        latitude=52.5321,
        longitude=13.3849,
        estimated_minutes=90,
        parts_needed=[work_orders_pb2.PartAmount(sku="PUMP-200", quantity=1)],
        **overrides,
    )
    request.window_start.FromDatetime(MORNING[0])
    request.window_end.FromDatetime(MORNING[1])
    return request


def test_every_rpc_of_the_service_has_a_permission_row() -> None:
    methods = set(work_orders_pb2.DESCRIPTOR.services_by_name["WorkOrderService"].methods_by_name)

    assert set(PERMISSIONS) == methods


def test_create_through_the_api_is_idempotent_by_key(
    db: Database, shelves: None, api: WorkOrderApi, calling_as: Callable[[Caller], Any]
) -> None:
    ticket = _ticket(db)
    with calling_as(ALICE_CALLER):
        first = api.CreateWorkOrder(_create_request(ticket), None)  # type: ignore[arg-type]
        again = api.CreateWorkOrder(_create_request(ticket), None)  # type: ignore[arg-type]

    assert again == first
    assert (first.work_order.status, first.work_order.created_by) == (work_orders_pb2.WORK_ORDER_STATUS_OPEN, "alice")
    assert _types(db) == ["work_order.created"]


def test_a_technician_reading_anothers_work_order_through_the_api_gets_not_found(
    db: Database, shelves: None, api: WorkOrderApi, calling_as: Callable[[Caller], Any]
) -> None:
    booked = _schedule(db, _create(db, _ticket(db)))
    request = work_orders_pb2.GetWorkOrderRequest(work_order_id=booked.work_order_id)

    with calling_as(TOM_CALLER):
        mine = api.GetWorkOrder(request, None).work_order  # type: ignore[arg-type]
    with calling_as(TINA_CALLER), pytest.raises(NotFound):
        api.GetWorkOrder(request, None)  # type: ignore[arg-type]

    assert (mine.technician_id, mine.status) == ("tom", work_orders_pb2.WORK_ORDER_STATUS_SCHEDULED)
    assert [(p.sku, p.quantity, p.location_id) for p in mine.reserved] == [
        ("CLAMP-8", 2, "van-tom"),
        ("PUMP-200", 1, "van-tom"),
    ]


def test_the_technicians_day_through_the_api(
    db: Database, shelves: None, api: WorkOrderApi, calling_as: Callable[[Caller], Any]
) -> None:
    booked = _schedule(db, _create(db, _ticket(db)))
    ref = booked.work_order_id

    with calling_as(TOM_CALLER):
        wo = api.TransitionWorkOrder(
            work_orders_pb2.TransitionWorkOrderRequest(
                work_order_id=ref,
                version=booked.version,
                to_status=work_orders_pb2.WORK_ORDER_STATUS_EN_ROUTE,
                idempotency_key="k-tom-001",
            ),
            None,  # type: ignore[arg-type]
        ).work_order
        wo = api.TransitionWorkOrder(
            work_orders_pb2.TransitionWorkOrderRequest(
                work_order_id=ref,
                version=wo.version,
                to_status=work_orders_pb2.WORK_ORDER_STATUS_ON_SITE,
                idempotency_key="k-tom-002",
            ),
            None,  # type: ignore[arg-type]
        ).work_order
        wo = api.LogLabour(
            work_orders_pb2.LogLabourRequest(
                work_order_id=ref, version=wo.version, minutes=80, idempotency_key="k-tom-003"
            ),
            None,  # type: ignore[arg-type]
        ).work_order
        wo = api.RecordPartsUsed(
            work_orders_pb2.RecordPartsUsedRequest(
                work_order_id=ref,
                version=wo.version,
                parts=[work_orders_pb2.PartAmount(sku="PUMP-200", quantity=1)],
                idempotency_key="k-tom-004",
            ),
            None,  # type: ignore[arg-type]
        ).work_order
        wo = api.RecordSignOff(
            work_orders_pb2.RecordSignOffRequest(
                work_order_id=ref, version=wo.version, signed_off_by="Erika Mustermann", idempotency_key="k-tom-005"
            ),
            None,  # type: ignore[arg-type]
        ).work_order
        wo = api.CompleteWorkOrder(
            work_orders_pb2.CompleteWorkOrderRequest(
                work_order_id=ref, version=wo.version, idempotency_key="k-tom-006"
            ),
            None,  # type: ignore[arg-type]
        ).work_order

    assert (wo.status, wo.labour_minutes, wo.signed_off_by, wo.version) == (
        work_orders_pb2.WORK_ORDER_STATUS_COMPLETED,
        80,
        "Erika Mustermann",
        8,
    )
    assert [(p.sku, p.quantity, p.location_id) for p in wo.parts_consumed] == [("PUMP-200", 1, "van-tom")]
    assert list(wo.reserved) == []
    assert wo.HasField("completed_at") and wo.HasField("signed_off_at")


def test_listing_through_the_api_pages_with_opaque_tokens(
    db: Database, shelves: None, api: WorkOrderApi, calling_as: Callable[[Caller], Any]
) -> None:
    ticket = _ticket(db)
    created = [_create(db, ticket, parts_needed=()) for _ in range(3)]

    with calling_as(ALICE_CALLER):
        first = api.ListWorkOrders(work_orders_pb2.ListWorkOrdersRequest(page_size=2), None)  # type: ignore[arg-type]
        second = api.ListWorkOrders(
            work_orders_pb2.ListWorkOrdersRequest(page_size=2, page_token=first.next_page_token),
            None,  # type: ignore[arg-type]
        )
        with pytest.raises(InvalidArgument, match="page_token"):
            api.ListWorkOrders(work_orders_pb2.ListWorkOrdersRequest(page_token="bm90LWEtdG9rZW4="), None)  # type: ignore[arg-type]

    assert [w.work_order_id for w in [*first.work_orders, *second.work_orders]] == [w.work_order_id for w in created]
    assert second.next_page_token == ""


def test_adjusting_stock_through_the_api(
    db: Database, shelves: None, api: WorkOrderApi, calling_as: Callable[[Caller], Any]
) -> None:
    with calling_as(Caller("sam", frozenset({"supervisor"}))):
        received = api.AdjustStock(
            work_orders_pb2.AdjustStockRequest(
                sku="HOSE-12", location_id="van-tom", receive=4, idempotency_key="k-sam-001"
            ),
            None,  # type: ignore[arg-type]
        ).level
        counted = api.AdjustStock(
            work_orders_pb2.AdjustStockRequest(
                sku="HOSE-12", location_id="van-tom", count=3, idempotency_key="k-sam-002"
            ),
            None,  # type: ignore[arg-type]
        ).level

    assert (received.on_hand, received.available) == (4, 4)
    assert (counted.on_hand, counted.reserved, counted.available) == (3, 0, 3)


def test_cancelling_the_ticket_calls_off_its_visit_and_puts_the_parts_back(db: Database, shelves: None) -> None:
    ticket = _ticket(db)
    booked = _schedule(db, _create(db, ticket))
    assert _level(db, "PUMP-200", "van-tom") == (2, 1)

    _do(
        db,
        lambda uow: tickets.transition(
            uow, ticket.ticket_id, to=Status.CANCELLED, actor=ALICE, reason="customer sold the machine"
        ),
    )

    assert _get(db, booked).status is S.CANCELLED
    assert _level(db, "PUMP-200", "van-tom") == (2, 0)
    [cancelled] = _events(db, "work_order.cancelled")
    assert cancelled.reason == "ticket T-000001 cancelled: customer sold the machine"
