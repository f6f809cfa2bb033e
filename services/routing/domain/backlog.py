"""A queue's waiting tasks, grouped in lanes of like tasks and kept in service order.

A lane holds the tasks whose terms are equal (same channel, relaxed skills and levels, language, teams
and the task fields the queue's expressions read), so whether a worker qualifies is one check per lane,
not per task. Each lane is a list sorted by the time-invariant order key (see ordering), and the lanes
themselves are kept sorted by the key of their head task. A worker becoming free reads the lanes in that
order and stops at the first it may serve: no lane after it can hold a more urgent task. It passes over
the lanes it may not serve, so the cost of a pick grows with the number of distinct kinds of waiting
task ahead of the worker's first match, not with the number of waiting tasks.

Trade-off: a sorted Python list costs O(n) to insert or remove in the middle, but that is one memmove
of pointers, cheaper at 100,000 tasks than a balanced tree written in Python; a heap would not give the
in-order scan past tasks a worker may not take (avoided, held for their last agent).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from services.routing.domain.ordering import OrderKey
from services.routing.domain.qualification import Terms


@dataclass(eq=False)
class Lane:
    terms: Terms
    keys: list[OrderKey] = field(default_factory=list)


class Backlog:
    def __init__(self) -> None:
        self._lanes: dict[Terms, Lane] = {}
        # (key of the lane's first task, lane), sorted; keys end on the task id, so they never tie.
        self._heads: list[tuple[OrderKey, Lane]] = []
        self._where: dict[str, tuple[Lane, OrderKey]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._where

    def add(self, task_id: str, terms: Terms, key: OrderKey) -> None:
        lane = self._lanes.get(terms)
        if lane is None:
            lane = self._lanes[terms] = Lane(terms)
        elif key < lane.keys[0]:
            self._drop_head(lane)
        insort(lane.keys, key)
        if lane.keys[0] == key:
            insort(self._heads, (key, lane))
        self._where[task_id] = (lane, key)

    def remove(self, task_id: str) -> None:
        lane, key = self._where.pop(task_id)
        if lane.keys[0] == key:
            self._drop_head(lane)
            del lane.keys[0]
            if lane.keys:
                insort(self._heads, (lane.keys[0], lane))
            else:
                del self._lanes[lane.terms]
        else:
            del lane.keys[bisect_left(lane.keys, key)]

    def _drop_head(self, lane: Lane) -> None:
        del self._heads[bisect_left(self._heads, (lane.keys[0],))]

    def lane_of(self, task_id: str) -> Lane:
        return self._where[task_id][0]

    def lanes(self) -> Iterator[tuple[OrderKey, Lane]]:
        """Every lane with the key of its first task, most urgent first."""
        return iter(self._heads)

    def ahead_of(self, task_id: str) -> list[str]:
        """The tasks before this one in its lane: the same workers will take them first."""
        lane, key = self._where[task_id]
        return [entry[3] for entry in lane.keys[: bisect_left(lane.keys, key)]]


class OldestFirst:
    """The creation times of a queue's unanswered tasks, for the longest wait, without a scan.

    A heap with lazy removal; it is rebuilt when stale entries outnumber the live ones so that a long
    run does not keep every task it ever saw.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str]] = []
        self._live: dict[str, datetime] = {}

    def __len__(self) -> int:
        return len(self._live)

    def add(self, task_id: str, created_at: datetime) -> None:
        self._live[task_id] = created_at
        heapq.heappush(self._heap, (created_at, task_id))

    def discard(self, task_id: str) -> None:
        if self._live.pop(task_id, None) is not None and len(self._heap) > 2 * len(self._live) + 64:
            self._heap = [(created, task) for task, created in self._live.items()]
            heapq.heapify(self._heap)

    def oldest(self) -> datetime | None:
        while self._heap:
            created, task_id = self._heap[0]
            if self._live.get(task_id) == created:
                return created
            heapq.heappop(self._heap)
        return None
