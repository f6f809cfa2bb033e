"""The parts catalogue, stock locations, stock per (location, sku) and what each work order holds.

Stock never goes negative and never promises more than is on the shelf, also with many
transactions reserving the same part at once: every change is ONE conditional UPDATE whose WHERE
clause states what must hold (``on_hand - reserved >= :q`` to reserve), and its outcome is read
from RETURNING. On PostgreSQL (READ COMMITTED) a concurrent UPDATE of the same row waits for the
first to commit and then re-evaluates the WHERE clause against the new row, so the last units go
to exactly as many reservations as they cover. CHECK constraints hold the invariants
``0 <= reserved <= on_hand`` even against a bug here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Row,
    String,
    Table,
    and_,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.ticketing.domain.parts import Draw, LocationKind, Part, PartUse, StockLevel, StockLocation, insufficient
from services.ticketing.store.schema import metadata
from switchboard.db.types import UtcDateTime, utcnow

part_catalogue = Table(
    "parts",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("unit", String(32), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

stock_locations = Table(
    "stock_locations",
    metadata,
    Column("location_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("technician_id", String(255), nullable=False, index=True),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("kind IN ('depot', 'van')", name="stock_locations_kind"),
)

stock = Table(
    "stock",
    metadata,
    Column("location_id", String(64), ForeignKey("stock_locations.location_id"), primary_key=True),
    Column("sku", String(64), ForeignKey("parts.sku"), primary_key=True),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("on_hand >= 0", name="stock_on_hand_not_negative"),
    CheckConstraint("reserved >= 0", name="stock_reserved_not_negative"),
    CheckConstraint("reserved <= on_hand", name="stock_reserved_within_on_hand"),
    Index("stock_sku", "sku"),
)

stock_reservations = Table(
    "stock_reservations",
    metadata,
    Column("work_order_id", String(36), primary_key=True),
    Column("location_id", String(64), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("reserved_at", UtcDateTime, nullable=False),
    ForeignKeyConstraint(["location_id", "sku"], ["stock.location_id", "stock.sku"]),
    CheckConstraint("quantity > 0", name="stock_reservations_quantity_positive"),
    Index("stock_reservations_stock", "location_id", "sku"),
)


class StockInconsistent(RuntimeError):
    """A reservation the work order holds is not in stock: a bug, never the caller's doing."""


def _part(row: Row[Any]) -> Part:
    return Part(sku=row.sku, name=row.name, unit=row.unit)


def _location(row: Row[Any]) -> StockLocation:
    return StockLocation(
        location_id=row.location_id, kind=LocationKind(row.kind), name=row.name, technician_id=row.technician_id
    )


def _level(row: Row[Any] | Row[Any, Any, Any, Any]) -> StockLevel:
    return StockLevel(sku=row.sku, location_id=row.location_id, on_hand=row.on_hand, reserved=row.reserved)


_LEVEL = (stock.c.sku, stock.c.location_id, stock.c.on_hand, stock.c.reserved)


