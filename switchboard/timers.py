"""Deadline-driven timers: work that must happen at a moment, not on the next scan.

A use case schedules a timer in its unit of work (``schedule(uow, kind, key, due_at, payload)``); the
row commits with the change that caused it. Each service's TimerLoop sleeps until the earliest due
timer (an indexed MIN(due_at)), and is woken early when a commit schedules something earlier, in this
process or another (switchboard.signals carries the earliest new due time). Each due timer runs in its
own unit of work: claim the row (FOR UPDATE SKIP LOCKED on PostgreSQL, so replicas share the work), delete it,
run the kind's handler, commit the handler's changes and events with the deletion. A handler that
fails leaves the timer in place, due again after a backoff; nothing is lost if a process dies.

SQLite has no SKIP LOCKED: run one loop per file (the embedded suite does).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from switchboard import context, signals
from switchboard.db.engine import Database
from switchboard.db.tables import timers
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork, UnitOfWorkFactory
from switchboard.ids import new_id

log = structlog.get_logger("switchboard.timers")

# A loop looks at its table at least this often even when told nothing: the safety net under NOTIFY.
IDLE_RECHECK = 30.0
# A failed handler is retried after 0.1 s, doubling per failure, up to 5 minutes.
RETRY_FIRST, RETRY_MAX = 0.1, 300.0
_EARLIEST = "switchboard.timers.earliest"


@dataclass(frozen=True)
class Timer:
    service: str
    kind: str
    key: str
    due_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 0


class RetryLater(Exception):
    """A handler cannot run yet (a row it needs is locked by a change in progress): run the timer again
    in ``seconds``. Not a failure: the timer keeps its attempts and nothing is logged as an error."""

    def __init__(self, reason: str, seconds: float = 0.05) -> None:
        super().__init__(reason)
        self.seconds = seconds


TimerHandler = Callable[[UnitOfWork, Timer], None]
"""Runs a due timer inside the unit of work that deletes it; raising leaves the timer to try again."""


def timers_channel(service: str) -> str:
    return f"timers_{service}"


class Alarm:
    """Wakes a sleeping loop when a timer due before its planned wake-up is committed."""

    def __init__(self) -> None:
        self._event = threading.Event()
        # When the loop plans to look next; None while it is busy (then every nudge counts).
        self.planned: datetime | None = None

    def nudge(self, due_at: datetime | None) -> None:
        planned = self.planned
        if due_at is None or planned is None or due_at < planned:
            self._event.set()

    def ring(self) -> None:
        self._event.set()

    def wait(self, seconds: float) -> None:
        self._event.wait(seconds)

    def reset(self) -> None:
        self._event.clear()


def schedule(uow: UnitOfWork, kind: str, key: str, due_at: datetime, payload: Mapping[str, Any] | None = None) -> None:
    """Run the ``kind`` handler for ``key`` at ``due_at`` (at once if it is past), replacing any timer
    of that kind and key. Takes effect when the unit of work commits."""
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    db = uow.db
    values = {
        "service": db.service,
        "kind": kind,
        "key": key,
        "due_at": due_at,
        "payload": dict(payload or {}),
        "scheduled_at": utcnow(),
        "attempts": 0,
        "last_error": None,
    }
    insert = (sqlite_insert if db.is_sqlite else postgresql_insert)(timers).values(**values)
    uow.session.execute(
        insert.on_conflict_do_update(
            index_elements=[timers.c.service, timers.c.kind, timers.c.key],
            set_={
                name: insert.excluded[name] for name in ("due_at", "payload", "scheduled_at", "attempts", "last_error")
            },
        )
    )
    _wake_on_commit(uow, due_at)


def cancel(uow: UnitOfWork, kind: str, key: str) -> bool:
    """Forget the timer of that kind and key; True if there was one."""
    deleted = uow.session.execute(
        delete(timers)
        .where(timers.c.service == uow.db.service, timers.c.kind == kind, timers.c.key == key)
        .returning(timers.c.key)
    ).first()
    return deleted is not None


def pending(session: Session, service: str, kind: str, key: str) -> Timer | None:
    row = session.execute(
        select(timers).where(timers.c.service == service, timers.c.kind == kind, timers.c.key == key)
    ).first()
    return _timer(row) if row else None


def _timer(row: Any) -> Timer:
    return Timer(
        service=row.service,
        kind=row.kind,
        key=row.key,
        due_at=row.due_at,
        payload=dict(row.payload or {}),
        attempts=row.attempts,
    )


def _wake_on_commit(uow: UnitOfWork, due_at: datetime) -> None:
    """Tell the loops about this timer once the transaction commits, unless an earlier one already does."""
    earliest: datetime | None = uow.session.info.get(_EARLIEST)
    if earliest is not None and earliest <= due_at:
        return
    uow.session.info[_EARLIEST] = due_at
    signals.notify_on_commit(uow, timers_channel(uow.db.service), due_at.isoformat())


class TimerLoop:
    """Runs one service's due timers at their moment, with ``workers`` threads when many fall due at once."""

    def __init__(
        self,
        db: Database,
        uow_factory: UnitOfWorkFactory,
        handlers: Mapping[str, TimerHandler],
        *,
        workers: int = 4,
        idle: float = IDLE_RECHECK,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db, self.uow_factory, self.handlers = db, uow_factory, dict(handlers)
        # SQLite serializes writers: more threads would only queue on its lock.
        self.workers = 1 if db.is_sqlite else max(1, workers)
        self.idle, self.clock = idle, clock
        self.alarm = Alarm()
        self._stop = threading.Event()

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        unsubscribe = signals.subscribe(
            self.db, timers_channel(self.db.service), lambda payload: self.alarm.nudge(_moment(payload))
        )
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix=f"{self.db.service}-timers")
        log.info("timers.started", service=self.db.service, workers=self.workers, kinds=sorted(self.handlers))
        backoff = 0.5
        try:
            while not stop.is_set():
                self.alarm.reset()
                self.alarm.planned = None
                try:
                    fired = self._fire_due(pool)
                    due = self.next_due()
                    backoff = 0.5
                except Exception as exc:
                    log.warning("timers.error", service=self.db.service, error=repr(exc))
                    self.alarm.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                self.alarm.planned = due
                delay = self.idle if due is None else (due - self.clock()).total_seconds()
                if delay <= 0 and not fired:
                    delay = 0.05  # due, yet another replica holds it: let that one finish
                if delay > 0:
                    self.alarm.wait(min(delay, self.idle))
        finally:
            pool.shutdown(wait=True)
            unsubscribe()
            log.info("timers.stopped", service=self.db.service)

    def next_due(self) -> datetime | None:
        with self.db.engine.connect() as connection:
            earliest: datetime | None = connection.execute(
                select(func.min(timers.c.due_at)).where(timers.c.service == self.db.service)
            ).scalar()
            return earliest

    def _fire_due(self, pool: ThreadPoolExecutor) -> int:
        if self.workers == 1:
            return self.fire_due()
        # One worker first: a lone due timer should not cost every worker a query.
        fired = self.fire_one()
        if fired is None:
            return 0
        return 1 + sum(f.result() for f in [pool.submit(self.fire_due) for _ in range(self.workers)])

    def fire_due(self) -> int:
        """Run timers until none is due; return how many ran (including ones that failed)."""
        fired = 0
        while not self._stop.is_set() and self.fire_one() is not None:
            fired += 1
        return fired

    def fire_one(self) -> Timer | None:
        """Claim the most overdue timer and run its handler in one unit of work; None when none is due."""
        now = self.clock()
        failure: Exception | None = None
        with self.uow_factory() as uow:
            due = (
                select(timers.c.service, timers.c.kind, timers.c.key)
                .where(timers.c.service == self.db.service, timers.c.due_at <= now)
                .order_by(timers.c.due_at)
                .limit(1)
            )
            if not self.db.is_sqlite:
                due = due.with_for_update(skip_locked=True)
            # Claimed and deleted in one statement: the row stays locked until this unit of work ends.
            row = uow.session.execute(
                delete(timers)
                .where(tuple_(timers.c.service, timers.c.kind, timers.c.key).in_(due))
                .returning(*timers.c)
            ).first()
            if row is None:
                return None
            timer = _timer(row)
            work = context.WorkContext(
                correlation_id=new_id(),
                causation_id=f"timer:{timer.kind}:{timer.key}",
                caller=context.SYSTEM,
                deadline=None,
            )
            with context.working(work):
                try:
                    handler = self.handlers.get(timer.kind)
                    if handler is None:
                        raise LookupError(f"no handler for timer kind {timer.kind!r}; known: {sorted(self.handlers)}")
                    handler(uow, timer)
                    uow.commit()
                except Exception as exc:
                    failure = exc
        if isinstance(failure, RetryLater):
            log.debug("timer.postponed", service=timer.service, kind=timer.kind, key=timer.key, reason=str(failure))
            self._postpone(timer, failure.seconds, attempts=timer.attempts, error=None)
        elif failure is not None:
            self._retry_later(timer, failure)
        else:
            lateness = (self.clock() - timer.due_at).total_seconds()
            log.debug("timer.fired", service=timer.service, kind=timer.kind, key=timer.key, late_s=round(lateness, 3))
        return timer

    def _retry_later(self, timer: Timer, failure: Exception) -> None:
        delay = min(RETRY_FIRST * 2**timer.attempts, RETRY_MAX)
        log.warning(
            "timer.failed",
            service=timer.service,
            kind=timer.kind,
            key=timer.key,
            attempt=timer.attempts + 1,
            retry_in_s=delay,
            error=repr(failure),
        )
        self._postpone(timer, delay, attempts=timer.attempts + 1, error=repr(failure)[:2000])

    def _postpone(self, timer: Timer, seconds: float, *, attempts: int, error: str | None) -> None:
        # Its row is back (the handler's transaction rolled back): push it later, unless it was
        # scheduled anew meanwhile (then that one stands) or another replica already ran it.
        with self.db.engine.begin() as connection:
            connection.execute(
                update(timers)
                .where(
                    timers.c.service == timer.service,
                    timers.c.kind == timer.kind,
                    timers.c.key == timer.key,
                    timers.c.due_at == timer.due_at,
                )
                .values(due_at=self.clock() + timedelta(seconds=seconds), attempts=attempts, last_error=error)
            )

    def stop(self) -> None:
        """Wake the loop so it sees its stop event (which its caller has set)."""
        self.alarm.ring()


def _moment(payload: str) -> datetime | None:
    try:
        return datetime.fromisoformat(payload)
    except ValueError:
        return None
