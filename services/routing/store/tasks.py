"""Tasks, and who last served each customer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.routing.domain.tasks import OPEN_TASK_STATUSES, Requirement, Task, TaskStatus
from services.routing.store.schema import customer_agents, tasks


def _task(row: Row[Any]) -> Task:
    return Task(
        task_id=row.task_id,
        ticket_id=row.ticket_id,
        customer_id=row.customer_id,
        created_at=row.created_at,
        channel=row.channel,
        priority=row.priority,
        tier=row.tier,
        requirements=tuple(Requirement(skill, level) for skill, level in row.requirements),
        language=row.language,
        team=row.team,
        queue_id=row.queue_id,
        last_agent=row.last_agent,
        avoid=frozenset(row.avoid),
        attributes=dict(row.attributes),
        status=TaskStatus(row.status),
        assignee=row.assignee,
        escalated=row.escalated,
        seq=row.seq,
    )


class TaskStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, task: Task, *, origin: str) -> Task:
        seq = self.session.execute(
            insert(tasks)
            .values(
                task_id=task.task_id,
                ticket_id=task.ticket_id,
                customer_id=task.customer_id,
                priority=task.priority,
                required_skills=list(task.required_skills),
                requirements=[[r.skill, r.min_level] for r in task.requirements],
                language=task.language,
                status=task.status.value,
                created_at=task.created_at,
                channel=task.channel,
                tier=task.tier,
                team=task.team,
                queue_id=task.queue_id,
                last_agent=task.last_agent,
                avoid=sorted(task.avoid),
                attributes=dict(task.attributes),
                assignee=task.assignee,
                escalated=task.escalated,
                origin=origin,
                version=1,
            )
            .returning(tasks.c.seq)
        ).scalar_one()
        return replace(task, seq=seq)

    def get(self, task_id: str, *, lock: bool = False) -> Task | None:
        query = select(tasks).where(tasks.c.task_id == task_id)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return _task(row) if row else None

    def detail(self, task_id: str) -> tuple[Task, Any, datetime | None] | None:
        """The task, why it waits as the matcher last noted (or None), and when it was assigned."""
        row = self.session.execute(select(tasks).where(tasks.c.task_id == task_id)).first()
        return (_task(row), row.waiting, row.assigned_at) if row else None

    def of_ticket(self, ticket_id: str, *, open_only: bool = False) -> list[Task]:
        query = select(tasks).where(tasks.c.ticket_id == ticket_id).order_by(tasks.c.seq)
        if open_only:
            query = query.where(tasks.c.status.in_([s.value for s in OPEN_TASK_STATUSES]))
        return [_task(row) for row in self.session.execute(query)]

    def open(self) -> list[Task]:
        query = select(tasks).where(tasks.c.status.in_([s.value for s in OPEN_TASK_STATUSES])).order_by(tasks.c.seq)
        return [_task(row) for row in self.session.execute(query)]

    def page(self, *, after_seq: int, limit: int, ticket_id: str = "", status: str = "") -> list[Task]:
        query = select(tasks).where(tasks.c.seq > after_seq).order_by(tasks.c.seq).limit(limit)
        if ticket_id:
            query = query.where(tasks.c.ticket_id == ticket_id)
        if status:
            query = query.where(tasks.c.status == status)
        return [_task(row) for row in self.session.execute(query)]

    def move(self, task_id: str, *, to: TaskStatus, among: Iterable[TaskStatus], **values: Any) -> bool:
        """Move the task to ``to`` only from one of ``among``: False when another change got there first."""
        moved = self.session.execute(
            update(tasks)
            .where(tasks.c.task_id == task_id, tasks.c.status.in_([s.value for s in among]))
            .values(status=to.value, version=tasks.c.version + 1, **values)
            .returning(tasks.c.task_id)
        ).first()
        return moved is not None

    def set(self, task_id: str, **values: Any) -> None:
        self.session.execute(update(tasks).where(tasks.c.task_id == task_id).values(**values))

    def last_agent(self, customer_id: str, *, since: datetime) -> str:
        found = self.session.execute(
            select(customer_agents.c.worker_id).where(
                customer_agents.c.customer_id == customer_id, customer_agents.c.served_at >= since
            )
        ).scalar()
        return found or ""

    def forget_customer(self, customer_id: str) -> None:
        """Who served an erased customer is theirs to have forgotten."""
        self.session.execute(delete(customer_agents).where(customer_agents.c.customer_id == customer_id))

    def served(self, customer_id: str, worker_id: str, at: datetime) -> None:
        is_sqlite = self.session.get_bind().dialect.name == "sqlite"
        statement = (sqlite_insert if is_sqlite else postgresql_insert)(customer_agents).values(
            customer_id=customer_id, worker_id=worker_id, served_at=at
        )
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[customer_agents.c.customer_id],
                set_={"worker_id": statement.excluded.worker_id, "served_at": statement.excluded.served_at},
            )
        )
