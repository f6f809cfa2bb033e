"""Workers: the agents and repair technicians tasks are routed to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum


class WorkerKind(StrEnum):
    AGENT = "agent"
    TECHNICIAN = "technician"


class Presence(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    BUSY = "busy"
    BREAK = "break"
    # After a task, for at most the queue's wrap-up time; then available again by itself.
    WRAP_UP = "wrap_up"


@dataclass(frozen=True)
class Shift:
    """One stretch of working time on a weekday (0 = Monday), in the worker's time zone."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class WorkingHours:
    time_zone: str
    shifts: tuple[Shift, ...]


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Worker:
    worker_id: str
    name: str
    kind: WorkerKind = WorkerKind.AGENT
    # Skill name -> proficiency 1 (novice) .. 5 (expert).
    skills: Mapping[str, int] = field(default_factory=dict)
    languages: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    # Channel name (voice, chat, email, ticket, ...) -> how many tasks of it at once.
    capacity: Mapping[str, int] = field(default_factory=dict)
    presence: Presence = Presence.OFFLINE
    # Wrap-up ends (or a break is planned to end) at this moment; None when open-ended.
    presence_until: datetime | None = None
    # Paused after letting offers expire: receives no offer before this moment.
    paused_until: datetime | None = None
    # None: always within working hours.
    hours: WorkingHours | None = None
    # Since when the worker has been without new or finished work (longest-idle routing); the engine keeps
    # it up to date and a replica restores it, so persist what Engine.worker() answers. None: unknown.
    idle_since: datetime | None = None
    # Free-form attributes for queue target expressions (e.g. {"dedicated": "platinum"}).
    attributes: Mapping[str, str] = field(default_factory=dict)
    # Technicians only.
    base: Location | None = None
    territory: str = ""
    # Part SKU -> quantity in the technician's van.
    van_stock: Mapping[str, int] = field(default_factory=dict)
    version: int = 0
