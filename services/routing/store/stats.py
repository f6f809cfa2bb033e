"""The live queue statistics the matcher last published."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from services.routing.store.schema import queue_stats


class StatsStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, figures: dict[str, dict[str, Any]], at: datetime) -> None:
        """Replace the snapshot with ``figures`` (queue id -> figures)."""
        stored = {row.queue_id for row in self.session.execute(select(queue_stats.c.queue_id))}
        for queue_id, values in figures.items():
            if queue_id in stored:
                self.session.execute(
                    update(queue_stats).where(queue_stats.c.queue_id == queue_id).values(figures=values, as_of=at)
                )
            else:
                self.session.execute(insert(queue_stats).values(queue_id=queue_id, figures=values, as_of=at))
        gone = stored - set(figures)
        if gone:
            self.session.execute(delete(queue_stats).where(queue_stats.c.queue_id.in_(gone)))

    def get(self, queue_id: str = "") -> list[tuple[str, dict[str, Any], datetime]]:
        query = select(queue_stats).order_by(queue_stats.c.queue_id)
        if queue_id:
            query = query.where(queue_stats.c.queue_id == queue_id)
        return [(row.queue_id, dict(row.figures), row.as_of) for row in self.session.execute(query)]
