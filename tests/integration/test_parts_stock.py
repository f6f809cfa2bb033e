"""Parts stock under concurrent work on real PostgreSQL: many bookings race for the last units of a
part, and completions and cancellations run alongside new bookings. Exactly what is on the shelf is
promised, the refused get FAILED_PRECONDITION naming the part, the place and what is available, stock
never goes negative (watched while the race runs), and every unit is accounted for at the end."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from services.ticketing.domain.lifecycle import Actor
from services.ticketing.domain.parts import LocationKind, Part, PartLine, PartUse, StockLocation
from services.ticketing.domain.work_orders import NewWorkOrder, WorkOrder, WorkOrderStatus
from services.ticketing.service import tickets
from services.ticketing.service import work_orders as service
from services.ticketing.store.parts import stock, stock_reservations
from switchboard.db import migrate
from switchboard.db.engine import Database, open_database
from switchboard.db.uow import UnitOfWork
from switchboard.errors import FailedPrecondition
from switchboard.settings import Settings
from tests.unit.builders import new_ticket

T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "ticketing" / "migrations" / "versions"
ALICE = Actor("alice", frozenset({"agent"}))
SAM = Actor("sam", frozenset({"supervisor"}))
TOM = Actor("tom", frozenset({"technician"}))
_TOMORROW = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(0), tzinfo=UTC)
WINDOW = (_TOMORROW + timedelta(hours=8), _TOMORROW + timedelta(hours=12))
RACERS = 12


@pytest.fixture
def db(pg_url: str, settings_factory: Callable[..., Settings]) -> Iterator[Database]:
    database = open_database(settings_factory(database_url=pg_url), "ticketing")
    migrate.upgrade(database, MIGRATIONS)
    yield database
    database.dispose()


def _do(db: Database, act: Callable[[UnitOfWork], T]) -> T:
    with UnitOfWork(db) as uow:
        result = act(uow)
        uow.commit()
    return result


def _shelve(db: Database, pumps: int) -> None:
    def stock_up(uow: UnitOfWork) -> None:
        service.put_part(uow, Part("PUMP-200", "Drain pump", "piece"), actor=SAM)
        service.put_location(uow, StockLocation("depot-berlin", LocationKind.DEPOT, "Berlin depot"), actor=SAM)
        service.receive_stock(uow, "PUMP-200", "depot-berlin", quantity=pumps, actor=SAM)

    _do(db, stock_up)


def _work_orders(db: Database, count: int, pumps_each: int) -> list[WorkOrder]:
    """One ticket per work order, so bookings meet only at the stock row, not at a shared ticket."""

    def plan(uow: UnitOfWork) -> list[WorkOrder]:
        planned = []
        for index in range(count):
            ticket = tickets.create_ticket(uow, new_ticket(subject=f"Washing machine {index} leaks"))
            planned.append(
                service.create_work_order(
                    uow,
                    NewWorkOrder(
                        ticket_id=ticket.ticket_id,
                        site_address=f"Hauptstrasse {index + 1}, 10115 Berlin",
                        latitude=52.53,
                        longitude=13.38,
                        window_start=WINDOW[0],
                        window_end=WINDOW[1],
                        estimated_minutes=60,
                        created_by="alice",
                        parts_needed=(PartLine("PUMP-200", pumps_each),),
                    ),
                    actor=ALICE,
                )
            )
        return planned

    return _do(db, plan)


def _book(db: Database, work_order: WorkOrder) -> WorkOrder:
    return _do(
        db,
        lambda uow: service.schedule(
            uow,
            work_order.work_order_id,
            actor=ALICE,
            version=work_order.version,
            technician_id="tom",
            window_start=WINDOW[0],
            window_end=WINDOW[1],
            stock_location_id="depot-berlin",
        ),
    )


def _race(jobs: list[Callable[[], object]]) -> list[object]:
    """Run every job at once (a barrier releases them together); each result or the error it raised."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], object]) -> object:
        barrier.wait(timeout=30)
        try:
            return job()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


