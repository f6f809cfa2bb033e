"""The unit of work: a change and the events it causes commit together, or not at all."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from switchboard import context, envelope
from switchboard.context import Caller, WorkContext
from switchboard.db import inbox
from switchboard.db.engine import Database
from switchboard.db.tables import inbox as inbox_table
from switchboard.db.tables import outbox
from switchboard.db.uow import UnitOfWork
from tests.unit.builders import count, rows, ticket_created

EVENT_ID = "0195a0c4-7d1e-7f00-8000-00000000e021"


class _Wakes:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def test_an_emitted_event_is_written_to_the_outbox_on_commit(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db) as uow:
        sent = uow.emit(ticket_created(), customer_id="C-1001")
        uow.commit()

    (row,) = rows(chassis_db, outbox)
    assert row.event_id == sent.event_id
    assert envelope.decode(row.body, row.content_type).envelope == sent


def test_the_outbox_row_is_addressed_to_the_sources_exchange_by_event_type(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db) as uow:
        sent = uow.emit(ticket_created(), customer_id="C-1001")
        uow.commit()

    (row,) = rows(chassis_db, outbox)
    assert (row.exchange, row.routing_key, row.content_type) == (
        "ticketing.events",
        "ticket.created",
        "application/json",
    )
    assert row.headers == {"correlation_id": sent.correlation_id, "causation_id": sent.causation_id}
    assert (row.published_at, row.attempts, row.last_error) == (None, 0, None)


def test_emit_stamps_the_customer_and_the_work_in_progress(chassis_db: Database) -> None:
    work = WorkContext(
        correlation_id="corr-7f3a", causation_id=EVENT_ID, caller=Caller("alice", frozenset({"agent"})), deadline=None
    )

    with context.working(work), UnitOfWork(chassis_db) as uow:
        sent = uow.emit(ticket_created(), customer_id="C-1001")

    assert (sent.correlation_id, sent.causation_id, sent.customer_id) == ("corr-7f3a", EVENT_ID, "C-1001")


def test_emitted_lists_the_events_of_this_unit_of_work(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db) as uow:
        first = uow.emit(ticket_created(number="T-000001"))
        second = uow.emit(ticket_created(number="T-000002"))

        assert uow.emitted == [first, second]


def test_leaving_without_commit_writes_neither_the_change_nor_the_event(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db) as uow:
        inbox.claim(uow.session, "evt-ticketing-ticket.created--routing.queue_ticket", EVENT_ID)
        uow.emit(ticket_created())

    assert count(chassis_db, inbox_table) == 0
    assert count(chassis_db, outbox) == 0


def test_an_exception_inside_the_unit_of_work_writes_nothing_and_propagates(chassis_db: Database) -> None:
    with pytest.raises(ConnectionError, match="CRM timed out"), UnitOfWork(chassis_db) as uow:
        uow.emit(ticket_created())
        raise ConnectionError("CRM timed out")

    assert count(chassis_db, outbox) == 0


def test_on_commit_runs_once_after_a_commit_that_emitted_events(chassis_db: Database) -> None:
    wakes = _Wakes()

    with UnitOfWork(chassis_db, on_commit=wakes) as uow:
        uow.emit(ticket_created(number="T-000001"))
        uow.emit(ticket_created(number="T-000002"))
        uow.commit()

    assert wakes.calls == 1


def test_on_commit_does_not_run_after_a_commit_without_events(chassis_db: Database) -> None:
    wakes = _Wakes()

    with UnitOfWork(chassis_db, on_commit=wakes) as uow:
        inbox.claim(uow.session, "evt-ticketing-ticket.created--routing.queue_ticket", EVENT_ID)
        uow.commit()

    assert wakes.calls == 0


def test_on_commit_does_not_run_when_the_unit_of_work_is_not_committed(chassis_db: Database) -> None:
    wakes = _Wakes()

    with UnitOfWork(chassis_db, on_commit=wakes) as uow:
        uow.emit(ticket_created())

    assert wakes.calls == 0


def test_a_unit_of_work_starts_afresh_each_time_it_is_entered(chassis_db: Database) -> None:
    uow = UnitOfWork(chassis_db)
    with uow:
        uow.emit(ticket_created())

    with uow:
        assert uow.emitted == []


def test_the_session_is_refused_outside_the_with_block(chassis_db: Database) -> None:
    uow = UnitOfWork(chassis_db)

    with pytest.raises(RuntimeError, match="outside its 'with' block"):
        uow.session  # noqa: B018 - the access is what is tested


def test_a_reader_in_the_middle_of_a_long_query_does_not_hold_up_a_writer(chassis_db: Database) -> None:
    finished = threading.Event()

    def write() -> None:
        with UnitOfWork(chassis_db) as uow:
            uow.emit(ticket_created())
            uow.commit()
        finished.set()

    with UnitOfWork(chassis_db, read_only=True) as reader:
        before = reader.session.execute(select(func.count()).select_from(outbox)).scalar_one()
        writer = threading.Thread(target=write)
        writer.start()
        # A reader that took the write lock (BEGIN IMMEDIATE) would keep the writer waiting here.
        assert finished.wait(timeout=5), "the writer waited for the reader"
        writer.join()
        # The reader keeps reading the snapshot it started with.
        assert reader.session.execute(select(func.count()).select_from(outbox)).scalar_one() == before == 0
    assert count(chassis_db, outbox) == 1


def test_a_reader_refuses_to_emit_or_commit(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db, read_only=True) as reader:
        with pytest.raises(RuntimeError, match="cannot emit"):
            reader.emit(ticket_created())
        with pytest.raises(RuntimeError, match="nothing to commit"):
            reader.commit()
