"""Work orders as ticketing's events describe them, and the day plans made from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, insert, select, update
from sqlalchemy.orm import Session

from services.routing.store.schema import jobs, plans

# Work order statuses that still need a visit planned or kept.
OPEN_JOB_STATUSES = ("open", "scheduled", "needs_revisit")


class JobStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, work_order_id: str) -> Row[Any] | None:
        return self.session.execute(select(jobs).where(jobs.c.work_order_id == work_order_id)).first()

    def add(self, values: dict[str, Any]) -> None:
        self.session.execute(insert(jobs).values(**values))

    def set(self, work_order_id: str, **values: Any) -> None:
        self.session.execute(update(jobs).where(jobs.c.work_order_id == work_order_id).values(**values))

    def forget_places_of(self, customer_id: str) -> None:
        """An erased customer's sites: the coordinates go, the work (and its plan's figures) stays."""
        self.session.execute(update(jobs).where(jobs.c.customer_id == customer_id).values(latitude=0.0, longitude=0.0))

    def open_between(self, start: datetime, end: datetime) -> list[Row[Any]]:
        """Open work orders whose window overlaps [start, end)."""
        return list(
            self.session.execute(
                select(jobs)
                .where(
                    jobs.c.status.in_(OPEN_JOB_STATUSES),
                    and_(jobs.c.window_start < end, jobs.c.window_end > start),
                )
                .order_by(jobs.c.work_order_id)
            )
        )


class PlanStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, plan_id: str, day: str, territory: str, body: dict[str, Any], at: datetime) -> None:
        self.session.execute(
            insert(plans).values(plan_id=plan_id, day=day, territory=territory, body=body, planned_at=at)
        )

    def latest(self, day: str, territory: str) -> Row[Any] | None:
        return self.session.execute(
            select(plans)
            .where(plans.c.day == day, plans.c.territory == territory)
            .order_by(plans.c.planned_at.desc())
            .limit(1)
        ).first()

    def days_planned(self, day: str) -> list[Row[Any]]:
        """The latest plan of each territory planned for ``day``."""
        rows = self.session.execute(select(plans).where(plans.c.day == day).order_by(plans.c.planned_at))
        latest: dict[str, Row[Any]] = {}
        for row in rows:
            latest[row.territory] = row
        return list(latest.values())
