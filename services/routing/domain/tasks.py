"""A task: a request to find the right person for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class TaskStatus(StrEnum):
    QUEUED = "queued"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Task:
    task_id: str
    ticket_id: str
    customer_id: str
    priority: int
    required_skills: tuple[str, ...]
    language: str
    status: TaskStatus
    created_at: datetime
    seq: int = 0


def task_for_ticket(
    *,
    task_id: str,
    ticket_id: str,
    customer_id: str,
    priority: int,
    skills: tuple[str, ...],
    language: str,
    now: datetime,
) -> Task:
    return Task(
        task_id=task_id,
        ticket_id=ticket_id,
        customer_id=customer_id,
        priority=priority,
        required_skills=skills,
        language=language,
        status=TaskStatus.QUEUED,
        created_at=now,
    )
