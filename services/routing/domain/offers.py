"""Offers of a task to a worker, and the decisions the engine makes with their reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class OfferStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"
    # Another worker accepted the same task first, or the task was cancelled.
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Offer:
    offer_id: str
    task_id: str
    worker_id: str
    # Channel whose capacity the offer holds while it is pending.
    channel: str
    created_at: datetime
    expires_at: datetime
    status: OfferStatus = OfferStatus.PENDING
    decision_id: str = ""


@dataclass(frozen=True)
class Candidate:
    worker_id: str
    # The strategy's score, higher is better (for the reason; comparable within one decision).
    score: float
    # Why this worker ranks where it does ("idle 312 s", "boiler 5/5", ...).
    note: str = ""


@dataclass(frozen=True)
class Reason:
    """Why a task went where it went, kept with the decision and readable through the API."""

    queue_id: str
    # Index of the relaxation step in force (-1: the queue's own target), and what it relaxed.
    step: int
    rule: str  # "vip", "sticky", "strategy:longest_idle", "overflow", ...
    # The best candidates considered, best first (at most a handful), and how many qualified in all.
    candidates: tuple[Candidate, ...] = ()
    qualified: int = 0
    explanation: str = ""


@dataclass(frozen=True)
class OfferMade:
    decision_id: str
    task_id: str
    offers: tuple[Offer, ...]
    reason: Reason


@dataclass(frozen=True)
class OfferClosed:
    """An offer stopped being pending: rejected, expired or withdrawn (accepted is TaskAssigned)."""

    offer: Offer
    why: str


@dataclass(frozen=True)
class TaskAssigned:
    task_id: str
    worker_id: str
    offer_id: str
    at: datetime


@dataclass(frozen=True)
class TaskMoved:
    """A relaxation step overflowed the task to another queue."""

    task_id: str
    from_queue: str
    to_queue: str
    step: int


@dataclass(frozen=True)
class WorkerStateChanged:
    worker_id: str
    presence: str
    until: datetime | None
    why: str  # "missed offer", "wrap-up over", "pause over", ...
    paused_until: datetime | None = None


Decision = OfferMade | OfferClosed | TaskAssigned | TaskMoved | WorkerStateChanged


@dataclass(frozen=True)
class Waiting:
    """Why a task is still waiting, for the API and the console."""

    task_id: str
    queue_id: str
    step: int
    waited_seconds: float
    explanation: str
    next_step_in_seconds: float | None = None
    blocked_by: tuple[str, ...] = field(default_factory=tuple)
