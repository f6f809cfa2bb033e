"""Timers: scheduled in a unit of work, run at their moment in a unit of work of their own, never lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from switchboard import timers
from switchboard.composition import ServiceDefinition
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.db.tables import timers as timers_table
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.runner import Suite
from switchboard.settings import Settings
from switchboard.timers import Timer, TimerLoop
from tests import support
from tests.unit.builders import count, rows, ticket_created

NOON = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


class Clock:
    """The time a loop sees, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Fired:
    """A handler that records what it ran and emits an event in the timer's unit of work."""

    def __init__(self, fail_times: int = 0) -> None:
        self.timers: list[Timer] = []
        self.fail_times = fail_times

    def __call__(self, uow: UnitOfWork, timer: Timer) -> None:
        uow.emit(ticket_created(number=str(timer.payload["number"])), customer_id="C-1001")
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("the mail gateway is down")
        self.timers.append(timer)


def schedule(db: Database, key: str, due_at: datetime, **payload: object) -> None:
    with UnitOfWork(db) as uow:
        timers.schedule(uow, "reminder", key, due_at, payload)
        uow.commit()


def loop(db: Database, handler: Fired, clock: Clock) -> TimerLoop:
    return TimerLoop(db, lambda: UnitOfWork(db), {"reminder": handler}, clock=clock)


def test_a_timer_runs_once_when_due_and_not_before(chassis_db: Database) -> None:
    schedule(chassis_db, "T-000001", NOON, number="T-000001")
    fired, clock = Fired(), Clock(NOON - timedelta(seconds=1))
    timers_loop = loop(chassis_db, fired, clock)

    assert timers_loop.fire_due() == 0
    clock.now = NOON
    assert timers_loop.fire_due() == 1
    assert timers_loop.fire_due() == 0

    assert [(t.kind, t.key, t.due_at, dict(t.payload)) for t in fired.timers] == [
        ("reminder", "T-000001", NOON, {"number": "T-000001"})
    ]
    assert count(chassis_db, timers_table) == 0


def test_the_handlers_events_commit_with_the_timers_removal(chassis_db: Database) -> None:
    schedule(chassis_db, "T-000001", NOON, number="T-000001")

    loop(chassis_db, Fired(), Clock(NOON)).fire_due()

    assert [row.routing_key for row in rows(chassis_db, outbox)] == ["ticket.created"]
    assert count(chassis_db, timers_table) == 0


def test_the_most_overdue_timer_runs_first(chassis_db: Database) -> None:
    for minutes, number in ((3, "T-000003"), (1, "T-000001"), (2, "T-000002")):
        schedule(chassis_db, number, NOON + timedelta(minutes=minutes), number=number)
    fired = Fired()

    loop(chassis_db, fired, Clock(NOON + timedelta(hours=1))).fire_due()

    assert [t.key for t in fired.timers] == ["T-000001", "T-000002", "T-000003"]


def test_scheduling_a_key_again_moves_its_timer(chassis_db: Database) -> None:
    schedule(chassis_db, "T-000001", NOON, number="first")
    schedule(chassis_db, "T-000001", NOON + timedelta(hours=1), number="second")
    fired = Fired()

    assert loop(chassis_db, fired, Clock(NOON)).fire_due() == 0
    assert loop(chassis_db, fired, Clock(NOON + timedelta(hours=1))).fire_due() == 1
    assert [t.payload["number"] for t in fired.timers] == ["second"]


def test_a_cancelled_timer_never_runs(chassis_db: Database) -> None:
    schedule(chassis_db, "T-000001", NOON, number="T-000001")
    with UnitOfWork(chassis_db) as uow:
        assert timers.cancel(uow, "reminder", "T-000001")
        assert not timers.cancel(uow, "reminder", "T-000002")
        uow.commit()

    assert loop(chassis_db, Fired(), Clock(NOON)).fire_due() == 0


def test_a_timer_scheduled_in_a_unit_of_work_that_rolls_back_does_not_exist(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db) as uow:
        timers.schedule(uow, "reminder", "T-000001", NOON, {"number": "T-000001"})

    assert count(chassis_db, timers_table) == 0


def test_a_failing_handler_keeps_its_timer_and_runs_again_after_a_backoff(chassis_db: Database) -> None:
    schedule(chassis_db, "T-000001", NOON, number="T-000001")
    fired, clock = Fired(fail_times=1), Clock(NOON)
    timers_loop = loop(chassis_db, fired, clock)

    assert timers_loop.fire_due() == 1
    (kept,) = rows(chassis_db, timers_table)
    assert (kept.due_at, kept.attempts) == (NOON + timedelta(seconds=timers.RETRY_FIRST), 1)
    assert "mail gateway is down" in kept.last_error
    assert count(chassis_db, outbox) == 0  # the failed attempt's event rolled back with it

    clock.now = NOON + timedelta(seconds=1)
    timers_loop.fire_due()
    assert [t.attempts for t in fired.timers] == [1]
    assert count(chassis_db, outbox) == 1


