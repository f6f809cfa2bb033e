"""Routing's domain values to their protobuf messages and back.

Whether values make sense is for the declared constraints (checked by the interceptor before any work)
and for the use cases, which name the field they refuse. Decoding refuses only what has no domain value
at all: a time zone that does not exist, "24:30", a skill given twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, time
from typing import Any, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from services.routing.domain.dispatch.recommend import Recommendation
from services.routing.domain.hours import zone
from services.routing.domain.offers import Offer, OfferStatus, Waiting
from services.routing.domain.queues import Queue, Step, Strategy
from services.routing.domain.stats import QueueStats
from services.routing.domain.tasks import Requirement, Task, TaskStatus
from services.routing.domain.workers import Location, Presence, Shift, Worker, WorkerKind, WorkingHours
from services.routing.service.views import DayPlan, DecisionRecord, OfferView, TaskView, WorkerView
from switchboard.common.v1 import common_pb2
from switchboard.enums import CHANNELS, channel_name, channel_value, tier_name, tier_value
from switchboard.errors import FieldViolation, InvalidArgument
from switchboard.routing.v1 import dispatch_pb2, queues_pb2, routing_pb2, workers_pb2
from switchboard.timestamps import timestamp

M = TypeVar("M")


def presence_value(presence: Presence) -> workers_pb2.Presence.ValueType:
    return workers_pb2.Presence.Value(f"PRESENCE_{presence.value.upper()}")


def presence_of(value: int) -> Presence:
    return Presence(workers_pb2.Presence.Name(value).removeprefix("PRESENCE_").lower())  # type: ignore[arg-type]


def kind_value(kind: WorkerKind) -> workers_pb2.WorkerKind.ValueType:
    return workers_pb2.WorkerKind.Value(f"WORKER_KIND_{kind.value.upper()}")


def kind_of(value: int) -> WorkerKind:
    return WorkerKind(workers_pb2.WorkerKind.Name(value).removeprefix("WORKER_KIND_").lower())  # type: ignore[arg-type]


def task_status_value(status: TaskStatus) -> routing_pb2.TaskStatus.ValueType:
    return routing_pb2.TaskStatus.Value(f"TASK_STATUS_{status.value.upper()}")


def task_status_of(value: int) -> TaskStatus:
    return TaskStatus(routing_pb2.TaskStatus.Name(value).removeprefix("TASK_STATUS_").lower())  # type: ignore[arg-type]


def offer_status_value(status: OfferStatus) -> routing_pb2.OfferStatus.ValueType:
    return routing_pb2.OfferStatus.Value(f"OFFER_STATUS_{status.value.upper()}")


def strategy_value(strategy: Strategy) -> queues_pb2.Strategy.ValueType:
    return queues_pb2.Strategy.Value(f"STRATEGY_{strategy.value.upper()}")


def strategy_of(value: int) -> Strategy:
    return Strategy(queues_pb2.Strategy.Name(value).removeprefix("STRATEGY_").lower())  # type: ignore[arg-type]


def _when(value: datetime | None) -> Timestamp | None:
    return timestamp(value) if value is not None else None


def _channel(name: str) -> common_pb2.Channel.ValueType:
    # A task from a source that names no channel of ours (none yet) is shown as unspecified, not refused.
    return channel_value(name) if name in CHANNELS else common_pb2.CHANNEL_UNSPECIFIED


def _tier(name: str) -> common_pb2.CustomerTier.ValueType:
    return tier_value(name) if name else common_pb2.CUSTOMER_TIER_UNSPECIFIED


# -- workers -----------------------------------------------------------------------------------


def _clock(value: time) -> str:
    # time() cannot hold "24:00": the end of the day is time.max, as the store keeps it.
    return "24:00" if value == time.max else value.strftime("%H:%M")


def _clock_of(text: str, field: str) -> time:
    if text == "24:00":
        return time.max
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidArgument([FieldViolation(field, f"{text!r} is not a time of day HH:MM")]) from None


def _keyed(items: Iterable[M], key: Callable[[M], str], value: Callable[[M], int], field: str) -> dict[str, int]:
    """A repeated field as the mapping it stands for; a key given twice is refused, not silently overwritten."""
    mapping: dict[str, int] = {}
    for index, item in enumerate(items):
        name = key(item)
        if name in mapping:
            raise InvalidArgument([FieldViolation(f"{field}[{index}]", f"{name!r} is given twice")])
        mapping[name] = value(item)
    return mapping


def worker_of(message: workers_pb2.Worker) -> Worker:
    """The profile a PutWorker request carries; presence and load are the service's, not the caller's."""
    hours = None
    if message.HasField("hours"):
        try:
            zone(message.hours.time_zone)
        except InvalidArgument as unknown:
            raise InvalidArgument(
                [FieldViolation(f"worker.{v.field}", v.description) for v in unknown.violations]
            ) from None
        hours = WorkingHours(
            time_zone=message.hours.time_zone,
            shifts=tuple(
                Shift(
                    weekday=s.weekday,
                    start=_clock_of(s.start, f"worker.hours.shifts[{i}].start"),
                    end=_clock_of(s.end, f"worker.hours.shifts[{i}].end"),
                )
                for i, s in enumerate(message.hours.shifts)
            ),
        )
    kind = kind_of(message.kind)
    return Worker(
        worker_id=message.worker_id,
        name=message.name,
        kind=kind,
        skills=_keyed(message.skills, lambda s: s.name, lambda s: s.level, "worker.skills"),
        languages=frozenset(message.languages),
        teams=frozenset(message.teams),
        capacity=_keyed(message.capacity, lambda c: c.channel, lambda c: c.capacity, "worker.capacity"),
        hours=hours,
        attributes=dict(message.attributes),
        base=Location(message.base_latitude, message.base_longitude) if kind is WorkerKind.TECHNICIAN else None,
        territory=message.territory,
        van_stock=_keyed(message.van_stock, lambda item: item.sku, lambda item: item.quantity, "worker.van_stock"),
        version=message.version,
    )


def _capacities(counts: Mapping[str, int]) -> list[workers_pb2.ChannelCapacity]:
    return [workers_pb2.ChannelCapacity(channel=name, capacity=n) for name, n in sorted(counts.items())]


def worker_proto(view: WorkerView) -> workers_pb2.Worker:
    w = view.worker
    message = workers_pb2.Worker(
        worker_id=w.worker_id,
        name=w.name,
        kind=kind_value(w.kind),
        skills=[workers_pb2.Skill(name=name, level=level) for name, level in sorted(w.skills.items())],
        languages=sorted(w.languages),
        teams=sorted(w.teams),
        capacity=_capacities(w.capacity),
        attributes=dict(w.attributes),
        territory=w.territory,
        van_stock=[workers_pb2.StockItem(sku=sku, quantity=n) for sku, n in sorted(w.van_stock.items())],
        presence=presence_value(w.presence),
        presence_until=_when(w.presence_until),
        paused_until=_when(w.paused_until),
        load=_capacities(view.load),
        version=w.version,
    )
    if w.hours is not None:
        message.hours.CopyFrom(
            workers_pb2.WorkingHours(
                time_zone=w.hours.time_zone,
                shifts=[
                    workers_pb2.Shift(weekday=s.weekday, start=_clock(s.start), end=_clock(s.end))
                    for s in w.hours.shifts
                ],
            )
        )
    if w.base is not None:
        message.base_latitude, message.base_longitude = w.base.latitude, w.base.longitude
    return message


# -- tasks, offers and decisions ----------------------------------------------------------------


def task_of(request: routing_pb2.CreateTaskRequest, *, task_id: str, created_at: datetime) -> Task:
    # Priority and tier left unspecified take the domain's defaults.
    unless_unspecified: dict[str, Any] = {}
    if request.priority:
        unless_unspecified["priority"] = int(request.priority)
    if request.tier:
        unless_unspecified["tier"] = tier_name(request.tier)
    return Task(
        task_id=task_id,
        customer_id=request.customer_id,
        created_at=created_at,
        ticket_id=request.ticket_id,
        channel=channel_name(request.channel),
        **unless_unspecified,
        requirements=tuple(Requirement(r.skill, r.min_level) for r in request.requirements),
        language=request.language,
        team=request.team,
        last_agent=request.last_agent,
        avoid=frozenset(request.avoid),
        attributes=dict(request.attributes),
    )


def task_proto(task: Task, assigned_at: datetime | None = None) -> routing_pb2.Task:
    return routing_pb2.Task(
        task_id=task.task_id,
        ticket_id=task.ticket_id,
        customer_id=task.customer_id,
        priority=task.priority,  # type: ignore[arg-type]  # 1..4, the values of common.v1.Priority
        required_skills=task.required_skills,
        language=task.language,
        status=task_status_value(task.status),
        created_at=timestamp(task.created_at),
        channel=_channel(task.channel),
        tier=_tier(task.tier),
        requirements=[routing_pb2.Requirement(skill=r.skill, min_level=r.min_level) for r in task.requirements],
        team=task.team,
        queue_id=task.queue_id,
        last_agent=task.last_agent,
        avoid=sorted(task.avoid),
        assignee=task.assignee,
        assigned_at=_when(assigned_at),
        escalated=task.escalated,
        attributes=dict(task.attributes),
    )


def offer_proto(offer: Offer, task: Task) -> routing_pb2.Offer:
    """An offer with what its worker needs to decide at a glance, from its task."""
    return routing_pb2.Offer(
        offer_id=offer.offer_id,
        task_id=offer.task_id,
        worker_id=offer.worker_id,
        status=offer_status_value(offer.status),
        created_at=timestamp(offer.created_at),
        expires_at=timestamp(offer.expires_at),
        decision_id=offer.decision_id,
        ticket_id=task.ticket_id,
        customer_id=task.customer_id,
        channel=_channel(offer.channel),
        priority=task.priority,  # type: ignore[arg-type]
        tier=_tier(task.tier),
        required_skills=task.required_skills,
        queue_id=task.queue_id,
    )


def offer_view_proto(view: OfferView) -> routing_pb2.Offer:
    return offer_proto(view.offer, view.task)


def decision_proto(record: DecisionRecord) -> routing_pb2.Decision:
    reason = record.reason
    return routing_pb2.Decision(
        decision_id=record.decision_id,
        decided_at=timestamp(record.decided_at),
        queue_id=reason.queue_id,
        step=reason.step,
        rule=reason.rule,
        candidates=[
            routing_pb2.Candidate(worker_id=c.worker_id, score=c.score, note=c.note) for c in reason.candidates
        ],
        qualified=reason.qualified,
        explanation=reason.explanation,
        offered_to=record.offered_to,
    )


def waiting_proto(waiting: Waiting, as_of: datetime) -> routing_pb2.Waiting:
    message = routing_pb2.Waiting(
        queue_id=waiting.queue_id,
        step=waiting.step,
        waited_seconds=waiting.waited_seconds,
        explanation=waiting.explanation,
        as_of=timestamp(as_of),
    )
    if waiting.next_step_in_seconds is not None:
        message.next_step_in_seconds = waiting.next_step_in_seconds
    return message


def task_view_proto(view: TaskView, as_of: datetime) -> routing_pb2.GetTaskResponse:
    return routing_pb2.GetTaskResponse(
        task=task_proto(view.task, view.assigned_at),
        offers=[offer_proto(o, view.task) for o in view.offers],
        decisions=[decision_proto(d) for d in view.decisions],
        waiting=waiting_proto(view.waiting, as_of) if view.waiting is not None else None,
    )


# -- queues -------------------------------------------------------------------------------------


def queue_of(message: queues_pb2.Queue) -> Queue:
    return Queue(
        queue_id=message.queue_id,
        name=message.name,
        filter=message.filter,
        order=message.order,
        target=message.target,
        steps=tuple(
            Step(
                after_seconds=s.after_seconds,
                lower_levels_by=s.lower_levels_by,
                drop_skills=tuple(s.drop_skills),
                widen_to_teams=tuple(s.widen_to_teams),
                target=s.target,
                overflow_to=s.overflow_to,
            )
            for s in message.steps
        ),
        strategy=strategy_of(message.strategy),
        offer_to=message.offer_to,
        offer_timeout_seconds=message.offer_timeout_seconds,
        missed_offer_pause_seconds=message.missed_offer_pause_seconds,
        aging_seconds_per_level=message.aging_seconds_per_level,
        vip_tiers=frozenset(message.vip_tiers),
        dedicated_target=message.dedicated_target,
        sticky_seconds=message.sticky_seconds,
        wrap_up_seconds=message.wrap_up_seconds,
        service_level_seconds=message.service_level_seconds,
        version=message.version,
    )


def queue_proto(queue: Queue) -> queues_pb2.Queue:
    return queues_pb2.Queue(
        queue_id=queue.queue_id,
        name=queue.name,
        filter=queue.filter,
        order=queue.order,
        target=queue.target,
        steps=[
            queues_pb2.Step(
                after_seconds=s.after_seconds,
                lower_levels_by=s.lower_levels_by,
                drop_skills=s.drop_skills,
                widen_to_teams=s.widen_to_teams,
                target=s.target,
                overflow_to=s.overflow_to,
            )
            for s in queue.steps
        ],
        strategy=strategy_value(queue.strategy),
        offer_to=queue.offer_to,
        offer_timeout_seconds=queue.offer_timeout_seconds,
        missed_offer_pause_seconds=queue.missed_offer_pause_seconds,
        aging_seconds_per_level=queue.aging_seconds_per_level,
        # In the order of the tier enum, lowest first, so a queue reads the same however it was written.
        vip_tiers=sorted(queue.vip_tiers, key=lambda name: _tier(name)),
        dedicated_target=queue.dedicated_target,
        sticky_seconds=queue.sticky_seconds,
        wrap_up_seconds=queue.wrap_up_seconds,
        service_level_seconds=queue.service_level_seconds,
        version=queue.version,
    )


def stats_proto(stats: QueueStats) -> queues_pb2.QueueStats:
    return queues_pb2.QueueStats(
        queue_id=stats.queue_id,
        waiting=stats.waiting,
        longest_wait_seconds=stats.longest_wait_seconds,
        answered=stats.answered,
        average_speed_of_answer_seconds=stats.average_speed_of_answer_seconds,
        service_level_percent=stats.service_level_percent,
        abandoned=stats.abandoned,
        agents=[
            queues_pb2.PresenceCount(presence=presence_value(Presence(name)), workers=n)
            for name, n in sorted(stats.agents.items(), key=lambda item: presence_value(Presence(item[0])))
        ],
        occupancy=stats.occupancy,
    )


# -- dispatch -----------------------------------------------------------------------------------


def recommendation_proto(recommendation: Recommendation) -> dispatch_pb2.Recommendation:
    return dispatch_pb2.Recommendation(
        technician_id=recommendation.worker_id,
        score=recommendation.score,
        travel_minutes=recommendation.travel_minutes,
        earliest_start=timestamp(recommendation.earliest_start),
        has_parts=recommendation.has_parts,
        # The SKUs the van is short of; by how many units, the reasons say.
        missing_parts=sorted(recommendation.missing_parts),
        workload_minutes=recommendation.workload_minutes,
        reasons=recommendation.reasons,
    )


def plan_proto(kept: DayPlan) -> dispatch_pb2.Plan:
    plan = kept.plan
    return dispatch_pb2.Plan(
        plan_id=kept.plan_id,
        day=kept.day.isoformat(),
        territory=kept.territory,
        routes=[
            dispatch_pb2.Route(
                technician_id=worker_id,
                visits=[
                    dispatch_pb2.PlannedVisit(
                        work_order_id=v.work_order_id,
                        arrive=timestamp(v.arrive),
                        start=timestamp(v.start),
                        end=timestamp(v.end),
                        travel_minutes=v.travel_minutes,
                    )
                    for v in visits
                ],
            )
            for worker_id, visits in sorted(plan.routes.items())
        ],
        unassigned=[dispatch_pb2.Unassigned(work_order_id=u.work_order_id, reason=u.reason) for u in plan.unassigned],
        total_travel_minutes=plan.total_travel_minutes,
        solve_seconds=plan.solve_seconds,
        solver=plan.solver,
        planned_at=timestamp(kept.planned_at),
        trigger=kept.trigger,
    )
