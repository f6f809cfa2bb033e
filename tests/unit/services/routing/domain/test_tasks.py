"""A task: a ticket waiting for the right person."""

from __future__ import annotations

from datetime import UTC, datetime

from services.routing.domain.tasks import Task, TaskStatus, task_for_ticket

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def _task_for_leak() -> Task:
    return task_for_ticket(
        task_id="0195a0c4-7d1e-7f00-8000-00000000a001",
        ticket_id="0195a0c4-7d1e-7f00-8000-000000000001",
        customer_id="C-1001",
        priority=2,
        skills=("washing-machines", "plumbing"),
        language="de",
        now=NOW,
    )


def test_a_task_for_a_ticket_is_queued_and_not_yet_stored() -> None:
    task = _task_for_leak()

    assert task.status is TaskStatus.QUEUED
    assert task.seq == 0


def test_a_task_for_a_ticket_asks_for_the_tickets_skills_language_and_priority() -> None:
    task = _task_for_leak()

    assert task.required_skills == ("washing-machines", "plumbing")
    assert (task.language, task.priority, task.customer_id) == ("de", 2, "C-1001")
    assert (task.ticket_id, task.created_at) == ("0195a0c4-7d1e-7f00-8000-000000000001", NOW)
