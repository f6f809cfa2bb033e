"""How one worker is chosen among the qualified: the queue's strategy.

- longest idle: the worker who has gone longest without being given or finishing work;
- least occupied: the lowest share of capacity in use (all channels), then longest idle;
- best skill: the highest sum of proficiency over the task's required skills, then longest idle;
- round robin: the next worker id after the queue's cursor, wrapping around.

Each ranking ends on the worker id, so equal candidates are ordered the same way every run. The ties
of least occupied and best skill fall to longest idle rather than to the id so that equally placed
workers share the work equally instead of the alphabetically first one taking it all.

A few candidates are scored one by one. Many (a task anyone may take, with thousands of agents free) are
ranked by walking the standing's global order of the strategy and keeping the first candidates met: the
same order, at a cost that depends on how soon they come, not on how many there are. Best skill has no
global order (the score depends on the task's skills) unless the task requires none.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from itertools import islice
from typing import Any, Protocol

from services.routing.domain.offers import Candidate
from services.routing.domain.queues import Strategy
from services.routing.domain.tasks import Task


class Standing(Protocol):
    """What a strategy reads about a worker."""

    def idle_since(self, worker_id: str) -> datetime: ...

    def occupancy(self, worker_id: str) -> tuple[int, int]: ...

    def skill(self, worker_id: str, skill: str) -> int: ...

    def load(self, worker_id: str) -> float: ...

    def by_idle(self) -> Iterator[str]: ...

    def by_load(self) -> Iterator[str]: ...

    def by_id_after(self, cursor: str) -> Iterator[str]: ...


# From this many candidates on, walking a global order beats scoring each (measured at 10,000 workers).
WALK_ABOVE = 64


def rank(
    strategy: Strategy,
    candidates: Collection[str],
    *,
    task: Task,
    standing: Standing,
    cursor: str,
    now: datetime,
    top: int,
) -> list[Candidate]:
    """The best ``top`` candidates, best first, with their scores and a note on each."""
    order = _order(strategy, task, standing, cursor)
    if order is not None and len(candidates) > WALK_ABOVE:
        best = list(islice((worker_id for worker_id in order if worker_id in candidates), top))
    else:
        best = heapq.nsmallest(top, candidates, key=_key(strategy, task, standing, cursor))
    return [_candidate(strategy, worker_id, index, task, standing, now) for index, worker_id in enumerate(best)]


def _order(strategy: Strategy, task: Task, standing: Standing, cursor: str) -> Iterator[str] | None:
    """Every worker in the order ``_key`` ranks them, where there is such a global order."""
    if strategy is Strategy.LEAST_OCCUPIED:
        return standing.by_load()
    if strategy is Strategy.ROUND_ROBIN:
        return standing.by_id_after(cursor)
    if strategy is Strategy.BEST_SKILL and task.requirements:
        return None
    return standing.by_idle()


def _key(strategy: Strategy, task: Task, standing: Standing, cursor: str) -> Callable[[str], Any]:
    idle = standing.idle_since
    if strategy is Strategy.LEAST_OCCUPIED:
        return lambda worker_id: (standing.load(worker_id), idle(worker_id), worker_id)
    if strategy is Strategy.BEST_SKILL:
        skills = task.required_skills

        def skilled(worker_id: str) -> tuple[int, datetime, str]:
            return -sum(standing.skill(worker_id, skill) for skill in skills), idle(worker_id), worker_id

        return skilled
    if strategy is Strategy.ROUND_ROBIN:
        return lambda worker_id: (worker_id <= cursor, worker_id)
    return lambda worker_id: (idle(worker_id), worker_id)


def _candidate(
    strategy: Strategy, worker_id: str, index: int, task: Task, standing: Standing, now: datetime
) -> Candidate:
    idle_seconds = max((now - standing.idle_since(worker_id)).total_seconds(), 0.0)
    if strategy is Strategy.LEAST_OCCUPIED:
        used, total = standing.occupancy(worker_id)
        return Candidate(
            worker_id, 1 - (used / total if total else 1.0), f"busy {used}/{total}, idle {idle_seconds:.0f} s"
        )
    if strategy is Strategy.BEST_SKILL:
        levels = {skill: standing.skill(worker_id, skill) for skill in task.required_skills}
        note = ", ".join(f"{skill} {level}/5" for skill, level in levels.items()) or "no skill required"
        return Candidate(worker_id, float(sum(levels.values())), f"{note}, idle {idle_seconds:.0f} s")
    if strategy is Strategy.ROUND_ROBIN:
        return Candidate(worker_id, float(-index), f"#{index + 1} in the rotation")
    return Candidate(worker_id, idle_seconds, f"idle {idle_seconds:.0f} s")
