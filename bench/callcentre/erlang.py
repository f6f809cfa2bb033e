"""Erlang C: the M/M/c queue's answers to the three questions a staffing plan asks.

Calls arrive at random (Poisson), handle times are exponential, ``agents`` serve in parallel, callers
wait as long as it takes and are answered first come, first served. Then, with offered load
A = arrival rate x mean handle time (in Erlangs):

* P(wait), the share of calls that find every agent busy, is Erlang's C formula;
* ASA, the average speed of answer over all calls, is P(wait) x handle / (agents - A);
* the service level, the share answered within t seconds, is 1 - P(wait) x exp(-(agents - A) x t / handle).

The textbook example the simulator must reproduce: 100 calls per 30 minutes, 180 s handle time,
14 agents -> P(wait) 0.174, ASA 7.8 s, 88.8% answered within 20 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


class UnstableLoad(ValueError):
    """The offered load needs at least as many agents as there are: the queue would grow without bound."""


@dataclass(frozen=True)
class Staffing:
    """A queue's demand and the agents serving it."""

    calls_per_second: float
    handle_seconds: float
    agents: int

    def __post_init__(self) -> None:
        if self.calls_per_second <= 0:
            raise ValueError(f"calls_per_second must be positive, not {self.calls_per_second}")
        if self.handle_seconds <= 0:
            raise ValueError(f"handle_seconds must be positive, not {self.handle_seconds}")
        if self.agents < 1:
            raise ValueError(f"agents must be at least 1, not {self.agents}")
        if self.offered_load >= self.agents:
            raise UnstableLoad(
                f"{self.offered_load:.2f} Erlangs offered to {self.agents} agents: Erlang C needs more agents "
                f"than Erlangs (occupancy below 100%), otherwise the queue grows without bound"
            )

    @classmethod
    def per_interval(cls, calls: float, interval_seconds: float, handle_seconds: float, agents: int) -> Staffing:
        """As workforce planners say it: ``calls`` per ``interval_seconds`` (100 calls per 1800 s)."""
        return cls(calls / interval_seconds, handle_seconds, agents)

    @property
    def offered_load(self) -> float:
        """A, in Erlangs: how many agents the calls would keep busy on average."""
        return self.calls_per_second * self.handle_seconds

    @property
    def occupancy(self) -> float:
        return self.offered_load / self.agents


def probability_of_waiting(staffing: Staffing) -> float:
    """Erlang C, through Erlang B's recursion, which stays exact where A^c / c! would overflow."""
    load, agents = staffing.offered_load, staffing.agents
    blocking = 1.0
    for servers in range(1, agents + 1):
        blocking = load * blocking / (servers + load * blocking)
    return agents * blocking / (agents - load * (1 - blocking))


def average_speed_of_answer(staffing: Staffing) -> float:
    """Mean wait in seconds over all calls, those answered at once included."""
    return probability_of_waiting(staffing) * staffing.handle_seconds / (staffing.agents - staffing.offered_load)


def service_level(staffing: Staffing, within_seconds: float) -> float:
    """Share of calls (0..1) answered within ``within_seconds``."""
    if within_seconds < 0:
        raise ValueError(f"within_seconds must not be negative, not {within_seconds}")
    spare = staffing.agents - staffing.offered_load
    return 1 - probability_of_waiting(staffing) * math.exp(-spare * within_seconds / staffing.handle_seconds)
