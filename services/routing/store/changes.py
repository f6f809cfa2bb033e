"""The feed of records the matcher must look at again, and the signal that wakes it."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from services.routing.store.schema import changes
from switchboard import signals
from switchboard.db.uow import UnitOfWork

MATCHER_CHANNEL = "routing_matcher"
TASK, WORKER, OFFER, QUEUES = "task", "worker", "offer", "queues"


def changed(uow: UnitOfWork, kind: str, key: str = "") -> None:
    """Tell the matcher, once this unit of work commits, to look at this record again."""
    uow.session.execute(insert(changes).values(kind=kind, key=key))
    signals.notify_on_commit(uow, MATCHER_CHANNEL)


def take(session: Session, limit: int) -> list[tuple[str, str]]:
    """The oldest changes, removed: they come back if the caller's transaction rolls back."""
    oldest = select(changes.c.seq).order_by(changes.c.seq).limit(limit).scalar_subquery()
    rows = session.execute(
        delete(changes).where(changes.c.seq.in_(oldest)).returning(changes.c.seq, changes.c.kind, changes.c.key)
    )
    return [(row.kind, row.key) for row in sorted(rows, key=lambda r: r.seq)]


def clear(session: Session) -> None:
    """Forget every change: the matcher is about to read everything afresh."""
    session.execute(delete(changes))
