"""Dispatch as a use case on a real SQLite database: routing learns work orders from ticketing's events,
recommends technicians for one, plans a day, and re-plans it when an emergency arrives."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.routing.domain.tasks import Task
from services.routing.domain.workers import Location, Shift, Worker, WorkerKind, WorkingHours
from services.routing.service import dispatch, privacy, tasks, workers
from services.routing.store.jobs import JobStore
from services.routing.store.tasks import TaskStore
from switchboard import errors
from switchboard.composition import Runtime
from switchboard.db.tables import outbox
from switchboard.db.types import utcnow
from switchboard.events.v1.customer_events_pb2 import CustomerErased
from switchboard.events.v1.work_order_events_pb2 import PartQuantity, WorkOrderCreated
from switchboard.settings import Settings
from switchboard.timestamps import timestamp
from tests.unit.builders import ROUTING_MIGRATIONS, OpenDb, as_event, rows

DAY = (utcnow() + timedelta(days=2)).date()
# Berlin: Mitte, Kreuzberg, Spandau (far west).
MITTE, KREUZBERG, SPANDAU = Location(52.520, 13.405), Location(52.499, 13.403), Location(52.535, 13.200)


@pytest.fixture
def runtime(open_db: OpenDb, settings: Settings) -> Runtime:
    return Runtime(settings=settings, db=open_db("routing", ROUTING_MIGRATIONS))


def _technician(runtime: Runtime, worker_id: str, base: Location, skills: dict[str, int], van: dict[str, int]) -> None:
    every_day = tuple(Shift(day, time(7), time(17)) for day in range(7))
    with runtime.uow() as uow:
        workers.put_worker(
            uow,
            Worker(
                worker_id=worker_id,
                name=worker_id.title(),
                kind=WorkerKind.TECHNICIAN,
                skills=skills,
                capacity={"field": 1},
                hours=WorkingHours("UTC", every_day),
                base=base,
                territory="berlin",
                van_stock=van,
            ),
            expected_version=0,
            actor="supervisor",
        )
        uow.commit()


def _work_order(runtime: Runtime, number: int, site: Location, *, day: date = DAY, skills: tuple[str, ...]) -> str:
    work_order_id = f"0195a0c4-7d1e-7f00-8000-0000000{number:05d}"
    start = datetime.combine(day, time(8), tzinfo=UTC)
    created = WorkOrderCreated(
        work_order_id=work_order_id,
        ticket_id=f"0195a0c4-7d1e-7f00-8000-1000000{number:05d}",
        customer_id=f"C-{number}",
        required_skills=skills,
        site_address="Somewhere in Berlin",
        latitude=site.latitude,
        longitude=site.longitude,
        window_start=timestamp(start),
        window_end=timestamp(start + timedelta(hours=8)),
        estimated_minutes=60,
        parts=[PartQuantity(sku="PUMP-7", quantity=1)],
    )
    with runtime.uow() as uow:
        dispatch.track_work_order(uow, as_event(created))
        uow.commit()
    return work_order_id


def test_the_close_skilled_technician_with_the_part_comes_first(runtime: Runtime) -> None:
    _technician(runtime, "tom", MITTE, {"washing-machines": 4}, {"PUMP-7": 2})
    _technician(runtime, "uwe", SPANDAU, {"washing-machines": 5}, {})
    _technician(runtime, "vic", KREUZBERG, {"heating": 5}, {"PUMP-7": 1})
    work_order = _work_order(runtime, 1, KREUZBERG, skills=("washing-machines",))

    with runtime.reader() as uow:
        found = dispatch.recommend(uow, work_order, limit=5)

    assert [r.worker_id for r in found] == ["tom", "uwe"]
    assert found[0].has_parts and not found[1].has_parts
    assert found[0].travel_minutes < found[1].travel_minutes


def test_a_work_order_routing_never_heard_of_is_not_found(runtime: Runtime) -> None:
    with runtime.reader() as uow, pytest.raises(errors.NotFound):
        dispatch.recommend(uow, "0195a0c4-7d1e-7f00-8000-00000000ffff", limit=5)


def test_a_planned_day_is_kept_and_an_emergency_is_fitted_into_it(runtime: Runtime) -> None:
    _technician(runtime, "tom", MITTE, {"washing-machines": 4}, {"PUMP-7": 2})
    _technician(runtime, "uwe", SPANDAU, {"washing-machines": 5}, {})
    planned = [_work_order(runtime, n, site, skills=("washing-machines",)) for n, site in ((1, MITTE), (2, SPANDAU))]

    with runtime.uow() as uow:
        made = dispatch.plan_day(uow, DAY, territory="berlin", time_limit_seconds=0.2, trigger="requested by sue")
        uow.commit()
    with runtime.uow() as uow:
        # An urgent ticket: its task is P1, so its work order is an emergency.
        tasks.create_task(
            uow,
            Task(
                task_id="0195a0c4-7d1e-7f00-8000-a00000000003",
                ticket_id="0195a0c4-7d1e-7f00-8000-100000000003",
                customer_id="C-3",
                created_at=utcnow(),
                priority=1,
            ),
        )
        uow.commit()
    emergency = _work_order(runtime, 3, KREUZBERG, skills=("washing-machines",))

    with runtime.reader() as uow:
        latest = dispatch.get_plan(uow, DAY, territory="berlin")
    assert sorted(v.work_order_id for visits in made.plan.routes.values() for v in visits) == sorted(planned)
    assert latest.plan_id != made.plan_id
    assert latest.trigger.startswith(f"emergency work order {emergency}")
    assert latest.plan.find(emergency) is not None
    assert [r.routing_key for r in rows(runtime.db, outbox, outbox.c.routing_key == "dispatch.planned")] == [
        "dispatch.planned",
        "dispatch.planned",
    ]


def test_an_erased_customer_is_forgotten_who_served_them_and_where_their_site_is(runtime: Runtime) -> None:
    work_order = _work_order(runtime, 7, KREUZBERG, skills=("washing-machines",))
    served_at = utcnow()
    with runtime.uow() as uow:
        TaskStore(uow.session).served("C-7", "anna", served_at)
        TaskStore(uow.session).served("C-8", "bert", served_at)
        uow.commit()

    with runtime.uow() as uow:
        privacy.forget_customer(uow, as_event(CustomerErased(customer_id="C-7", requested_by="dpo")))
        uow.commit()

    with runtime.reader() as uow:
        store = TaskStore(uow.session)
        assert store.last_agent("C-7", since=served_at - timedelta(days=1)) == ""
        assert store.last_agent("C-8", since=served_at - timedelta(days=1)) == "bert"
        job = JobStore(uow.session).get(work_order)
    assert job is not None
    assert (job.latitude, job.longitude, job.customer_id) == (0.0, 0.0, "C-7")