class StockWatch:
    """Samples the stock table while a race runs: the lowest available and reserved it ever saw."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.lowest_available: int | None = None
        self.lowest_reserved: int | None = None
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stock-watch", daemon=True)

    def __enter__(self) -> StockWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _watch(self) -> None:
        while not self._stop.is_set():
            with self.db.engine.connect() as connection:
                available, reserved = connection.execute(
                    select(func.min(stock.c.on_hand - stock.c.reserved), func.min(stock.c.reserved))
                ).one()
            self.lowest_available = (
                available if self.lowest_available is None else min(self.lowest_available, available)
            )
            self.lowest_reserved = reserved if self.lowest_reserved is None else min(self.lowest_reserved, reserved)
            self.samples += 1


def _level(db: Database) -> tuple[int, int]:
    with db.engine.connect() as connection:
        on_hand, reserved = connection.execute(
            select(stock.c.on_hand, stock.c.reserved).where(
                stock.c.sku == "PUMP-200", stock.c.location_id == "depot-berlin"
            )
        ).one()
    return on_hand, reserved


def _held_in_total(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(select(func.coalesce(func.sum(stock_reservations.c.quantity), 0))).scalar_one())


def test_bookings_racing_for_the_last_units_get_exactly_what_is_on_the_shelf(db: Database) -> None:
    _shelve(db, pumps=5)
    planned = _work_orders(db, RACERS, pumps_each=1)

    with StockWatch(db) as watch:
        outcomes = _race([partial(_book, db, w) for w in planned])

    booked = [o for o in outcomes if isinstance(o, WorkOrder)]
    refused = [o for o in outcomes if isinstance(o, FailedPrecondition)]
    assert (len(booked), len(refused)) == (5, RACERS - 5), [o for o in outcomes if isinstance(o, Exception)]
    assert {str(r) for r in refused} == {
        "not enough PUMP-200 at depot-berlin: 1 wanted, 0 available (5 on hand, 5 reserved)"
    }
    assert _level(db) == (5, 5)
    assert _held_in_total(db) == 5
    assert watch.samples > 0 and watch.lowest_available is not None and watch.lowest_available >= 0
    assert watch.lowest_reserved is not None and watch.lowest_reserved >= 0


def test_bookings_of_several_units_at_once_never_promise_more_than_there_is(db: Database) -> None:
    _shelve(db, pumps=10)
    planned = _work_orders(db, RACERS, pumps_each=3)

    with StockWatch(db) as watch:
        outcomes = _race([partial(_book, db, w) for w in planned])

    booked = [o for o in outcomes if isinstance(o, WorkOrder)]
    refused = [o for o in outcomes if isinstance(o, FailedPrecondition)]
    # Three bookings of three fit in ten; a fourth would need twelve.
    assert (len(booked), len(refused)) == (3, RACERS - 3), [o for o in outcomes if isinstance(o, Exception)]
    assert all("not enough PUMP-200 at depot-berlin: 3 wanted" in str(r) for r in refused)
    assert _level(db) == (10, 9)
    assert _held_in_total(db) == 9
    assert watch.lowest_available is not None and watch.lowest_available >= 0


def test_completions_cancellations_and_new_bookings_side_by_side_account_for_every_unit(db: Database) -> None:
    _shelve(db, pumps=10)
    to_complete = [_book(db, w) for w in _work_orders(db, 3, pumps_each=1)]
    to_cancel = [_book(db, w) for w in _work_orders(db, 3, pumps_each=1)]
    newcomers = _work_orders(db, 6, pumps_each=1)
    # Each visit fits its reserved pump and one more from what is free at the depot.
    ready = [_ready_to_complete(db, w) for w in to_complete]
    assert _level(db) == (10, 6)

    with StockWatch(db) as watch:
        outcomes = _race(
            [
                *[partial(_complete, db, w) for w in ready],
                *[partial(_cancel, db, w) for w in to_cancel],
                *[partial(_book, db, w) for w in newcomers],
            ]
        )

    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(f, FailedPrecondition) for f in failures), failures
    completed = [o for o in outcomes[:3] if isinstance(o, WorkOrder)]
    consumed = sum(u.quantity for w in completed for u in w.parts_consumed)
    newly_booked = [o for o in outcomes[6:] if isinstance(o, WorkOrder)]
    on_hand, reserved = _level(db)
    assert all(isinstance(o, WorkOrder) and o.status is WorkOrderStatus.CANCELLED for o in outcomes[3:6])
    # A completion refused for want of a free extra pump rolled back whole: it still holds its own.
    still_held = len(newly_booked) + len([o for o in outcomes[:3] if isinstance(o, FailedPrecondition)])
    assert on_hand == 10 - consumed
    assert reserved == still_held == _held_in_total(db)
    assert 0 <= reserved <= on_hand
    assert watch.lowest_available is not None and watch.lowest_available >= 0


def test_the_database_itself_refuses_stock_that_would_break_the_invariants(db: Database) -> None:
    _shelve(db, pumps=2)

    for change in ({"reserved": 3}, {"reserved": -1}, {"on_hand": -1, "reserved": 0}):
        with db.engine.connect() as connection, pytest.raises(IntegrityError, match="stock_"):
            connection.execute(update(stock).where(stock.c.sku == "PUMP-200").values(**change))

    assert _level(db) == (2, 0)


def test_the_check_constraints_are_in_the_schema(db: Database) -> None:
    with db.engine.connect() as connection:
        names = set(
            connection.execute(
                text("SELECT conname FROM pg_constraint WHERE conrelid = 'ticketing.stock'::regclass AND contype = 'c'")
            ).scalars()
        )

    assert names == {"stock_on_hand_not_negative", "stock_reserved_not_negative", "stock_reserved_within_on_hand"}


def _ready_to_complete(db: Database, booked: WorkOrder) -> WorkOrder:
    def step(act: Callable[[UnitOfWork, WorkOrder], WorkOrder], work_order: WorkOrder) -> WorkOrder:
        return _do(db, lambda uow: act(uow, work_order))

    w = step(
        lambda u, w: service.move(u, w.work_order_id, to=WorkOrderStatus.EN_ROUTE, actor=TOM, version=w.version), booked
    )
    w = step(lambda u, w: service.move(u, w.work_order_id, to=WorkOrderStatus.ON_SITE, actor=TOM, version=w.version), w)
    w = step(lambda u, w: service.log_labour(u, w.work_order_id, actor=TOM, version=w.version, minutes=60), w)
    w = step(
        lambda u, w: service.record_parts_used(
            u, w.work_order_id, actor=TOM, version=w.version, used=[PartUse("PUMP-200", "", 2)]
        ),
        w,
    )
    return step(
        lambda u, w: service.record_sign_off(u, w.work_order_id, actor=TOM, version=w.version, signed_off_by="E. M."),
        w,
    )


def _complete(db: Database, work_order: WorkOrder) -> WorkOrder:
    return _do(db, lambda uow: service.complete(uow, work_order.work_order_id, actor=TOM, version=work_order.version))


def _cancel(db: Database, work_order: WorkOrder) -> WorkOrder:
    return _do(
        db,
        lambda uow: service.cancel(
            uow, work_order.work_order_id, actor=ALICE, version=work_order.version, reason="customer away"
        ),
    )
