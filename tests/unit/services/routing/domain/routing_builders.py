"""Builders for the routing engine's specifications: real values, one moment T0, a counter for ids."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from services.routing.domain.engine import Engine
from services.routing.domain.offers import Decision, Offer, OfferClosed, OfferMade, TaskAssigned, WorkerStateChanged
from services.routing.domain.queues import Queue
from services.routing.domain.tasks import Requirement, Task
from services.routing.domain.workers import Presence, Worker, WorkingHours

T0 = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def engine(*queues: Queue) -> Engine:
    ids = itertools.count(1)
    return Engine(queues, ids=lambda: f"id-{next(ids):05d}")


def queue(queue_id: str = "support", **policy: Any) -> Queue:
    return Queue(queue_id=queue_id, name=queue_id.title(), **policy)


def agent(
    worker_id: str,
    *,
    skills: dict[str, int] | None = None,
    languages: Iterable[str] = ("en",),
    teams: Iterable[str] = (),
    capacity: dict[str, int] | None = None,
    presence: Presence = Presence.AVAILABLE,
    hours: WorkingHours | None = None,
    attributes: dict[str, str] | None = None,
) -> Worker:
    return Worker(
        worker_id=worker_id,
        name=worker_id.title(),
        skills=skills or {},
        languages=frozenset(languages),
        teams=frozenset(teams),
        capacity=capacity if capacity is not None else {"voice": 1},
        presence=presence,
        hours=hours,
        attributes=attributes or {},
    )


def task(
    task_id: str,
    *,
    created: float = 0,
    skills: dict[str, int] | None = None,
    language: str = "en",
    channel: str = "voice",
    priority: int = 3,
    tier: str = "standard",
    team: str = "",
    last_agent: str = "",
    avoid: Iterable[str] = (),
    attributes: dict[str, str] | None = None,
) -> Task:
    return Task(
        task_id=task_id,
        customer_id=f"C-{task_id}",
        created_at=at(created),
        channel=channel,
        priority=priority,
        tier=tier,
        requirements=tuple(Requirement(skill, level) for skill, level in (skills or {}).items()),
        language=language,
        team=team,
        last_agent=last_agent,
        avoid=frozenset(avoid),
        attributes=attributes or {},
    )


def offers_in(decisions: list[Decision]) -> list[Offer]:
    return [offer for d in decisions if isinstance(d, OfferMade) for offer in d.offers]


def offered(decisions: list[Decision]) -> list[tuple[str, str]]:
    """(task, worker) of every offer made, in order."""
    return [(offer.task_id, offer.worker_id) for offer in offers_in(decisions)]


def made(decisions: list[Decision]) -> list[OfferMade]:
    return [d for d in decisions if isinstance(d, OfferMade)]


def closed(decisions: list[Decision]) -> list[tuple[str, str, str]]:
    """(worker, status, why) of every offer closed."""
    return [(d.offer.worker_id, str(d.offer.status), d.why) for d in decisions if isinstance(d, OfferClosed)]


def assigned(decisions: list[Decision]) -> list[tuple[str, str]]:
    return [(d.task_id, d.worker_id) for d in decisions if isinstance(d, TaskAssigned)]


def state_changes(decisions: list[Decision]) -> list[WorkerStateChanged]:
    return [d for d in decisions if isinstance(d, WorkerStateChanged)]


def the_offer(decisions: list[Decision]) -> Offer:
    offers = offers_in(decisions)
    assert len(offers) == 1, offers
    return offers[0]
