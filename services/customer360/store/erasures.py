"""Tombstones of erased customers: only sha256 digests of their ids and identifiers, so a replayed
or re-imported event that names them can be recognised and dropped without keeping who they were."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Column, String, Table, select
from sqlalchemy.orm import Session

from services.customer360.store.schema import insert_new, metadata
from switchboard.db.types import UtcDateTime

erasures = Table(
    "erasures",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("erased_at", UtcDateTime, nullable=False),
)


class ErasureStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, digests: Iterable[str], *, at: datetime) -> None:
        for digest in digests:
            insert_new(self.session, erasures, {"digest": digest, "erased_at": at})

    def any_erased(self, digests: Iterable[str]) -> bool:
        wanted = list(digests)
        if not wanted:
            return False
        return (
            self.session.execute(select(erasures.c.digest).where(erasures.c.digest.in_(wanted)).limit(1)).first()
            is not None
        )