class PartsStore:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert

    # -- catalogue and locations -------------------------------------------------------------

    def put_part(self, part: Part) -> Part:
        values = {"sku": part.sku, "name": part.name, "unit": part.unit, "updated_at": utcnow()}
        statement = self._insert(part_catalogue).values(values)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[part_catalogue.c.sku],
                set_={
                    "name": statement.excluded.name,
                    "unit": statement.excluded.unit,
                    "updated_at": values["updated_at"],
                },
            )
        )
        return part

    def part(self, sku: str) -> Part | None:
        row = self.session.execute(select(part_catalogue).where(part_catalogue.c.sku == sku)).first()
        return _part(row) if row else None

    def parts_page(self, *, after: str, limit: int) -> list[Part]:
        rows = self.session.execute(
            select(part_catalogue).where(part_catalogue.c.sku > after).order_by(part_catalogue.c.sku).limit(limit)
        )
        return [_part(row) for row in rows]

    def put_location(self, location: StockLocation) -> StockLocation:
        values = {
            "location_id": location.location_id,
            "kind": location.kind.value,
            "name": location.name,
            "technician_id": location.technician_id,
            "updated_at": utcnow(),
        }
        statement = self._insert(stock_locations).values(values)
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[stock_locations.c.location_id],
                set_={name: statement.excluded[name] for name in ("kind", "name", "technician_id", "updated_at")},
            )
        )
        return location

    def location(self, location_id: str) -> StockLocation | None:
        row = self.session.execute(select(stock_locations).where(stock_locations.c.location_id == location_id)).first()
        return _location(row) if row else None

    def locations_page(self, *, technician_id: str, after: str, limit: int) -> list[StockLocation]:
        query = select(stock_locations).where(stock_locations.c.location_id > after)
        if technician_id:
            query = query.where(stock_locations.c.technician_id == technician_id)
        rows = self.session.execute(query.order_by(stock_locations.c.location_id).limit(limit))
        return [_location(row) for row in rows]

    # -- stock levels ------------------------------------------------------------------------

    def level(self, sku: str, location_id: str) -> StockLevel | None:
        row = self.session.execute(select(*_LEVEL).where(*_at(sku, location_id))).first()
        return _level(row) if row else None

    def levels_page(self, *, location_id: str, sku: str, after: tuple[str, str] | None, limit: int) -> list[StockLevel]:
        """By location, then sku. ``after`` is the (location_id, sku) of the last row of the previous page."""
        query = select(*_LEVEL)
        if location_id:
            query = query.where(stock.c.location_id == location_id)
        if sku:
            query = query.where(stock.c.sku == sku)
        if after is not None:
            last_location, last_sku = after
            query = query.where(
                or_(
                    stock.c.location_id > last_location,
                    and_(stock.c.location_id == last_location, stock.c.sku > last_sku),
                )
            )
        rows = self.session.execute(query.order_by(stock.c.location_id, stock.c.sku).limit(limit))
        return [_level(row) for row in rows]

    def receive(self, sku: str, location_id: str, quantity: int) -> StockLevel:
        """Parts arrived: on_hand grows (the stock row is made on first delivery)."""
        now = utcnow()
        statement = self._insert(stock).values(
            sku=sku, location_id=location_id, on_hand=quantity, reserved=0, updated_at=now
        )
        row = self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[stock.c.location_id, stock.c.sku],
                set_={"on_hand": stock.c.on_hand + statement.excluded.on_hand, "updated_at": now},
            ).returning(*_LEVEL)
        ).one()
        return _level(row)

    def count(self, sku: str, location_id: str, counted: int) -> StockLevel | None:
        """A physical count replaces on_hand, unless it is below what is reserved there: then None."""
        now = utcnow()
        statement = self._insert(stock).values(
            sku=sku, location_id=location_id, on_hand=counted, reserved=0, updated_at=now
        )
        row = self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[stock.c.location_id, stock.c.sku],
                set_={"on_hand": counted, "updated_at": now},
                where=stock.c.reserved <= counted,
            ).returning(*_LEVEL)
        ).first()
        return _level(row) if row else None

    # -- reservations ------------------------------------------------------------------------

    def reserve(self, work_order_id: str, use: PartUse) -> StockLevel:
        """Promise ``use.quantity`` of a part at a location to a work order, or FAILED_PRECONDITION
        naming the part, the location and what is available there."""
        row = self.session.execute(
            update(stock)
            .where(*_at(use.sku, use.location_id), stock.c.on_hand - stock.c.reserved >= use.quantity)
            .values(reserved=stock.c.reserved + use.quantity, updated_at=utcnow())
            .returning(*_LEVEL)
        ).first()
        if row is None:
            raise insufficient(use.sku, use.location_id, use.quantity, self.level(use.sku, use.location_id))
        statement = self._insert(stock_reservations).values(
            work_order_id=work_order_id,
            location_id=use.location_id,
            sku=use.sku,
            quantity=use.quantity,
            reserved_at=utcnow(),
        )
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[
                    stock_reservations.c.work_order_id,
                    stock_reservations.c.location_id,
                    stock_reservations.c.sku,
                ],
                set_={"quantity": stock_reservations.c.quantity + statement.excluded.quantity},
            )
        )
        return _level(row)

    def reservations_of(self, work_order_id: str) -> tuple[PartUse, ...]:
        rows = self.session.execute(
            select(stock_reservations.c.sku, stock_reservations.c.location_id, stock_reservations.c.quantity)
            .where(stock_reservations.c.work_order_id == work_order_id)
            .order_by(stock_reservations.c.sku, stock_reservations.c.location_id)
        )
        return tuple(PartUse(row.sku, row.location_id, row.quantity) for row in rows)

    def reservations_of_many(self, work_order_ids: Iterable[str]) -> dict[str, tuple[PartUse, ...]]:
        found: dict[str, list[PartUse]] = {}
        rows = self.session.execute(
            select(stock_reservations)
            .where(stock_reservations.c.work_order_id.in_(list(work_order_ids)))
            .order_by(stock_reservations.c.sku, stock_reservations.c.location_id)
        )
        for row in rows:
            found.setdefault(row.work_order_id, []).append(PartUse(row.sku, row.location_id, row.quantity))
        return {key: tuple(value) for key, value in found.items()}

    def release(self, work_order_id: str, use: PartUse) -> None:
        """Give back part of what a work order holds at a location: it is free to promise again."""
        row = self.session.execute(
            update(stock)
            .where(*_at(use.sku, use.location_id), stock.c.reserved >= use.quantity)
            .values(reserved=stock.c.reserved - use.quantity, updated_at=utcnow())
            .returning(stock.c.sku)
        ).first()
        if row is None:
            raise StockInconsistent(f"stock of {use.sku} at {use.location_id} holds fewer than {use.quantity} reserved")
        self._shrink_reservation(work_order_id, use.sku, use.location_id, use.quantity)

    def consume(self, work_order_id: str, draw: Draw) -> None:
        """Take parts off the shelf: first from the work order's reservation, the rest from free stock.

        One statement does both, so the free part is checked and taken atomically like a reservation.
        """
        total = draw.from_reservation + draw.from_free
        row = self.session.execute(
            update(stock)
            .where(
                *_at(draw.sku, draw.location_id),
                stock.c.reserved >= draw.from_reservation,
                stock.c.on_hand - stock.c.reserved >= draw.from_free,
            )
            .values(
                on_hand=stock.c.on_hand - total,
                reserved=stock.c.reserved - draw.from_reservation,
                updated_at=utcnow(),
            )
            .returning(stock.c.sku)
        ).first()
        if row is None:
            raise insufficient(draw.sku, draw.location_id, draw.from_free, self.level(draw.sku, draw.location_id))
        if draw.from_reservation:
            self._shrink_reservation(work_order_id, draw.sku, draw.location_id, draw.from_reservation)

    def _shrink_reservation(self, work_order_id: str, sku: str, location_id: str, quantity: int) -> None:
        key = (
            stock_reservations.c.work_order_id == work_order_id,
            stock_reservations.c.location_id == location_id,
            stock_reservations.c.sku == sku,
        )
        # All of it: the row goes (a reservation row always holds a positive quantity).
        gone = self.session.execute(
            delete(stock_reservations)
            .where(*key, stock_reservations.c.quantity == quantity)
            .returning(stock_reservations.c.sku)
        ).first()
        if gone is not None:
            return
        left = self.session.execute(
            update(stock_reservations)
            .where(*key, stock_reservations.c.quantity > quantity)
            .values(quantity=stock_reservations.c.quantity - quantity)
            .returning(stock_reservations.c.quantity)
        ).first()
        if left is None:
            raise StockInconsistent(f"work order {work_order_id} holds fewer than {quantity} x {sku} at {location_id}")


def _at(sku: str, location_id: str) -> tuple[Any, Any]:
    return stock.c.sku == sku, stock.c.location_id == location_id
