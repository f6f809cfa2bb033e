"""The unit of work: one transaction holding a change and the events it causes (the outbox)."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from google.protobuf.message import Message
from sqlalchemy import text
from sqlalchemy.orm import Session

from switchboard import context
from switchboard.db.engine import READ_ONLY, Database
from switchboard.db.tables import outbox
from switchboard.db.types import utcnow
from switchboard.envelope import JSON, seal, to_json
from switchboard.events.v1.envelope_pb2 import Envelope


def outbox_channel(service: str) -> str:
    return f"outbox_{service}"


class UnitOfWork:
    """Use as ``with uow: ...; uow.commit()``; leaving without commit rolls everything back."""

    def __init__(self, db: Database, on_commit: Callable[[], None] | None = None, *, read_only: bool = False) -> None:
        self.db = db
        self._on_commit = on_commit
        self.read_only = read_only
        self._session: Session | None = None
        self.emitted: list[Envelope] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its 'with' block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self.db.sessions()
        self._session.begin()
        if self.read_only:
            # Bind the connection now, so its transaction begins as a reader's (no write lock on SQLite).
            self._session.connection(execution_options={READ_ONLY: True})
        self.emitted = []
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session, self._session = self.session, None
        try:
            if session.in_transaction():
                session.rollback()
        finally:
            session.close()

    def emit(self, payload: Message, *, customer_id: str = "") -> Envelope:
        """Record an event to publish if, and only if, this unit of work commits."""
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot emit events")
        ctx = context.current()
        envelope = seal(
            payload, correlation_id=ctx.correlation_id, causation_id=ctx.causation_id, customer_id=customer_id
        )
        self.session.execute(
            outbox.insert().values(
                event_id=envelope.event_id,
                exchange=f"{envelope.source}.events",
                routing_key=envelope.type,
                content_type=JSON,
                body=to_json(envelope),
                headers={"correlation_id": envelope.correlation_id, "causation_id": envelope.causation_id},
                created_at=utcnow(),
            )
        )
        self.emitted.append(envelope)
        return envelope

    def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work has nothing to commit; use runtime.uow() to change data")
        if self.emitted and not self.db.is_sqlite:
            # Delivered at commit, to relays in any process: they publish at once instead of polling.
            self.session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": outbox_channel(self.db.service)})
        self.session.commit()
        if self.emitted and self._on_commit is not None:
            self._on_commit()


UnitOfWorkFactory = Callable[[], UnitOfWork]
