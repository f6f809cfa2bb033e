"""Workers, and their capacity and load per channel."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

from sqlalchemy import Row, and_, delete, exists, insert, or_, select, update
from sqlalchemy.orm import Session

from services.routing.domain.workers import Location, Presence, Shift, Worker, WorkerKind, WorkingHours
from services.routing.store.schema import worker_channels, workers


def _hours(stored: Any) -> WorkingHours | None:
    if not stored:
        return None
    return WorkingHours(
        time_zone=stored["time_zone"],
        shifts=tuple(Shift(day, time.fromisoformat(start), _end(end)) for day, start, end in stored["shifts"]),
    )


def _end(stored: str) -> time:
    # "24:00" closes the day; time() cannot hold it.
    return time.max if stored == "24:00" else time.fromisoformat(stored)


def _stored_hours(hours: WorkingHours | None) -> dict[str, Any] | None:
    if hours is None:
        return None
    return {
        "time_zone": hours.time_zone,
        "shifts": [
            [s.weekday, s.start.strftime("%H:%M"), "24:00" if s.end == time.max else s.end.strftime("%H:%M")]
            for s in hours.shifts
        ],
    }


def _worker(row: Row[Any], capacity: Mapping[str, int]) -> Worker:
    base = None
    if row.base_latitude is not None and row.base_longitude is not None:
        base = Location(row.base_latitude, row.base_longitude)
    return Worker(
        worker_id=row.worker_id,
        name=row.name,
        kind=WorkerKind(row.kind),
        skills=dict(row.skills),
        languages=frozenset(row.languages),
        teams=frozenset(row.teams),
        capacity=dict(capacity),
        presence=Presence(row.presence),
        presence_until=row.presence_until,
        paused_until=row.paused_until,
        hours=_hours(row.hours),
        attributes=dict(row.attributes),
        base=base,
        territory=row.territory,
        van_stock=dict(row.van_stock),
        version=row.version,
    )


def _values(worker: Worker, now: datetime) -> dict[str, Any]:
    return {
        "name": worker.name,
        "kind": worker.kind.value,
        "skills": dict(sorted(worker.skills.items())),
        "languages": sorted(worker.languages),
        "teams": sorted(worker.teams),
        "hours": _stored_hours(worker.hours),
        "attributes": dict(worker.attributes),
        "base_latitude": worker.base.latitude if worker.base else None,
        "base_longitude": worker.base.longitude if worker.base else None,
        "territory": worker.territory,
        "van_stock": dict(sorted(worker.van_stock.items())),
        "updated_at": now,
    }


class WorkerStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, worker_id: str) -> tuple[Worker, dict[str, int]] | None:
        row = self.session.execute(select(workers).where(workers.c.worker_id == worker_id)).first()
        if row is None:
            return None
        capacity, load = self._channels([worker_id])
        return _worker(row, capacity.get(worker_id, {})), load.get(worker_id, {})

    def page(
        self, *, after: str, limit: int, team: str = "", kind: str = "", presence: str = ""
    ) -> list[tuple[Worker, dict[str, int]]]:
        query = select(workers).order_by(workers.c.worker_id).limit(limit)
        if kind:
            query = query.where(workers.c.kind == kind)
        if presence:
            query = query.where(workers.c.presence == presence)
        found: list[Row[Any]] = []
        # Teams are a short JSON list, filtered here to stay portable: read on until the page is full.
        while len(found) < limit:
            rows = list(self.session.execute(query.where(workers.c.worker_id > after)))
            found += [r for r in rows if not team or team in r.teams]
            if len(rows) < limit:
                break
            after = rows[-1].worker_id
        found = found[:limit]
        capacity, load = self._channels([r.worker_id for r in found])
        return [(_worker(r, capacity.get(r.worker_id, {})), load.get(r.worker_id, {})) for r in found]

    def all(self) -> list[tuple[Worker, dict[str, int]]]:
        rows = list(self.session.execute(select(workers).order_by(workers.c.worker_id)))
        capacity, load = self._channels(None)
        return [(_worker(r, capacity.get(r.worker_id, {})), load.get(r.worker_id, {})) for r in rows]

    def _channels(self, worker_ids: list[str] | None) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
        query = select(worker_channels)
        if worker_ids is not None:
            query = query.where(worker_channels.c.worker_id.in_(worker_ids))
        capacity: dict[str, dict[str, int]] = {}
        load: dict[str, dict[str, int]] = {}
        for row in self.session.execute(query):
            capacity.setdefault(row.worker_id, {})[row.channel] = row.capacity
            load.setdefault(row.worker_id, {})[row.channel] = row.used
        return capacity, load

    def add(self, worker: Worker, now: datetime) -> None:
        self.session.execute(
            insert(workers).values(
                worker_id=worker.worker_id,
                presence=worker.presence.value,
                presence_until=worker.presence_until,
                paused_until=worker.paused_until,
                version=1,
                **_values(worker, now),
            )
        )
        self._put_capacity(worker)

    def replace(self, worker: Worker, *, expected_version: int, now: datetime) -> bool:
        """The profile (not presence) of a worker still at ``expected_version``; False when stale."""
        changed = self.session.execute(
            update(workers)
            .where(workers.c.worker_id == worker.worker_id, workers.c.version == expected_version)
            .values(version=workers.c.version + 1, **_values(worker, now))
            .returning(workers.c.version)
        ).first()
        if changed is None:
            return False
        self._put_capacity(worker)
        return True

    def _put_capacity(self, worker: Worker) -> None:
        # Load stays with the channel: lowering capacity below it only stops new offers until it drains.
        kept = {
            row.channel
            for row in self.session.execute(
                select(worker_channels.c.channel).where(worker_channels.c.worker_id == worker.worker_id)
            )
        }
        for channel, capacity in worker.capacity.items():
            if channel in kept:
                self.session.execute(
                    update(worker_channels)
                    .where(worker_channels.c.worker_id == worker.worker_id, worker_channels.c.channel == channel)
                    .values(capacity=capacity)
                )
            else:
                self.session.execute(
                    insert(worker_channels).values(
                        worker_id=worker.worker_id, channel=channel, capacity=capacity, used=0
                    )
                )
        gone = kept - set(worker.capacity)
        if gone:
            self.session.execute(
                update(worker_channels)
                .where(worker_channels.c.worker_id == worker.worker_id, worker_channels.c.channel.in_(gone))
                .values(capacity=0)
            )
            # A channel with nothing held can go; one still holding tasks stays at capacity 0 until they end.
            self.session.execute(
                delete(worker_channels).where(
                    worker_channels.c.worker_id == worker.worker_id,
                    worker_channels.c.channel.in_(gone),
                    worker_channels.c.used == 0,
                )
            )

    def set_presence(
        self,
        worker_id: str,
        presence: Presence,
        *,
        until: datetime | None,
        now: datetime,
        paused_until: datetime | None = None,
        keep_pause: bool = True,
    ) -> bool:
        values: dict[str, Any] = {
            "presence": presence.value,
            "presence_until": until,
            "version": workers.c.version + 1,
            "updated_at": now,
        }
        if not keep_pause:
            values["paused_until"] = paused_until
        changed = self.session.execute(
            update(workers).where(workers.c.worker_id == worker_id).values(**values).returning(workers.c.worker_id)
        ).first()
        return changed is not None

    def reserve(self, worker_id: str, channel: str, now: datetime) -> bool:
        """Take one slot of the worker's channel for an offer: only while the worker is available, not
        paused, and below capacity. False when any of that no longer holds."""
        available = exists().where(
            workers.c.worker_id == worker_id,
            workers.c.presence == Presence.AVAILABLE.value,
            or_(workers.c.paused_until.is_(None), workers.c.paused_until <= now),
        )
        taken = self.session.execute(
            update(worker_channels)
            .where(
                and_(
                    worker_channels.c.worker_id == worker_id,
                    worker_channels.c.channel == channel,
                    worker_channels.c.used < worker_channels.c.capacity,
                    available,
                )
            )
            .values(used=worker_channels.c.used + 1)
            .returning(worker_channels.c.used)
        ).first()
        return taken is not None

    def release(self, worker_id: str, channel: str) -> None:
        self.session.execute(
            update(worker_channels)
            .where(
                worker_channels.c.worker_id == worker_id,
                worker_channels.c.channel == channel,
                worker_channels.c.used > 0,
            )
            .values(used=worker_channels.c.used - 1)
        )
