"""The matcher's lease: one owner at a time, and a fencing epoch that every decision checks."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.routing.store.schema import leases


class LeaseStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def acquire(self, name: str, owner: str, *, now: datetime, ttl: timedelta) -> int | None:
        """Take the lease if it is free, expired or already ours; the new epoch, or None while another holds it."""
        if self.session.execute(select(leases.c.name).where(leases.c.name == name)).first() is None:
            try:
                with self.session.begin_nested():
                    self.session.execute(insert(leases).values(name=name, owner=owner, epoch=1, expires_at=now + ttl))
                return 1
            except IntegrityError:
                pass  # another process created it first: compete for it below
        return self.session.execute(
            update(leases)
            .where(leases.c.name == name, or_(leases.c.owner == owner, leases.c.expires_at < now))
            .values(owner=owner, epoch=leases.c.epoch + 1, expires_at=now + ttl)
            .returning(leases.c.epoch)
        ).scalar()

    def renew(self, name: str, owner: str, epoch: int, *, now: datetime, ttl: timedelta) -> bool:
        """Extend the lease we hold at ``epoch``; False when it was lost (expired and taken over)."""
        renewed = self.session.execute(
            update(leases)
            .where(leases.c.name == name, leases.c.owner == owner, leases.c.epoch == epoch)
            .values(expires_at=now + ttl)
            .returning(leases.c.epoch)
        ).first()
        return renewed is not None

    def release(self, name: str, owner: str, epoch: int, *, now: datetime) -> None:
        self.session.execute(
            update(leases)
            .where(leases.c.name == name, leases.c.owner == owner, leases.c.epoch == epoch)
            .values(expires_at=now)
        )
