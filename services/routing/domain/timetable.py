"""When the engine must next act by itself: offers expiring, workers' wrap-up, pause or shift ending,
tasks reaching their next relaxation step or the end of their sticky window.

One moment per subject, kept in a heap with lazy removal. Subjects due at the same moment come out in
a fixed order (offers first, as they free capacity, then workers, then tasks; then by id) so that two
engines fed the same calls act in the same order.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from enum import IntEnum


class Subject(IntEnum):
    OFFER = 0
    WORKER = 1
    TASK = 2


Entry = tuple[Subject, str]


class Timetable:
    def __init__(self) -> None:
        self._heap: list[tuple[datetime, Subject, str]] = []
        self._when: dict[Entry, datetime] = {}

    def set(self, subject: Subject, key: str, when: datetime | None) -> None:
        entry = (subject, key)
        if when is None:
            self._when.pop(entry, None)
            return
        if self._when.get(entry) == when:
            return
        self._when[entry] = when
        heapq.heappush(self._heap, (when, subject, key))
        if len(self._heap) > 2 * len(self._when) + 64:
            self._heap = [(moment, subject, key) for (subject, key), moment in self._when.items()]
            heapq.heapify(self._heap)

    def next(self) -> datetime | None:
        while self._heap:
            when, subject, key = self._heap[0]
            if self._when.get((subject, key)) == when:
                return when
            heapq.heappop(self._heap)
        return None

    def pop_due(self, now: datetime) -> tuple[datetime, list[Entry]] | None:
        """The earliest moment at or before ``now`` with what is due then, removed; None if nothing is."""
        when = self.next()
        if when is None or when > now:
            return None
        due = []
        while self._heap and self._heap[0][0] == when:
            _, subject, key = heapq.heappop(self._heap)
            if self._when.get((subject, key)) == when:
                del self._when[(subject, key)]
                due.append((subject, key))
        return when, due

    def clear(self) -> None:
        self._heap.clear()
        self._when.clear()
