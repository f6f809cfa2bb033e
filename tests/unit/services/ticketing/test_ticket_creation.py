"""Ticketing's use cases on a real SQLite database: a ticket and its ticket.created commit together."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.ticketing.domain.tickets import NewTicket, Status, Ticket
from services.ticketing.service import tickets as service
from services.ticketing.subscriptions import SUBSCRIPTIONS
from switchboard import envelope
from switchboard.bus.handling import Applier
from switchboard.common.v1 import common_pb2
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.db.uow import UnitOfWork
from switchboard.errors import NotFound
from switchboard.events.v1.envelope_pb2 import Envelope
from switchboard.events.v1.ticketing_events_pb2 import TicketCreated
from switchboard.settings import Settings
from tests.unit.builders import (
    TICKETING_MIGRATIONS,
    OpenDb,
    as_event,
    device_fault,
    new_ticket,
    rows,
    sealed,
    uow_factory,
)


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    return open_db("ticketing", TICKETING_MIGRATIONS)


def _leak(**overrides: object) -> NewTicket:
    details: dict[str, object] = {
        "asset_id": "WM-7781",
        "required_skills": ("washing-machines", "plumbing"),
        "language": "de",
    }
    return new_ticket(**{**details, **overrides})


def _create(db: Database, new: NewTicket | None = None) -> tuple[Ticket, list[Envelope]]:
    with UnitOfWork(db) as uow:
        ticket = service.create_ticket(uow, new or _leak())
        uow.commit()
    return ticket, uow.emitted


def _get(db: Database, **ref: str) -> Ticket:
    with UnitOfWork(db) as uow:
        return service.get_ticket(uow, **ref)


def test_create_ticket_stores_the_ticket_with_the_first_number(db: Database) -> None:
    ticket, _ = _create(db)

    assert ticket.number == "T-000001"
    assert _get(db, number="T-000001") == ticket


def test_the_next_ticket_gets_the_next_number(db: Database) -> None:
    _create(db)

    second, _ = _create(db, _leak(subject="Dryer does not heat"))

    assert second.number == "T-000002"


def test_a_created_ticket_is_new_at_version_one_with_p3_by_default(db: Database) -> None:
    ticket, _ = _create(db)

    assert (ticket.status, ticket.version, ticket.priority) == (Status.NEW, 1, 3)


def test_create_ticket_emits_exactly_one_ticket_created(db: Database) -> None:
    _, emitted = _create(db)

    (event,) = emitted
    assert event.type == "ticket.created"
    assert len(rows(db, outbox)) == 1


def test_ticket_created_carries_the_number_customer_and_skills(db: Database) -> None:
    ticket, _ = _create(db)

    (row,) = rows(db, outbox)
    event = envelope.decode(row.body, row.content_type)
    payload = event.payload
    assert isinstance(payload, TicketCreated)
    assert (payload.ticket_id, payload.number, payload.customer_id) == (ticket.ticket_id, "T-000001", "C-1001")
    assert list(payload.required_skills) == ["washing-machines", "plumbing"]
    assert (payload.channel, payload.priority, payload.language) == (common_pb2.CHANNEL_PHONE, 3, "de")
    assert (payload.subject, payload.asset_id, payload.created_by) == ("Washing machine leaks", "WM-7781", "alice")
    assert payload.created_at.ToDatetime(tzinfo=ticket.created_at.tzinfo) == ticket.created_at
    assert event.envelope.customer_id == "C-1001"


def test_a_ticket_not_committed_is_not_stored_and_its_event_not_sent(db: Database) -> None:
    with UnitOfWork(db) as uow:
        service.create_ticket(uow, _leak())

    assert rows(db, outbox) == []
    with pytest.raises(NotFound):
        _get(db, number="T-000001")


def test_a_device_fault_opens_a_ticket_for_the_devices_owner(db: Database) -> None:
    event = as_event(device_fault())

    with UnitOfWork(db) as uow:
        service.open_ticket_from_fault(uow, event)
        uow.commit()

    ticket = _get(db, number="T-000001")
    assert ticket.subject == "Fault E21 reported by WM-7781"
    assert (ticket.customer_id, ticket.asset_id, ticket.channel, ticket.priority) == (
        "C-1001",
        "WM-7781",
        "system_event",
        2,
    )
    assert ticket.tags == ("device-fault", "fault-code:E21")
    assert ticket.created_by == f"event:{event.event_id}"


def test_a_ticket_opened_from_a_fault_is_announced_as_created_on_the_system_event_channel(db: Database) -> None:
    with UnitOfWork(db) as uow:
        service.open_ticket_from_fault(uow, as_event(device_fault()))
        uow.commit()

    (created,) = uow.emitted
    payload = TicketCreated()
    created.payload.Unpack(payload)
    assert (payload.number, payload.channel) == ("T-000001", common_pb2.CHANNEL_SYSTEM_EVENT)


def test_a_redelivered_device_fault_opens_one_ticket(db: Database, settings_factory: Callable[..., Settings]) -> None:
    applier = Applier("ticketing", uow_factory(db), settings_factory(handler_backoff=0.001))
    (subscription,) = [s for s in SUBSCRIPTIONS if s.event_type == "device.fault_reported"]
    body = envelope.to_json(sealed(device_fault()))

    applier.apply(subscription, body, envelope.JSON)
    applier.apply(subscription, body, envelope.JSON)

    assert len(rows(db, outbox)) == 1
    with pytest.raises(NotFound):
        _get(db, number="T-000002")


def test_get_ticket_finds_a_ticket_by_its_number(db: Database) -> None:
    _create(db)
    second, _ = _create(db, _leak(subject="Dryer does not heat"))

    assert _get(db, number="T-000002") == second


def test_get_ticket_finds_a_ticket_by_its_id(db: Database) -> None:
    ticket, _ = _create(db)

    assert _get(db, ticket_id=ticket.ticket_id) == ticket


def test_a_stored_ticket_comes_back_as_it_was_created(db: Database) -> None:
    ticket, _ = _create(db, _leak(tags=("warranty", "vip"), description="Water under the machine"))

    found = _get(db, ticket_id=ticket.ticket_id)

    assert found.tags == ("warranty", "vip")
    assert found.description == "Water under the machine"
    assert found.created_at == ticket.created_at
    assert found.created_at.tzinfo is not None


def test_an_unknown_number_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound) as missing:
        _get(db, number="T-000999")

    assert (missing.value.kind, missing.value.key) == ("ticket", "T-000999")
    assert str(missing.value) == "ticket 'T-000999' does not exist"


def test_an_unknown_id_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound) as missing:
        _get(db, ticket_id="0195a0c4-7d1e-7f00-8000-0000000fffff")

    assert missing.value.key == "0195a0c4-7d1e-7f00-8000-0000000fffff"


def test_a_number_in_another_format_is_not_found(db: Database) -> None:
    _create(db)

    with pytest.raises(NotFound):
        _get(db, number="T-1")


def test_a_number_too_large_to_be_any_tickets_is_not_found(db: Database) -> None:
    # Once an OverflowError on SQLite ('bigint out of range' on PostgreSQL): an INTERNAL error.
    with pytest.raises(NotFound):
        _get(db, number="T-" + "9" * 30)
