"""A task: a request to find the right person for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class TaskStatus(StrEnum):
    QUEUED = "queued"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_TASK_STATUSES = frozenset({TaskStatus.QUEUED, TaskStatus.OFFERED, TaskStatus.ASSIGNED})


@dataclass(frozen=True)
class Requirement:
    """A skill the task needs, at this proficiency or better."""

    skill: str
    min_level: int = 1


@dataclass(frozen=True)
class Task:
    task_id: str
    customer_id: str
    created_at: datetime
    # The ticket it routes; empty for an inbound call that has no ticket yet.
    ticket_id: str = ""
    # Channel name as in ticketing (phone, chat, email, web, field, ...): which capacity it takes.
    channel: str = "web"
    # 1 (P1, most urgent) .. 4.
    priority: int = 3
    # Customer tier name: standard, silver, gold, platinum.
    tier: str = "standard"
    requirements: tuple[Requirement, ...] = ()
    language: str = ""
    # The team the request was triaged to; empty when any team may take it.
    team: str = ""
    # Set by queue selection when the task enters the engine; a relaxation step may overflow it.
    queue_id: str = ""
    # When it entered its current queue: the queue's relaxation steps count from here. None: at creation.
    queued_at: datetime | None = None
    # The agent who last served this customer, for sticky routing; empty when none.
    last_agent: str = ""
    # Workers never to offer it to (the customer asked, or they rejected it).
    avoid: frozenset[str] = frozenset()
    # Free-form attributes for queue expressions.
    attributes: Mapping[str, str] = field(default_factory=dict)
    status: TaskStatus = TaskStatus.QUEUED
    assignee: str = ""
    # Escalation by SLA breach: the queue to route to instead.
    escalated: bool = False
    seq: int = 0

    @property
    def required_skills(self) -> tuple[str, ...]:
        return tuple(r.skill for r in self.requirements)
