"""Anomalies found in a customer's behaviour, open until someone acknowledges them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Float, Index, String, Table, Text, select, update
from sqlalchemy.orm import Session

from services.customer360.store.schema import insert_new, metadata
from switchboard.db.types import UtcDateTime

anomalies = Table(
    "anomalies",
    metadata,
    # Derived from the source event, kind and metric: a redelivered event finds the same anomaly.
    Column("anomaly_id", String(36), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("metric", String(200), nullable=False),
    Column("observed", Float, nullable=False),
    Column("baseline", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("asset_id", String(128), nullable=False),
    Column("source_event_id", String(64), nullable=False),
    Column("source_event_type", String(64), nullable=False),
    Column("detected_at", UtcDateTime, nullable=False),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("acknowledged_by", String(255), nullable=False),
    Index("anomalies_customer", "customer_id", "detected_at"),
)


@dataclass(frozen=True)
class Anomaly:
    anomaly_id: str
    customer_id: str
    kind: str
    metric: str
    observed: float
    baseline: float
    score: float
    reason: str
    asset_id: str
    source_event_id: str
    source_event_type: str
    detected_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""


class AnomalyStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, anomaly: Anomaly) -> bool:
        return insert_new(self.session, anomalies, anomaly.__dict__)

    def get(self, anomaly_id: str) -> Anomaly | None:
        row = self.session.execute(select(anomalies).where(anomalies.c.anomaly_id == anomaly_id)).first()
        return Anomaly(**row._asdict()) if row else None

    def acknowledge(self, anomaly_id: str, *, by: str, at: datetime) -> None:
        self.session.execute(
            update(anomalies)
            .where(anomalies.c.anomaly_id == anomaly_id, anomalies.c.acknowledged_at.is_(None))
            .values(acknowledged_at=at, acknowledged_by=by)
        )

    def of(self, customer_ids: Sequence[str], *, open_only: bool, limit: int = 50) -> list[Anomaly]:
        query = select(anomalies).where(anomalies.c.customer_id.in_(list(customer_ids)))
        if open_only:
            query = query.where(anomalies.c.acknowledged_at.is_(None))
        rows = self.session.execute(
            query.order_by(anomalies.c.detected_at.desc(), anomalies.c.anomaly_id).limit(limit)
        ).all()
        return [Anomaly(**r._asdict()) for r in rows]

    def scrub(self, customer_id: str) -> None:
        self.session.execute(update(anomalies).where(anomalies.c.customer_id == customer_id).values(reason=""))
