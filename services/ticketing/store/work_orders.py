"""The work_orders table: compare-and-set updates, a ticket's work orders, filtered pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Float, Index, Integer, Row, String, Table, and_, or_, select, update
from sqlalchemy.orm import Session

from services.ticketing.domain.parts import PartLine, PartUse
from services.ticketing.domain.work_orders import WorkOrder, WorkOrderStatus
from services.ticketing.store.schema import metadata
from switchboard.db.types import UtcDateTime
from switchboard.errors import Aborted

work_orders = Table(
    "work_orders",
    metadata,
    Column("work_order_id", String(36), primary_key=True),
    Column("ticket_id", String(36), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("required_skills", JSON, nullable=False),
    Column("site_address", String(500), nullable=False),
    Column("latitude", Float, nullable=False),
    Column("longitude", Float, nullable=False),
    Column("window_start", UtcDateTime, nullable=False),
    Column("window_end", UtcDateTime, nullable=False),
    Column("estimated_minutes", Integer, nullable=False),
    Column("parts_needed", JSON, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("technician_id", String(255), nullable=False),
    Column("stock_location_id", String(64), nullable=False),
    Column("labour_minutes", Integer, nullable=False),
    Column("parts_used", JSON, nullable=False),
    Column("parts_consumed", JSON, nullable=False),
    Column("missing_parts", JSON, nullable=False),
    Column("signed_off_by", String(200), nullable=False),
    Column("signed_off_at", UtcDateTime),
    Column("note", String(500), nullable=False),
    Column("updated_at", UtcDateTime),
    Column("completed_at", UtcDateTime),
    Column("cancelled_at", UtcDateTime),
    # A ticket's work orders, and a technician's day in visit order.
    Index("work_orders_ticket", "ticket_id", "work_order_id"),
    Index("work_orders_technician", "technician_id", "window_start", "work_order_id"),
    Index("work_orders_window", "window_start", "work_order_id"),
)

_LINES = ("parts_needed", "missing_parts")
_USES = ("parts_used", "parts_consumed")


def _work_order(row: Row[Any]) -> WorkOrder:
    values = row._asdict()
    values["status"] = WorkOrderStatus(values["status"])
    values["required_skills"] = tuple(values["required_skills"])
    for name in _LINES:
        values[name] = tuple(PartLine(item["sku"], item["quantity"]) for item in values[name])
    for name in _USES:
        values[name] = tuple(PartUse(item["sku"], item["location_id"], item["quantity"]) for item in values[name])
    return WorkOrder(**values)


def _values(work_order: WorkOrder) -> dict[str, Any]:
    values = {column.name: getattr(work_order, column.name) for column in work_orders.columns}
    values["status"] = work_order.status.value
    values["required_skills"] = list(work_order.required_skills)
    for name in _LINES:
        values[name] = [{"sku": line.sku, "quantity": line.quantity} for line in getattr(work_order, name)]
    for name in _USES:
        values[name] = [
            {"sku": use.sku, "location_id": use.location_id, "quantity": use.quantity}
            for use in getattr(work_order, name)
        ]
    return values


@dataclass(frozen=True)
class WorkOrderFilter:
    ticket_id: str = ""
    technician_id: str = ""
    customer_id: str = ""
    statuses: tuple[WorkOrderStatus, ...] = ()
    # Visits whose window starts in [window_from, window_to).
    window_from: datetime | None = None
    window_to: datetime | None = None


class WorkOrderStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, work_order: WorkOrder) -> WorkOrder:
        self.session.execute(work_orders.insert().values(**_values(work_order)))
        return work_order

    def get(self, work_order_id: str, *, for_update: bool = False) -> WorkOrder | None:
        query = select(work_orders).where(work_orders.c.work_order_id == work_order_id)
        row = self.session.execute(query.with_for_update() if for_update else query).first()
        return _work_order(row) if row else None

    def update(self, before: WorkOrder, after: WorkOrder) -> WorkOrder:
        """Write ``after`` if the row is still at ``before.version``; ABORTED if someone got there first."""
        stored = replace(after, version=before.version + 1)
        changed = self.session.execute(
            update(work_orders)
            .where(work_orders.c.work_order_id == before.work_order_id, work_orders.c.version == before.version)
            .values(**_values(stored))
            .returning(work_orders.c.version)
        ).first()
        if changed is None:
            raise Aborted(
                f"work order {before.work_order_id} changed since version {before.version} was read; "
                "read it again and retry"
            )
        return stored

    def of_ticket(self, ticket_id: str) -> list[WorkOrder]:
        rows = self.session.execute(
            select(work_orders).where(work_orders.c.ticket_id == ticket_id).order_by(work_orders.c.work_order_id)
        )
        return [_work_order(row) for row in rows]

    def page(self, where: WorkOrderFilter, *, after: tuple[datetime, str] | None, limit: int) -> list[WorkOrder]:
        """Soonest visit first. ``after`` is the (window_start, work_order_id) of the previous page's last row."""
        query = select(work_orders).where(*_conditions(where))
        if after is not None:
            start, work_order_id = after
            query = query.where(
                or_(
                    work_orders.c.window_start > start,
                    and_(work_orders.c.window_start == start, work_orders.c.work_order_id > work_order_id),
                )
            )
        rows = self.session.execute(
            query.order_by(work_orders.c.window_start, work_orders.c.work_order_id).limit(limit)
        )
        return [_work_order(row) for row in rows]


def _conditions(where: WorkOrderFilter) -> Sequence[Any]:
    conditions: list[Any] = []
    for column, value in (
        (work_orders.c.ticket_id, where.ticket_id),
        (work_orders.c.technician_id, where.technician_id),
        (work_orders.c.customer_id, where.customer_id),
    ):
        if value:
            conditions.append(column == value)
    if where.statuses:
        conditions.append(work_orders.c.status.in_([s.value for s in where.statuses]))
    if where.window_from is not None:
        conditions.append(work_orders.c.window_start >= where.window_from)
    if where.window_to is not None:
        conditions.append(work_orders.c.window_start < where.window_to)
    return conditions
