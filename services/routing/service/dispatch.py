"""Dispatch of repair technicians: the work orders routing knows of, recommendations, day plans."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from services.routing.domain.dispatch.jobs import Job, Visit
from services.routing.domain.dispatch.planning import Plan, PlannedVisit, Unassigned, replan
from services.routing.domain.dispatch.planning import plan_day as dispatch_plan_day
from services.routing.domain.dispatch.recommend import Recommendation
from services.routing.domain.dispatch.recommend import recommend as dispatch_recommend
from services.routing.domain.dispatch.travel import StraightLine, great_circle_km
from services.routing.domain.workers import Location, Worker, WorkerKind
from services.routing.service.views import DayPlan
from services.routing.store.jobs import OPEN_JOB_STATUSES, JobStore, PlanStore
from services.routing.store.tasks import TaskStore
from services.routing.store.workers import WorkerStore
from switchboard import errors
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event
from switchboard.events.v1.routing_events_pb2 import DispatchPlanned
from switchboard.events.v1.work_order_events_pb2 import (
    WorkOrderCancelled,
    WorkOrderCompleted,
    WorkOrderCreated,
    WorkOrderScheduled,
    WorkOrderStatusChanged,
)
from switchboard.ids import new_id
from switchboard.timestamps import moment, timestamp


def _moment(message: Any, field: str) -> datetime | None:
    return moment(getattr(message, field)) if message.HasField(field) else None


def track_work_order(uow: UnitOfWork, event: Event) -> None:
    """work_order.*: keep what dispatch needs of each work order: where, when, how long, what for."""
    change = event.payload
    store = JobStore(uow.session)
    now = utcnow()
    if isinstance(change, WorkOrderCreated):
        if store.get(change.work_order_id) is not None:
            return
        tasks = TaskStore(uow.session).of_ticket(change.ticket_id)
        store.add(
            {
                "work_order_id": change.work_order_id,
                "ticket_id": change.ticket_id,
                "customer_id": change.customer_id,
                "required_skills": list(change.required_skills),
                "latitude": change.latitude,
                "longitude": change.longitude,
                "window_start": _moment(change, "window_start"),
                "window_end": _moment(change, "window_end"),
                "estimated_minutes": change.estimated_minutes,
                "parts": {p.sku: p.quantity for p in change.parts},
                "status": "open",
                "technician_id": "",
                # The ticket's urgency, as routing last saw it.
                "priority": min((t.priority for t in tasks), default=3),
                "territory": _territory(uow, change.latitude, change.longitude),
                "updated_at": now,
            }
        )
        job = _job(store.get(change.work_order_id))
        if job.emergency:
            _replan_for(uow, job)
    elif isinstance(change, WorkOrderScheduled):
        store.set(
            change.work_order_id,
            status="scheduled",
            technician_id=change.technician_id,
            window_start=_moment(change, "window_start"),
            window_end=_moment(change, "window_end"),
            updated_at=now,
        )
    elif isinstance(change, WorkOrderStatusChanged):
        store.set(change.work_order_id, status=change.to_status, technician_id=change.technician_id, updated_at=now)
    elif isinstance(change, WorkOrderCompleted):
        store.set(change.work_order_id, status="completed", updated_at=now)
    elif isinstance(change, WorkOrderCancelled):
        store.set(change.work_order_id, status="cancelled", updated_at=now)


def _territory(uow: UnitOfWork, latitude: float, longitude: float) -> str:
    """The territory of the technician based nearest the site: work orders carry no territory of their own."""
    best, nearest, site = "", math.inf, Location(latitude, longitude)
    for worker, _ in WorkerStore(uow.session).all():
        if worker.kind is not WorkerKind.TECHNICIAN or worker.base is None or not worker.territory:
            continue
        distance = great_circle_km(worker.base, site)
        if distance < nearest:
            best, nearest = worker.territory, distance
    return best


# The solver's budget when an emergency re-plans a day inside the handler of its work order.
EMERGENCY_TIME_LIMIT = 1.0
# Without a customer's window, a work order may be visited within this many days.
OPEN_WINDOW = timedelta(days=7)


def _job(row: Any) -> Job:
    start = row.window_start or row.updated_at
    return Job(
        work_order_id=row.work_order_id,
        ticket_id=row.ticket_id,
        customer_id=row.customer_id,
        location=Location(row.latitude, row.longitude),
        territory=row.territory,
        required_skills=tuple(row.required_skills),
        window_start=start,
        window_end=row.window_end or start + OPEN_WINDOW,
        duration_minutes=max(row.estimated_minutes, 1),
        parts=dict(row.parts),
        priority=row.priority,
        emergency=row.priority == 1,
    )


def _technicians(uow: UnitOfWork, territory: str = "") -> list[Worker]:
    return [
        worker
        for worker, _ in WorkerStore(uow.session).all()
        if worker.kind is WorkerKind.TECHNICIAN and (not territory or worker.territory == territory)
    ]


def _bookings(uow: UnitOfWork, start: datetime, end: datetime) -> dict[str, list[Visit]]:
    """The visits already booked (scheduled work orders) between ``start`` and ``end``, per technician."""
    booked: dict[str, list[Visit]] = {}
    for row in JobStore(uow.session).open_between(start, end):
        if row.status != "scheduled" or not row.technician_id or row.window_start is None:
            continue
        begin = row.window_start
        booked.setdefault(row.technician_id, []).append(
            Visit(
                work_order_id=row.work_order_id,
                start=begin,
                end=begin + timedelta(minutes=max(row.estimated_minutes, 1)),
                location=Location(row.latitude, row.longitude),
            )
        )
    for visits in booked.values():
        visits.sort(key=lambda v: v.start)
    return booked


def recommend(uow: UnitOfWork, work_order_id: str, *, limit: int) -> list[Recommendation]:
    row = JobStore(uow.session).get(work_order_id)
    if row is None:
        raise errors.NotFound("work order", work_order_id)
    if row.status not in OPEN_JOB_STATUSES:
        raise errors.FailedPrecondition(f"work order {work_order_id} is {row.status}: nothing left to dispatch")
    job = _job(row)
    bookings = _bookings(uow, job.window_start - timedelta(days=1), job.window_end + timedelta(days=1))
    return dispatch_recommend(job, _technicians(uow), bookings, StraightLine(), utcnow(), limit=limit)


def _day_range(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _open_jobs(uow: UnitOfWork, day: date, territory: str) -> list[Job]:
    start, end = _day_range(day)
    return [
        _job(row)
        for row in JobStore(uow.session).open_between(start, end)
        if row.status in ("open", "needs_revisit") and (not territory or row.territory == territory)
    ]


def plan_day(uow: UnitOfWork, day: date, *, territory: str, time_limit_seconds: float, trigger: str) -> DayPlan:
    """Assign and order the day's open work orders among the territory's technicians, and keep the plan."""
    start, end = _day_range(day)
    made = dispatch_plan_day(
        _open_jobs(uow, day, territory),
        _technicians(uow, territory),
        day,
        _bookings(uow, start, end),
        StraightLine(),
        time_limit_seconds,
    )
    return _keep(uow, day, territory, made, trigger)


def get_plan(uow: UnitOfWork, day: date, *, territory: str) -> DayPlan:
    row = PlanStore(uow.session).latest(day.isoformat(), territory)
    if row is None:
        raise errors.NotFound("plan", f"{day.isoformat()} {territory}".strip())
    return _day_plan(row.plan_id, day, territory, row.body, row.planned_at)


def _replan_for(uow: UnitOfWork, emergency: Job) -> None:
    """An urgent work order arrived for a day already planned: fit it in, keeping begun visits."""
    day = emergency.window_start.date()
    row = PlanStore(uow.session).latest(day.isoformat(), emergency.territory)
    if row is None:
        return
    previous = _day_plan(row.plan_id, day, emergency.territory, row.body, row.planned_at).plan
    start, end = _day_range(day)
    others = [job for job in _open_jobs(uow, day, emergency.territory) if job.work_order_id != emergency.work_order_id]
    replanned = replan(
        previous,
        emergency,
        others,
        _technicians(uow, emergency.territory),
        day,
        _bookings(uow, start, end),
        StraightLine(),
        utcnow(),
        EMERGENCY_TIME_LIMIT,
    )
    moved = ", ".join(m.work_order_id for m in replanned.moved)
    _keep(
        uow, day, emergency.territory, replanned.plan, f"emergency work order {emergency.work_order_id}; moved: {moved}"
    )


def _keep(uow: UnitOfWork, day: date, territory: str, plan: Plan, trigger: str) -> DayPlan:
    now = utcnow()
    plan_id = new_id()
    body = {
        "routes": {
            worker_id: [
                [v.work_order_id, v.arrive.isoformat(), v.start.isoformat(), v.end.isoformat(), v.travel_minutes]
                for v in visits
            ]
            for worker_id, visits in plan.routes.items()
        },
        "unassigned": [[u.work_order_id, u.reason] for u in plan.unassigned],
        "total_travel_minutes": plan.total_travel_minutes,
        "solve_seconds": plan.solve_seconds,
        "solver": plan.solver,
        "trigger": trigger,
    }
    PlanStore(uow.session).add(plan_id, day.isoformat(), territory, body, now)
    uow.emit(
        DispatchPlanned(
            plan_id=plan_id,
            day=day.isoformat(),
            territory=territory,
            visits=[
                DispatchPlanned.Visit(
                    work_order_id=v.work_order_id,
                    technician_id=worker_id,
                    start=timestamp(v.start),
                    end=timestamp(v.end),
                )
                for worker_id, visits in sorted(plan.routes.items())
                for v in visits
            ],
            unassigned=[u.work_order_id for u in plan.unassigned],
            total_travel_minutes=plan.total_travel_minutes,
            trigger=trigger,
            planned_at=timestamp(now),
        )
    )
    return DayPlan(plan_id, day, territory, plan, now, trigger)


def _day_plan(plan_id: str, day: date, territory: str, body: dict[str, Any], planned_at: datetime) -> DayPlan:
    plan = Plan(
        routes={
            worker_id: tuple(
                PlannedVisit(
                    work_order_id=wo,
                    arrive=datetime.fromisoformat(arrive),
                    start=datetime.fromisoformat(start),
                    end=datetime.fromisoformat(end),
                    travel_minutes=travel,
                )
                for wo, arrive, start, end, travel in visits
            )
            for worker_id, visits in body["routes"].items()
        },
        unassigned=tuple(Unassigned(wo, reason) for wo, reason in body["unassigned"]),
        total_travel_minutes=body["total_travel_minutes"],
        solve_seconds=body["solve_seconds"],
        solver=body["solver"],
    )
    return DayPlan(plan_id, day, territory, plan, planned_at, body["trigger"])