def test_a_handler_that_must_wait_postpones_its_timer_without_counting_a_failure(chassis_db: Database) -> None:
    schedule(chassis_db, "T-000001", NOON, number="T-000001")

    def busy(uow: UnitOfWork, timer: Timer) -> None:
        raise timers.RetryLater("ticket T-000001 is being changed", seconds=0.05)

    TimerLoop(chassis_db, lambda: UnitOfWork(chassis_db), {"reminder": busy}, clock=Clock(NOON)).fire_due()

    (kept,) = rows(chassis_db, timers_table)
    assert (kept.due_at, kept.attempts, kept.last_error) == (NOON + timedelta(milliseconds=50), 0, None)


def test_a_timer_of_a_kind_nobody_handles_is_kept_for_later(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db) as uow:
        timers.schedule(uow, "retired-kind", "x-1", NOON)
        uow.commit()

    TimerLoop(chassis_db, lambda: UnitOfWork(chassis_db), {}, clock=Clock(NOON)).fire_due()

    (kept,) = rows(chassis_db, timers_table)
    assert kept.attempts == 1
    assert "no handler for timer kind 'retired-kind'" in kept.last_error


def test_a_naive_due_time_is_refused(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db) as uow, pytest.raises(ValueError, match="timezone-aware"):
        timers.schedule(uow, "reminder", "T-000001", datetime(2025, 6, 2, 12, 0))


def test_next_due_is_the_earliest_timer(chassis_db: Database) -> None:
    timers_loop = loop(chassis_db, Fired(), Clock(NOON))
    assert timers_loop.next_due() is None

    schedule(chassis_db, "late", NOON + timedelta(hours=2), number="late")
    schedule(chassis_db, "early", NOON + timedelta(hours=1), number="early")

    assert timers_loop.next_due() == NOON + timedelta(hours=1)


@pytest.fixture
def running(chassis_db: Database) -> Iterator[tuple[TimerLoop, Fired, list[float]]]:
    """A loop on its own thread, on the real clock, noting when each timer ran."""
    ran_at: list[float] = []
    fired = Fired()

    def noting(uow: UnitOfWork, timer: Timer) -> None:
        ran_at.append(time.time())
        fired(uow, timer)

    timers_loop = TimerLoop(chassis_db, lambda: UnitOfWork(chassis_db), {"reminder": noting})
    stop = threading.Event()
    thread = threading.Thread(target=timers_loop.run, args=(stop,), daemon=True)
    thread.start()
    yield timers_loop, fired, ran_at
    stop.set()
    timers_loop.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_sleeping_loop_wakes_for_an_earlier_timer_committed_meanwhile(
    running: tuple[TimerLoop, Fired, list[float]], chassis_db: Database
) -> None:
    timers_loop, fired, ran_at = running
    schedule(chassis_db, "tomorrow", utcnow() + timedelta(days=1), number="tomorrow")
    support.wait_for(lambda: timers_loop.alarm.planned is not None, what="the loop to plan its next look")

    due = utcnow() + timedelta(milliseconds=300)
    schedule(chassis_db, "soon", due, number="soon")

    support.wait_for(lambda: fired.timers, timeout=5, what="the earlier timer to run")
    assert [t.key for t in fired.timers] == ["soon"]
    assert 0 <= ran_at[0] - due.timestamp() < 0.25


def test_a_loop_runs_each_timer_at_its_moment(
    running: tuple[TimerLoop, Fired, list[float]], chassis_db: Database
) -> None:
    _, fired, ran_at = running
    start = utcnow()
    dues = [start + timedelta(milliseconds=ms) for ms in (200, 450, 700)]
    for number, due in enumerate(dues):
        schedule(chassis_db, f"T-{number:06d}", due, number=f"T-{number:06d}")

    support.wait_for(lambda: len(fired.timers) == 3, timeout=5, what="three timers")

    lateness = [ran - due.timestamp() for ran, due in zip(ran_at, dues, strict=True)]
    assert all(0 <= late < 0.25 for late in lateness), lateness


def test_timers_stay_in_the_table_until_a_loop_runs_them(chassis_db: Database) -> None:
    schedule(chassis_db, "T-000001", NOON, number="T-000001")

    with chassis_db.engine.connect() as connection:
        (row,) = connection.execute(select(timers_table)).all()

    assert (row.service, row.kind, row.key, row.due_at) == ("ticketing", "reminder", "T-000001", NOON)


def test_the_embedded_suite_runs_each_services_timers_as_part_of_its_relay_role(
    settings: Settings, start_suite: Callable[..., Suite]
) -> None:
    fired = Fired()
    reminders = ServiceDefinition(
        name="reminders", port_offset=0, migrations=None, api=lambda runtime: [], timers={"reminder": fired}
    )
    suite = start_suite(settings, definitions=[reminders])
    db = suite.runtimes["reminders"].db

    schedule(db, "T-000001", utcnow() + timedelta(milliseconds=200), number="T-000001")

    support.wait_for(lambda: fired.timers, timeout=5, what="the suite's timer loop to run the reminder")
    support.wait_for(lambda: count(db, outbox, outbox.c.published_at.is_not(None)) == 1, what="its event relayed")
    assert list(suite.timer_loops) == ["reminders"]
