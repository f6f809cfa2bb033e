"""The record of each merge: who merged which profile into which, and when it was undone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Index, String, Table, or_, select, update
from sqlalchemy.orm import Session

from services.customer360.store.schema import metadata
from switchboard.db.types import UtcDateTime

merges = Table(
    "merges",
    metadata,
    Column("merge_id", String(36), primary_key=True),
    Column("survivor_id", String(64), nullable=False),
    Column("merged_id", String(64), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("merged_at", UtcDateTime, nullable=False),
    Column("unmerged_at", UtcDateTime, nullable=True),
    Column("unmerged_by", String(255), nullable=False),
    Index("merges_merged", "merged_id"),
    Index("merges_survivor", "survivor_id"),
)


@dataclass(frozen=True)
class Merge:
    merge_id: str
    survivor_id: str
    merged_id: str
    actor: str
    merged_at: datetime
    unmerged_at: datetime | None = None
    unmerged_by: str = ""


class MergeStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, merge: Merge) -> None:
        self.session.execute(
            merges.insert().values(
                merge_id=merge.merge_id,
                survivor_id=merge.survivor_id,
                merged_id=merge.merged_id,
                actor=merge.actor,
                merged_at=merge.merged_at,
                unmerged_at=None,
                unmerged_by="",
            )
        )

    def current(self, merged_id: str) -> Merge | None:
        """The merge in force that put this profile under another."""
        row = self.session.execute(
            select(merges).where(merges.c.merged_id == merged_id, merges.c.unmerged_at.is_(None))
        ).first()
        return Merge(**row._asdict()) if row else None

    def undo(self, merge_id: str, *, by: str, at: datetime) -> None:
        self.session.execute(update(merges).where(merges.c.merge_id == merge_id).values(unmerged_at=at, unmerged_by=by))

    def involving(self, customer_ids: Iterable[str]) -> list[Merge]:
        ids = list(customer_ids)
        rows = self.session.execute(
            select(merges)
            .where(or_(merges.c.survivor_id.in_(ids), merges.c.merged_id.in_(ids)))
            .order_by(merges.c.merged_at, merges.c.merge_id)
        ).all()
        return [Merge(**r._asdict()) for r in rows]
