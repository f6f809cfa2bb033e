"""Commit-time signals: wake the loops and streams, in any process, that watch what a transaction changed.

``notify_on_commit(uow, channel, payload)`` queues a signal that is delivered if, and only if, the unit
of work commits: at once to subscribers in this process (the session's commit hook), and on PostgreSQL
to every other process by a NOTIFY, which PostgreSQL itself holds back until the commit. A signal is a
wake-up, not a message: it may arrive twice (in this process by both routes) and is lost while nobody
listens, so a subscriber re-reads the database when woken and looks again now and then regardless.

``subscribe(db, channel, callback)`` calls ``callback(payload)`` for each signal on ``channel``; one
listening thread and connection per database and channel serve every subscriber in the process, and
go away with the last one.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

import psycopg
import structlog
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from switchboard.db.engine import Database
from switchboard.db.uow import UnitOfWork

log = structlog.get_logger("switchboard.signals")

Callback = Callable[[str], None]
_PENDING = "switchboard.signals.pending"
# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
MAX_PAYLOAD = 7900


class _Hub:
    """The subscribers of one channel of one database in this process, and the thread that LISTENs for
    the other processes' signals on PostgreSQL."""

    def __init__(self, db: Database, channel: str) -> None:
        self.db, self.channel = db, channel
        self.callbacks: set[Callback] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def deliver(self, payload: str) -> None:
        with self.lock:
            callbacks = list(self.callbacks)
        for callback in callbacks:
            try:
                callback(payload)
            except Exception:
                log.exception("signals.callback_failed", channel=self.channel)

    def add(self, callback: Callback) -> None:
        with self.lock:
            self.callbacks.add(callback)
            if self.db.is_sqlite or (self.thread is not None and self.thread.is_alive()):
                return
            self.thread = threading.Thread(target=self._listen, name=f"listen-{self.channel}", daemon=True)
            self.thread.start()

    def remove(self, callback: Callback) -> None:
        with self.lock:
            self.callbacks.discard(callback)

    def _idle(self) -> bool:
        with self.lock:
            if not self.callbacks:
                self.thread = None
                return True
            return False

    def _listen(self) -> None:
        conninfo = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._idle():
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    connection.execute(f'LISTEN "{self.channel}"')
                    # Whatever was signalled while nobody listened: subscribers look again.
                    self.deliver("")
                    while not self._idle():
                        for notice in connection.notifies(timeout=1.0, stop_after=1):
                            self.deliver(notice.payload)
            except psycopg.Error as exc:
                log.warning("signals.listen_failed", channel=self.channel, error=repr(exc))
                threading.Event().wait(1.0)


_hubs: weakref.WeakKeyDictionary[Engine, dict[str, _Hub]] = weakref.WeakKeyDictionary()
_hubs_lock = threading.Lock()


def _hub(db: Database, channel: str) -> _Hub:
    with _hubs_lock:
        hubs = _hubs.setdefault(db.engine, {})
        if channel not in hubs:
            hubs[channel] = _Hub(db, channel)
        return hubs[channel]


def subscribe(db: Database, channel: str, callback: Callback) -> Callable[[], None]:
    """Call ``callback(payload)`` for every signal on ``channel``; returns the function that unsubscribes."""
    hub = _hub(db, channel)
    hub.add(callback)
    return lambda: hub.remove(callback)


def notify_on_commit(uow: UnitOfWork, channel: str, payload: str = "") -> None:
    """Signal ``payload`` on ``channel`` when, and only if, ``uow`` commits."""
    if len(payload.encode()) > MAX_PAYLOAD:
        raise ValueError(f"a signal's payload must stay under {MAX_PAYLOAD} bytes, got {len(payload.encode())}")
    session, db = uow.session, uow.db
    pending: dict[str, set[str]] | None = session.info.get(_PENDING)
    if pending is not None:
        pending.setdefault(channel, set()).add(payload)
        return
    session.info[_PENDING] = {channel: {payload}}

    def before_commit(committing: Session) -> None:
        if db.is_sqlite:
            return
        for name, payloads in committing.info.get(_PENDING, {}).items():
            for each in sorted(payloads):
                # Queued by PostgreSQL and delivered at commit, to listeners in every process.
                committing.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": name, "payload": each})

    def after_commit(committed: Session) -> None:
        signalled: dict[str, set[str]] = committed.info.pop(_PENDING, {})
        for name, payloads in signalled.items():
            hub = _hub(db, name)
            for each in sorted(payloads):
                hub.deliver(each)

    def after_rollback(rolled_back: Session) -> None:
        rolled_back.info.pop(_PENDING, None)

    event.listen(session, "before_commit", before_commit, once=True)
    event.listen(session, "after_commit", after_commit, once=True)
    event.listen(session, "after_rollback", after_rollback, once=True)
