"""When a server stream should look again: at once, on each commit-time signal that concerns it, and
every second regardless, for as long as its client listens."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from types import TracebackType

import grpc

from switchboard import signals
from switchboard.db.engine import Database

# A signal is a wake-up that may be lost (nobody listening across a reconnect to PostgreSQL, say), so a
# stream also looks again this often by itself.
RECHECK_SECONDS = 1.0


class Looks:
    """Iterate to be told when to read again; use as a context so the subscription always ends with the stream.

    It listens from ``__enter__`` on, before the first read: what commits in between wakes the next look
    instead of being missed.
    """

    def __init__(
        self,
        db: Database,
        channel: str,
        ctx: grpc.ServicerContext,
        concerns: Callable[[str], bool] = lambda payload: True,
    ) -> None:
        self._db, self._channel, self._ctx, self._concerns = db, channel, ctx, concerns
        self._wake = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None

    def _signalled(self, payload: str) -> None:
        if self._concerns(payload):
            self._wake.set()

    def __enter__(self) -> Looks:
        self._unsubscribe = signals.subscribe(self._db, self._channel, self._signalled)
        # The client went away: stop waiting at once rather than at the next recheck.
        self._ctx.add_callback(self._wake.set)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def __iter__(self) -> Iterator[None]:
        while self._ctx.is_active():
            self._wake.clear()
            yield
            self._wake.wait(RECHECK_SECONDS)
