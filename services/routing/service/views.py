"""What routing's queries answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from services.routing.domain.dispatch.planning import Plan
from services.routing.domain.offers import Offer, Reason, Waiting
from services.routing.domain.tasks import Task
from services.routing.domain.workers import Worker


@dataclass(frozen=True)
class WorkerView:
    worker: Worker
    # Channel -> tasks held now (assigned and offered).
    load: Mapping[str, int]


@dataclass(frozen=True)
class DecisionRecord:
    decision_id: str
    task_id: str
    decided_at: datetime
    reason: Reason
    offered_to: tuple[str, ...]


@dataclass(frozen=True)
class TaskView:
    task: Task
    offers: list[Offer]
    decisions: list[DecisionRecord]
    waiting: Waiting | None
    assigned_at: datetime | None


@dataclass(frozen=True)
class OfferView:
    offer: Offer
    task: Task


@dataclass(frozen=True)
class DayPlan:
    """A day's plan as it was made and kept."""

    plan_id: str
    day: date
    territory: str
    plan: Plan
    planned_at: datetime
    # Why it was made: "requested by alice", "emergency work order ...".
    trigger: str
