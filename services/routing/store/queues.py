"""Queues: each policy kept whole as JSON, with its position among the queues."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from services.routing.domain.queues import Queue, Step, Strategy
from services.routing.store.schema import queues


def _policy(queue: Queue) -> dict[str, Any]:
    return {
        "name": queue.name,
        "filter": queue.filter,
        "target": queue.target,
        "steps": [
            {
                "after_seconds": s.after_seconds,
                "lower_levels_by": s.lower_levels_by,
                "drop_skills": list(s.drop_skills),
                "widen_to_teams": list(s.widen_to_teams),
                "target": s.target,
                "overflow_to": s.overflow_to,
            }
            for s in queue.steps
        ],
        "strategy": queue.strategy.value,
        "offer_to": queue.offer_to,
        "offer_timeout_seconds": queue.offer_timeout_seconds,
        "missed_offer_pause_seconds": queue.missed_offer_pause_seconds,
        "aging_seconds_per_level": queue.aging_seconds_per_level,
        "vip_tiers": sorted(queue.vip_tiers),
        "dedicated_target": queue.dedicated_target,
        "sticky_seconds": queue.sticky_seconds,
        "wrap_up_seconds": queue.wrap_up_seconds,
        "service_level_seconds": queue.service_level_seconds,
    }


def _queue(queue_id: str, position: int, version: int, policy: dict[str, Any]) -> Queue:
    steps = tuple(
        Step(
            after_seconds=s["after_seconds"],
            lower_levels_by=s["lower_levels_by"],
            drop_skills=tuple(s["drop_skills"]),
            widen_to_teams=tuple(s["widen_to_teams"]),
            target=s["target"],
            overflow_to=s["overflow_to"],
        )
        for s in policy["steps"]
    )
    return Queue(
        queue_id=queue_id,
        name=policy["name"],
        filter=policy["filter"],
        order=position,
        target=policy["target"],
        steps=steps,
        strategy=Strategy(policy["strategy"]),
        offer_to=policy["offer_to"],
        offer_timeout_seconds=policy["offer_timeout_seconds"],
        missed_offer_pause_seconds=policy["missed_offer_pause_seconds"],
        aging_seconds_per_level=policy["aging_seconds_per_level"],
        vip_tiers=frozenset(policy["vip_tiers"]),
        dedicated_target=policy["dedicated_target"],
        sticky_seconds=policy["sticky_seconds"],
        wrap_up_seconds=policy["wrap_up_seconds"],
        service_level_seconds=policy["service_level_seconds"],
        version=version,
    )


class QueueStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def all(self) -> list[Queue]:
        rows = self.session.execute(select(queues).order_by(queues.c.position, queues.c.queue_id))
        return [_queue(r.queue_id, r.position, r.version, r.policy) for r in rows]

    def get(self, queue_id: str) -> Queue | None:
        row = self.session.execute(select(queues).where(queues.c.queue_id == queue_id)).first()
        return _queue(row.queue_id, row.position, row.version, row.policy) if row else None

    def add(self, queue: Queue, now: datetime) -> None:
        self.session.execute(
            insert(queues).values(
                queue_id=queue.queue_id, position=queue.order, policy=_policy(queue), version=1, updated_at=now
            )
        )

    def replace(self, queue: Queue, *, expected_version: int, now: datetime) -> bool:
        changed = self.session.execute(
            update(queues)
            .where(queues.c.queue_id == queue.queue_id, queues.c.version == expected_version)
            .values(position=queue.order, policy=_policy(queue), version=queues.c.version + 1, updated_at=now)
            .returning(queues.c.version)
        ).first()
        return changed is not None
