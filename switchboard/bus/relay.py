"""The outbox relay: publishes committed events, then marks them sent.

At least once: a relay that dies after publishing and before marking publishes the rows again,
and consumers' inboxes absorb the repeat. On PostgreSQL several relays share one outbox (rows are
claimed with FOR UPDATE SKIP LOCKED); SQLite has no SKIP LOCKED, so run one relay per file.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
import structlog
from sqlalchemy import Connection, Row, select, update

from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.db.types import utcnow
from switchboard.db.uow import outbox_channel

log = structlog.get_logger("switchboard.relay")


@dataclass(frozen=True)
class OutgoingMessage:
    event_id: str
    exchange: str
    routing_key: str
    content_type: str
    body: bytes
    headers: dict[str, Any]


class Publisher(Protocol):
    def publish_all(self, messages: Sequence[OutgoingMessage]) -> tuple[int, Exception | None]:
        """Publish in order; return how many of the first messages are safely delivered (broker
        confirm, or applied in-process) and, if not all of them, why the next one is not."""


class PublishesEach:
    """A publisher that delivers one message at a time: the embedded bus, test doubles."""

    def publish(self, message: OutgoingMessage) -> None:
        raise NotImplementedError

    def publish_all(self, messages: Sequence[OutgoingMessage]) -> tuple[int, Exception | None]:
        for delivered, message in enumerate(messages):
            try:
                self.publish(message)
            except Exception as exc:
                return delivered, exc
        return len(messages), None


def _message(row: Row[Any]) -> OutgoingMessage:
    return OutgoingMessage(
        event_id=row.event_id,
        exchange=row.exchange,
        routing_key=row.routing_key,
        content_type=row.content_type,
        body=row.body,
        headers=dict(row.headers or {}),
    )


class Relay:
    def __init__(
        self, db: Database, publisher: Publisher, *, batch: int, poll: float, wake: threading.Event | None = None
    ) -> None:
        self.db, self.publisher, self.batch, self.poll = db, publisher, batch, poll
        # Set by the unit of work after a commit that emitted events, so the relay need not poll fast.
        self.wake = wake or threading.Event()

    def run(self, stop: threading.Event) -> None:
        log.info("relay.started", service=self.db.service)
        listener = None
        if not self.db.is_sqlite:
            name = f"{self.db.service}-listen"
            listener = threading.Thread(target=self._listen, args=(stop,), name=name, daemon=True)
            listener.start()
        backoff = self.poll
        while not stop.is_set():
            try:
                sent = self.relay_once()
                backoff = self.poll
            except Exception as exc:
                log.warning("relay.error", service=self.db.service, error=repr(exc))
                sent, backoff = 0, min(backoff * 2, 5.0)
            if sent == 0:
                self.wake.wait(backoff)
                self.wake.clear()
        if listener is not None:
            # Its LISTEN connection must be closed before whoever stopped us drops or restarts the database.
            listener.join(timeout=5)
        log.info("relay.stopped", service=self.db.service)

    def _listen(self, stop: threading.Event) -> None:
        """Wake on the NOTIFY that every committing unit of work sends; polling remains the safety net."""
        conninfo = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    connection.execute(f'LISTEN "{outbox_channel(self.db.service)}"')
                    self.wake.set()  # anything committed while not listening
                    while not stop.is_set():
                        for _ in connection.notifies(timeout=1.0, stop_after=1):
                            self.wake.set()
            except psycopg.Error as exc:
                log.warning("relay.listen_failed", service=self.db.service, error=repr(exc))
                stop.wait(1.0)

    def relay_once(self) -> int:
        """Publish one batch of pending rows; return how many went out.

        A publish that fails ends the batch: the rows sent before it are marked, the failed one
        records its error and stays pending, and the error propagates so the loop backs off.
        """
        pending = select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(self.batch)
        if self.db.is_sqlite:
            # One relay per file: read, publish outside the write lock, then mark.
            with self.db.engine.begin() as connection:
                rows = connection.execute(pending).all()
            sent, failure = self._publish_all(rows)
            with self.db.engine.begin() as connection:
                self._mark(connection, sent, failure)
        else:
            with self.db.engine.begin() as connection:
                rows = connection.execute(pending.with_for_update(skip_locked=True)).all()
                sent, failure = self._publish_all(rows)
                self._mark(connection, sent, failure)
        if failure is not None:
            raise failure[1]
        return len(sent)

    def _publish_all(self, rows: Sequence[Row[Any]]) -> tuple[list[int], tuple[int, Exception] | None]:
        if not rows:
            return [], None  # an idle relay need not reach the broker at all
        delivered, error = self.publisher.publish_all([_message(row) for row in rows])
        sent = [row.id for row in rows[:delivered]]
        if error is None or delivered >= len(rows):
            return sent, None
        return sent, (rows[delivered].id, error)

    @staticmethod
    def _mark(connection: Connection, sent: list[int], failure: tuple[int, Exception] | None) -> None:
        if sent:
            connection.execute(update(outbox).where(outbox.c.id.in_(sent)).values(published_at=utcnow()))
        if failure is not None:
            connection.execute(
                update(outbox)
                .where(outbox.c.id == failure[0])
                .values(attempts=outbox.c.attempts + 1, last_error=repr(failure[1])[:2000])
            )
