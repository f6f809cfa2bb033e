"""What dispatch works with: jobs (work orders waiting for a visit) and visits already booked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.routing.domain.workers import Location


@dataclass(frozen=True)
class Job:
    """A work order that needs a technician on site.

    The window is the arrival window promised to the customer: the visit starts within
    [window_start, window_end] and may run past window_end. Times are UTC-aware.
    """

    work_order_id: str
    ticket_id: str
    customer_id: str
    location: Location
    territory: str
    required_skills: tuple[str, ...]
    window_start: datetime
    window_end: datetime
    duration_minutes: int
    # Part SKU -> quantity the repair needs.
    parts: Mapping[str, int] = field(default_factory=dict)
    # 1 (most urgent) .. 4.
    priority: int = 3
    emergency: bool = False

    def __post_init__(self) -> None:
        if self.window_start.tzinfo is None or self.window_end.tzinfo is None:
            raise ValueError(f"job {self.work_order_id}: window times must be timezone-aware")
        if self.window_end < self.window_start:
            raise ValueError(f"job {self.work_order_id}: window ends before it starts")
        if self.duration_minutes <= 0:
            raise ValueError(f"job {self.work_order_id}: duration must be positive")
        if not 1 <= self.priority <= 4:
            raise ValueError(f"job {self.work_order_id}: priority must be 1..4, not {self.priority}")

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True)
class Visit:
    """A visit booked for a technician: it holds them at ``location`` from ``start`` to ``end`` (UTC-aware)."""

    work_order_id: str
    start: datetime
    end: datetime
    location: Location

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError(f"visit {self.work_order_id}: times must be timezone-aware")
        if self.end < self.start:
            raise ValueError(f"visit {self.work_order_id}: ends before it starts")
