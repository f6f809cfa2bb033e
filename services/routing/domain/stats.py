"""Live statistics per queue, for the API and wallboards.

Counts (answered, abandoned, speed of answer) run from the moment the engine started or was restored:
they are this engine's view, and a report over a longer period belongs to the service, which has
every decision stored. Waiting tasks, agents and occupancy are read from the engine's state as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class QueueStats:
    queue_id: str
    # Tasks not yet assigned: queued or offered.
    waiting: int = 0
    longest_wait_seconds: float = 0.0
    answered: int = 0
    # Mean wait of the answered tasks, from their creation to their assignment; 0 before the first.
    average_speed_of_answer_seconds: float = 0.0
    # Answered within the queue's service_level_seconds, as a share of the answered; 100 before the first.
    service_level_percent: float = 100.0
    # Cancelled while still waiting.
    abandoned: int = 0
    # The queue's agents (those its target admits) by state; "busy" is an available agent with work.
    agents: Mapping[str, int] = field(default_factory=dict)
    # Capacity in use over the capacity of the agents who are working (not offline, not on a break), 0..1.
    occupancy: float = 0.0


@dataclass
class Tally:
    """A queue's running counts."""

    answered: int = 0
    answer_seconds: float = 0.0
    within_service_level: int = 0
    abandoned: int = 0

    def answer(self, waited_seconds: float, service_level_seconds: int) -> None:
        self.answered += 1
        self.answer_seconds += waited_seconds
        if waited_seconds <= service_level_seconds:
            self.within_service_level += 1

    def abandon(self) -> None:
        self.abandoned += 1

    def stats(
        self,
        queue_id: str,
        *,
        waiting: int,
        longest_wait_seconds: float,
        agents: Mapping[str, int],
        used: int,
        capacity: int,
    ) -> QueueStats:
        answered = self.answered
        return QueueStats(
            queue_id=queue_id,
            waiting=waiting,
            longest_wait_seconds=longest_wait_seconds,
            answered=answered,
            average_speed_of_answer_seconds=self.answer_seconds / answered if answered else 0.0,
            service_level_percent=100.0 * self.within_service_level / answered if answered else 100.0,
            abandoned=self.abandoned,
            agents=dict(sorted(agents.items())),
            occupancy=used / capacity if capacity else 0.0,
        )
