"""The engine's workers: their profiles, the capacity they hold, and an index of who is ready for what.

A worker is ready on a channel when available, not paused, on shift and with a free slot there, where
assigned tasks and pending offers both take a slot. The index maps (channel), (channel, skill, level),
(channel, language) and (channel, team) to the ready workers, a worker with boiler at 4 being listed
under levels 1 to 4; the workers who meet a task's terms are then an intersection of a few sets, done in
C, instead of a scan over every worker.

The roster also keeps every worker in the global orders the strategies rank by (idle since, share of
capacity in use, id), so that choosing among thousands of ready candidates reads the first few of an
order instead of scoring them all.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from itertools import chain
from typing import Generic, TypeVar

from services.routing.domain import hours
from services.routing.domain.qualification import Terms
from services.routing.domain.workers import Presence, Worker

_NOBODY: frozenset[str] = frozenset()
_Key = tuple[str, ...]
_K = TypeVar("_K", tuple[datetime, str], tuple[float, datetime, str])


class _Sorted(Generic[_K]):
    """Workers kept sorted by a key that changes now and then (one bisect and one memmove per change).
    Keys end on the worker id, so they never tie."""

    def __init__(self) -> None:
        self._keys: list[_K] = []
        self._current: dict[str, _K] = {}

    def set(self, worker_id: str, key: _K | None) -> None:
        old = self._current.get(worker_id)
        if old == key:
            return
        if old is not None:
            del self._keys[bisect_left(self._keys, old)]
            del self._current[worker_id]
        if key is not None:
            insort(self._keys, key)
            self._current[worker_id] = key

    def ids(self) -> Iterator[str]:
        return (key[-1] for key in self._keys)


class Roster:
    def __init__(self) -> None:
        self._workers: dict[str, Worker] = {}
        # Slots held per channel: assigned tasks and pending offers.
        self._held: dict[str, dict[str, int]] = {}
        self._on_shift: dict[str, bool] = {}
        self._shift_change: dict[str, datetime | None] = {}
        self._index: dict[_Key, set[str]] = {}
        self._keys: dict[str, list[_Key]] = {}
        self._by_idle: _Sorted[tuple[datetime, str]] = _Sorted()
        self._by_load: _Sorted[tuple[float, datetime, str]] = _Sorted()
        self._ids: list[str] = []

    def __contains__(self, worker_id: object) -> bool:
        return worker_id in self._workers

    def __iter__(self) -> Iterator[Worker]:
        return iter(self._workers.values())

    def __len__(self) -> int:
        return len(self._workers)

    def get(self, worker_id: str) -> Worker | None:
        return self._workers.get(worker_id)

    def __getitem__(self, worker_id: str) -> Worker:
        return self._workers[worker_id]

    def put(self, worker: Worker, now: datetime) -> None:
        """Add or replace; what the worker holds carries over."""
        if worker.worker_id not in self._workers:
            insort(self._ids, worker.worker_id)
        self._workers[worker.worker_id] = worker
        self._held.setdefault(worker.worker_id, {})
        self.shift_passed(worker.worker_id, now)

    def update(self, worker: Worker, now: datetime) -> None:
        """A change the engine made itself (presence, pause, idle time): same profile, same hours."""
        self._workers[worker.worker_id] = worker
        self.refresh(worker.worker_id, now)

    def remove(self, worker_id: str) -> None:
        self._unindex(worker_id)
        self._by_idle.set(worker_id, None)
        self._by_load.set(worker_id, None)
        del self._ids[bisect_left(self._ids, worker_id)]
        for mapping in (self._workers, self._held, self._on_shift, self._shift_change):
            mapping.pop(worker_id, None)

    def shift_passed(self, worker_id: str, now: datetime) -> None:
        """Working hours are re-read: at a put, and at the moment a shift starts or ends."""
        worker = self._workers[worker_id]
        self._on_shift[worker_id] = hours.on_shift(worker.hours, now)
        self._shift_change[worker_id] = hours.next_change(worker.hours, now)
        self.refresh(worker_id, now)

    def next_change(self, worker_id: str) -> datetime | None:
        """The next moment the worker's readiness changes by itself: wrap-up or pause over, shift edge."""
        worker = self._workers[worker_id]
        moments = [self._shift_change[worker_id], worker.paused_until]
        if worker.presence is Presence.WRAP_UP:
            moments.append(worker.presence_until)
        return min((moment for moment in moments if moment is not None), default=None)

    def on_shift(self, worker_id: str) -> bool:
        return self._on_shift.get(worker_id, False)

    def hold(self, worker_id: str, channel: str, slots: int, now: datetime) -> None:
        """Take (slots > 0) or give back (slots < 0) capacity on a channel."""
        held = self._held.get(worker_id)
        if held is None:
            return
        held[channel] = held.get(channel, 0) + slots
        if held[channel] <= 0:
            del held[channel]
        self.refresh(worker_id, now)

    def held(self, worker_id: str, channel: str) -> int:
        return self._held.get(worker_id, {}).get(channel, 0)

    def is_ready(self, worker_id: str, channel: str) -> bool:
        return worker_id in self._index.get(("c", channel), _NOBODY)

    def ready_channels(self, worker_id: str) -> list[str]:
        worker = self._workers[worker_id]
        return sorted(channel for channel in worker.capacity if self.is_ready(worker_id, channel))

    def ready_on(self, channel: str) -> set[str] | frozenset[str]:
        return self._index.get(("c", channel), _NOBODY)

    def ready_for(self, terms: Terms) -> set[str]:
        """The ready workers who have the skills at the levels, the language and a team of ``terms``.

        The target expression is not applied here: the caller evaluates it on the (usually few) survivors.
        """
        channel = terms.channel
        groups: list[set[str] | frozenset[str]] = [self._index.get(("c", channel), _NOBODY)]
        for skill, level in terms.levels:
            groups.append(self._index.get(("s", channel, skill, str(level)), _NOBODY))
        if terms.language:
            groups.append(self._index.get(("l", channel, terms.language), _NOBODY))
        if terms.teams:
            groups.append(set().union(*(self._index.get(("t", channel, team), _NOBODY) for team in terms.teams)))
        groups.sort(key=len)
        return set(groups[0]).intersection(*groups[1:])

    def refresh(self, worker_id: str, now: datetime) -> None:
        """Re-list the worker in the index after anything that may change where they are ready."""
        self._unindex(worker_id)
        worker = self._workers[worker_id]
        self._reorder(worker)
        if worker.presence is not Presence.AVAILABLE or not self._on_shift[worker_id]:
            return
        if worker.paused_until is not None and worker.paused_until > now:
            return
        held = self._held[worker_id]
        keys: list[_Key] = []
        for channel, slots in worker.capacity.items():
            if held.get(channel, 0) >= slots:
                continue
            keys.append(("c", channel))
            for skill, level in worker.skills.items():
                keys.extend(("s", channel, skill, str(up_to)) for up_to in range(1, level + 1))
            keys.extend(("l", channel, language) for language in worker.languages)
            keys.extend(("t", channel, team) for team in worker.teams)
        for key in keys:
            self._index.setdefault(key, set()).add(worker_id)
        self._keys[worker_id] = keys

    def _unindex(self, worker_id: str) -> None:
        for key in self._keys.pop(worker_id, ()):
            members = self._index[key]
            members.discard(worker_id)
            if not members:
                del self._index[key]

    # What strategies read (strategies.Standing).

    def idle_since(self, worker_id: str) -> datetime:
        since = self._workers[worker_id].idle_since
        assert since is not None, "the engine sets idle_since on every worker it holds"
        return since

    def occupancy(self, worker_id: str) -> tuple[int, int]:
        worker = self._workers[worker_id]
        held = self._held[worker_id]
        return sum(held.get(channel, 0) for channel in worker.capacity), sum(worker.capacity.values())

    def skill(self, worker_id: str, skill: str) -> int:
        return self._workers[worker_id].skills.get(skill, 0)

    def mark_idle_since(self, worker_id: str, moment: datetime) -> None:
        # Idle time orders candidates but never changes readiness: no re-indexing.
        worker = self._workers[worker_id] = replace(self._workers[worker_id], idle_since=moment)
        self._reorder(worker)

    def load(self, worker_id: str) -> float:
        """The share of the worker's capacity in use, all channels; 1 for a worker with no capacity."""
        used, total = self.occupancy(worker_id)
        return used / total if total else 1.0

    # The strategies' global orders, every worker, best first.

    def by_idle(self) -> Iterator[str]:
        return self._by_idle.ids()

    def by_load(self) -> Iterator[str]:
        return self._by_load.ids()

    def by_id_after(self, cursor: str) -> Iterator[str]:
        """Worker ids after ``cursor``, then from the first, as a rotation."""
        split = bisect_right(self._ids, cursor)
        return chain(self._ids[split:], self._ids[:split])

    def _reorder(self, worker: Worker) -> None:
        idle = worker.idle_since
        assert idle is not None, "the engine sets idle_since on every worker it holds"
        self._by_idle.set(worker.worker_id, (idle, worker.worker_id))
        self._by_load.set(worker.worker_id, (self.load(worker.worker_id), idle, worker.worker_id))
