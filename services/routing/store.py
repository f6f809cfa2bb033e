"""Routing's tables and queries."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import JSON, Column, MetaData, Row, SmallInteger, String, Table, select
from sqlalchemy.orm import Session

from services.routing.domain.tasks import Task, TaskStatus
from switchboard.db.types import BigIntId, UtcDateTime

metadata = MetaData()

tasks = Table(
    "tasks",
    metadata,
    Column("seq", BigIntId, primary_key=True, autoincrement=True),
    Column("task_id", String(36), nullable=False, unique=True),
    Column("ticket_id", String(36), nullable=False, index=True),
    Column("customer_id", String(64), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("required_skills", JSON, nullable=False),
    Column("language", String(35), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)


def _task(row: Row[Any]) -> Task:
    return Task(
        task_id=row.task_id,
        ticket_id=row.ticket_id,
        customer_id=row.customer_id,
        priority=row.priority,
        required_skills=tuple(row.required_skills),
        language=row.language,
        status=TaskStatus(row.status),
        created_at=row.created_at,
        seq=row.seq,
    )


class TaskStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, task: Task) -> Task:
        seq = self.session.execute(
            tasks.insert()
            .values(
                task_id=task.task_id,
                ticket_id=task.ticket_id,
                customer_id=task.customer_id,
                priority=task.priority,
                required_skills=list(task.required_skills),
                language=task.language,
                status=task.status.value,
                created_at=task.created_at,
            )
            .returning(tasks.c.seq)
        ).scalar_one()
        return replace(task, seq=seq)

    def page(self, *, after_seq: int, limit: int, ticket_id: str = "") -> list[Task]:
        query = select(tasks).where(tasks.c.seq > after_seq).order_by(tasks.c.seq).limit(limit)
        if ticket_id:
            query = query.where(tasks.c.ticket_id == ticket_id)
        return [_task(row) for row in self.session.execute(query)]
