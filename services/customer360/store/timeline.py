"""Timeline entries: one per event, keyed by the event id, read newest first per profile."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, String, Table, Text, and_, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON

from services.customer360.domain.timeline import Entry
from services.customer360.store.schema import insert_new, metadata
from switchboard.db.types import UtcDateTime

timeline = Table(
    "timeline",
    metadata,
    Column("entry_id", String(64), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("title", String(300), nullable=False),
    Column("summary", Text, nullable=False),
    Column("refs", JSON, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    # The view and ListTimeline read one profile's newest entries: an index scan, newest first.
    Index("timeline_customer_time", "customer_id", "occurred_at", "entry_id"),
)


class TimelineStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entry: Entry) -> bool:
        """False when the entry (the event) is there already."""
        return insert_new(
            self.session,
            timeline,
            {
                "entry_id": entry.entry_id,
                "customer_id": entry.customer_id,
                "occurred_at": entry.occurred_at,
                "kind": entry.kind,
                "event_type": entry.event_type,
                "title": entry.title,
                "summary": entry.summary,
                "refs": dict(entry.refs),
                "amount_minor": entry.amount_minor,
                "currency": entry.currency,
            },
        )

    def page(
        self,
        customer_ids: Sequence[str],
        *,
        limit: int,
        kinds: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        after: tuple[datetime, str] | None = None,
    ) -> list[Entry]:
        """Newest first (then by entry id, descending); ``after`` is the last entry of the previous page."""
        query = select(timeline).where(timeline.c.customer_id.in_(list(customer_ids)))
        if kinds:
            query = query.where(timeline.c.kind.in_(list(kinds)))
        if since is not None:
            query = query.where(timeline.c.occurred_at >= since)
        if until is not None:
            query = query.where(timeline.c.occurred_at < until)
        if after is not None:
            at, entry_id = after
            query = query.where(
                or_(timeline.c.occurred_at < at, and_(timeline.c.occurred_at == at, timeline.c.entry_id < entry_id))
            )
        query = query.order_by(timeline.c.occurred_at.desc(), timeline.c.entry_id.desc()).limit(limit)
        return [_entry(r) for r in self.session.execute(query).all()]

    def scrub(self, customer_id: str) -> None:
        """Erasure: what a person wrote goes, and so do titles (a ticket's carries its subject); the kind,
        type, time, amounts and ids of what happened stay."""
        self.session.execute(
            update(timeline)
            .where(timeline.c.customer_id == customer_id)
            .values(summary="", title=timeline.c.event_type)
        )


def _entry(row: Any) -> Entry:
    return Entry(
        entry_id=row.entry_id,
        customer_id=row.customer_id,
        occurred_at=row.occurred_at,
        kind=row.kind,
        event_type=row.event_type,
        title=row.title,
        summary=row.summary,
        refs=dict(row.refs),
        amount_minor=row.amount_minor,
        currency=row.currency,
    )
