"""The DispatchService servicer, called directly (no server): technicians recommended for a work order
and a day planned, in their protobuf form; days that are not on the calendar refused by field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest

from services.routing.api.dispatch import DispatchApi
from services.routing.api.workers import WorkerApi
from services.routing.service import dispatch
from switchboard.composition import Runtime
from switchboard.db.tables import outbox
from switchboard.db.types import utcnow
from switchboard.errors import InvalidArgument, NotFound
from switchboard.events.v1.work_order_events_pb2 import PartQuantity, WorkOrderCreated
from switchboard.routing.v1 import dispatch_pb2 as pb
from switchboard.routing.v1 import workers_pb2
from switchboard.settings import Settings
from switchboard.timestamps import timestamp
from tests.unit.builders import ROUTING_MIGRATIONS, OpenDb, as_event, count
from tests.unit.services.routing.api_calls import SOFIA, acting_as, put_worker_request

DAY = (utcnow() + timedelta(days=2)).date()
LEAKING_WASHER = "0195a0c4-7d1e-7f00-8000-000000000001"
DEAD_DRYER = "0195a0c4-7d1e-7f00-8000-000000000002"


@pytest.fixture
def runtime(open_db: OpenDb, settings: Settings) -> Runtime:
    return Runtime(settings=settings, db=open_db("routing", ROUTING_MIGRATIONS))


@pytest.fixture
def api(runtime: Runtime) -> DispatchApi:
    return DispatchApi(runtime)


@pytest.fixture(autouse=True)
def _as_sofia() -> Iterator[None]:
    with acting_as(SOFIA):
        yield


def _technician(runtime: Runtime, worker_id: str, latitude: float, longitude: float, van: dict[str, int]) -> None:
    """A washing-machine technician in Berlin, on shift 07:00-17:00 UTC every day."""
    worker = workers_pb2.Worker(
        worker_id=worker_id,
        name=worker_id.title(),
        kind=workers_pb2.WORKER_KIND_TECHNICIAN,
        skills=[workers_pb2.Skill(name="washing-machines", level=4)],
        capacity=[workers_pb2.ChannelCapacity(channel="field", capacity=1)],
        hours=workers_pb2.WorkingHours(
            time_zone="UTC", shifts=[workers_pb2.Shift(weekday=d, start="07:00", end="17:00") for d in range(7)]
        ),
        base_latitude=latitude,
        base_longitude=longitude,
        territory="berlin",
        van_stock=[workers_pb2.StockItem(sku=sku, quantity=n) for sku, n in van.items()],
    )
    WorkerApi(runtime).PutWorker(put_worker_request(worker, key=f"key-worker-{worker_id}"), None)  # type: ignore[arg-type]


def _work_order(runtime: Runtime, work_order_id: str, latitude: float, longitude: float) -> None:
    """Ticketing's work_order.created: a washer repair in Berlin, 08:00-16:00 UTC, an hour, one pump."""
    start = datetime.combine(DAY, time(8), tzinfo=UTC)
    created = WorkOrderCreated(
        work_order_id=work_order_id,
        ticket_id="0195a0c4-7d1e-7f00-8000-100000000001",
        customer_id="C-1001",
        required_skills=["washing-machines"],
        site_address="Oranienstr. 25, Berlin",
        latitude=latitude,
        longitude=longitude,
        window_start=timestamp(start),
        window_end=timestamp(start + timedelta(hours=8)),
        estimated_minutes=60,
        parts=[PartQuantity(sku="PUMP-7", quantity=1)],
    )
    with runtime.uow() as uow:
        dispatch.track_work_order(uow, as_event(created))
        uow.commit()


@pytest.fixture
def berlin(runtime: Runtime) -> None:
    """Tom is based in Mitte with pumps in his van; Uwe in Spandau, far west, with none."""
    _technician(runtime, "tom", 52.520, 13.405, {"PUMP-7": 2})
    _technician(runtime, "uwe", 52.535, 13.200, {})
    _work_order(runtime, LEAKING_WASHER, 52.499, 13.403)
    _work_order(runtime, DEAD_DRYER, 52.530, 13.210)


def _plan(api: DispatchApi, key: str = "key-plan-0001", **request: object) -> pb.Plan:
    message = pb.PlanDayRequest(idempotency_key=key, day=DAY.isoformat(), territory="berlin", **request)  # type: ignore[arg-type]
    return api.PlanDay(message, None).plan  # type: ignore[arg-type]


def test_the_close_technician_with_the_part_is_recommended_first_with_the_reasons(
    api: DispatchApi, berlin: None
) -> None:
    request = pb.RecommendTechniciansRequest(work_order_id=LEAKING_WASHER)

    tom, uwe = api.RecommendTechnicians(request, None).recommendations  # type: ignore[arg-type]

    assert (tom.technician_id, tom.has_parts, list(tom.missing_parts)) == ("tom", True, [])
    assert (uwe.technician_id, uwe.has_parts, list(uwe.missing_parts)) == ("uwe", False, ["PUMP-7"])
    assert tom.score > uwe.score
    assert tom.travel_minutes < uwe.travel_minutes
    assert tom.earliest_start.ToDatetime(tzinfo=UTC) >= datetime.combine(DAY, time(8), tzinfo=UTC)
    assert "missing from the van: PUMP-7 x1" in uwe.reasons


def test_recommendations_for_an_unknown_work_order_are_not_found(api: DispatchApi) -> None:
    request = pb.RecommendTechniciansRequest(work_order_id="0195a0c4-7d1e-7f00-8000-00000000ffff")

    with pytest.raises(NotFound):
        api.RecommendTechnicians(request, None)  # type: ignore[arg-type]


def test_a_planned_day_routes_every_work_order_and_is_kept(api: DispatchApi, berlin: None) -> None:
    plan = _plan(api, time_limit_seconds=0.2)

    kept = api.GetPlan(pb.GetPlanRequest(day=DAY.isoformat(), territory="berlin"), None).plan  # type: ignore[arg-type]

    assert (plan.day, plan.territory, plan.trigger) == (DAY.isoformat(), "berlin", "requested by sofia")
    assert sorted(v.work_order_id for route in plan.routes for v in route.visits) == [LEAKING_WASHER, DEAD_DRYER]
    assert [route.technician_id for route in plan.routes] == ["tom", "uwe"]
    assert list(plan.unassigned) == []
    assert plan.solver and plan.planned_at.seconds > 0
    assert kept == plan


def test_a_retried_plan_answers_the_first_plan_and_plans_once(api: DispatchApi, runtime: Runtime, berlin: None) -> None:
    first = _plan(api, time_limit_seconds=0.2)

    retried = _plan(api, time_limit_seconds=0.2)

    assert retried == first
    assert count(runtime.db, outbox, outbox.c.routing_key == "dispatch.planned") == 1


def test_a_day_not_on_the_calendar_is_invalid_argument_naming_the_day(api: DispatchApi) -> None:
    with pytest.raises(InvalidArgument) as refused:
        api.GetPlan(pb.GetPlanRequest(day="2025-02-30"), None)  # type: ignore[arg-type]

    assert [v.field for v in refused.value.violations] == ["day"]


def test_a_day_never_planned_is_not_found(api: DispatchApi) -> None:
    with pytest.raises(NotFound, match="plan"):
        api.GetPlan(pb.GetPlanRequest(day=DAY.isoformat(), territory="berlin"), None)  # type: ignore[arg-type]
