"""The installed base: each product (by serial) and the customer who owns it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Index, String, Table, select, update
from sqlalchemy.orm import Session

from services.customer360.store.schema import insert_new, metadata
from switchboard.db.types import UtcDateTime

products = Table(
    "products",
    metadata,
    Column("serial", String(128), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("model", String(128), nullable=False),
    Column("name", String(200), nullable=False),
    Column("installed_at", UtcDateTime, nullable=True),
    Column("warranty_end", String(10), nullable=False),
    Column("site_address", String(500), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("source", String(64), nullable=False),
    # When what the row says was true: an older report never overwrites a newer one.
    Column("as_of", UtcDateTime, nullable=False),
    Index("products_customer", "customer_id"),
)


@dataclass(frozen=True)
class Product:
    serial: str
    customer_id: str
    model: str = ""
    name: str = ""
    installed_at: datetime | None = None
    warranty_end: str = ""
    site_address: str = ""
    order_id: str = ""
    source: str = "api"
    as_of: datetime | None = None


class ProductStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, product: Product) -> bool:
        """Add or replace by serial, unless the stored one is newer; True when written."""
        values = {k: v for k, v in product.__dict__.items() if k != "serial"}
        if insert_new(self.session, products, {"serial": product.serial, **values}):
            return True
        done = self.session.execute(
            update(products)
            .where(products.c.serial == product.serial, products.c.as_of <= product.as_of)
            .values(**values)
            .returning(products.c.serial)
        ).first()
        return done is not None

    def get(self, serial: str) -> Product | None:
        row = self.session.execute(select(products).where(products.c.serial == serial)).first()
        return Product(**row._asdict()) if row else None

    def of(self, customer_ids: Sequence[str], limit: int = 200) -> list[Product]:
        rows = self.session.execute(
            select(products)
            .where(products.c.customer_id.in_(list(customer_ids)))
            .order_by(products.c.installed_at.desc(), products.c.serial)
            .limit(limit)
        ).all()
        return [Product(**r._asdict()) for r in rows]

    def scrub(self, customer_id: str) -> None:
        self.session.execute(update(products).where(products.c.customer_id == customer_id).values(site_address=""))
