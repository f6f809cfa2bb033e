"""A customer erased in customer360 is erased in ticketing too, and no replayed event brings them back; a
customer whose behaviour changed gets a proactive ticket when customer360 asks for one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.ticketing.domain.lifecycle import Actor
from services.ticketing.domain.tickets import Ticket
from services.ticketing.service import privacy
from services.ticketing.service import tickets as service
from services.ticketing.store.conversation import service_records, ticket_comments
from services.ticketing.store.customers import CustomerStore
from services.ticketing.store.history import ticket_history
from services.ticketing.store.tickets import tickets
from switchboard.db.engine import Database
from switchboard.db.uow import UnitOfWork
from switchboard.errors import FailedPrecondition
from switchboard.events.v1.customer_events_pb2 import CustomerAnomalyDetected, CustomerErased
from switchboard.timestamps import timestamp
from tests.unit.builders import TICKETING_MIGRATIONS, OpenDb, as_event, device_fault, new_ticket, rows

ALICE = Actor("alice", frozenset({"agent"}))
ERASED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    return open_db("ticketing", TICKETING_MIGRATIONS)


def _ticket_with_a_conversation(db: Database) -> Ticket:
    with UnitOfWork(db) as uow:
        ticket = service.create_ticket(
            uow,
            new_ticket(subject="Anna Berg's washer floods the kitchen", description="Call Anna on +49 30 1234567"),
        )
        service.add_comment(
            uow,
            ticket.ticket_id,
            public=True,
            body="Dear Anna, a technician comes Monday",
            from_customer=False,
            actor=ALICE,
        )
        service.add_service_record(
            uow, ticket.ticket_id, description="Phoned Anna at home", minutes_spent=10, performed_at=None, actor=ALICE
        )
        current = service.load(uow, ticket.ticket_id)
        service.update_fields(
            uow, ticket.ticket_id, version=current.version, values={"subject": "Anna Berg: washer leaks"}, actor=ALICE
        )
        uow.commit()
    return ticket


def _erase(db: Database, customer_id: str = "C-1001") -> None:
    with UnitOfWork(db) as uow:
        privacy.erase_customer(
            uow, as_event(CustomerErased(customer_id=customer_id, erased_at=timestamp(ERASED_AT), requested_by="dpo"))
        )
        uow.commit()


def test_erasure_scrubs_what_the_customer_wrote_and_what_names_them(db: Database) -> None:
    ticket = _ticket_with_a_conversation(db)

    _erase(db)

    (row,) = rows(db, tickets)
    assert (row.subject, row.description, row.customer_id, row.status) == ("[erased]", "", "C-1001", "new")
    assert {r.body for r in rows(db, ticket_comments)} == {"[erased]"}
    assert {r.description for r in rows(db, service_records)} == {"[erased]"}
    texts = [(r.old_value, r.new_value) for r in rows(db, ticket_history) if r.field == "subject"]
    assert texts == [("[erased]", "[erased]")]
    assert ticket.ticket_id == row.ticket_id


def test_erasure_leaves_other_customers_alone(db: Database) -> None:
    with UnitOfWork(db) as uow:
        service.create_ticket(uow, new_ticket(customer_id="C-2002", subject="Dryer hums"))
        uow.commit()

    _erase(db, "C-1001")

    (row,) = rows(db, tickets)
    assert row.subject == "Dryer hums"


def test_a_replayed_fault_of_an_erased_customer_opens_no_ticket(db: Database) -> None:
    _erase(db)

    with UnitOfWork(db) as uow:
        service.open_ticket_from_fault(uow, as_event(device_fault(customer_id="C-1001")))
        uow.commit()

    assert rows(db, tickets) == []


def test_a_new_ticket_for_an_erased_customer_is_refused_with_the_reason(db: Database) -> None:
    _erase(db)

    with UnitOfWork(db) as uow, pytest.raises(FailedPrecondition, match="C-1001 was erased on 2026-11-20"):
        service.create_ticket(uow, new_ticket(customer_id="C-1001"))


def test_erasing_twice_keeps_the_first_time(db: Database) -> None:
    _erase(db)
    _erase(db)

    with UnitOfWork(db) as uow:
        assert CustomerStore(uow.session).standing("C-1001").erased_at == ERASED_AT


def _anomaly(**overrides: object) -> CustomerAnomalyDetected:
    values: dict[str, object] = {
        "anomaly_id": "a-1",
        "customer_id": "C-1001",
        "kind": "amount",
        "metric": "account.transaction:withdrawal",
        "reason": "A withdrawal of 9,000.00 EUR is 14 times this customer's usual 650.00 EUR",
        "account_owner": "olga",
        "open_ticket": True,
    }
    values.update(overrides)
    return CustomerAnomalyDetected(**values)  # type: ignore[arg-type]


def test_an_anomaly_that_asks_for_a_ticket_opens_a_proactive_one_the_account_owner_watches(db: Database) -> None:
    event = as_event(_anomaly())

    with UnitOfWork(db) as uow:
        service.open_ticket_for_anomaly(uow, event)
        uow.commit()

    (row,) = rows(db, tickets)
    assert row.subject == "Unusual behaviour (amount): contact the customer"
    assert row.description == "A withdrawal of 9,000.00 EUR is 14 times this customer's usual 650.00 EUR"
    assert (row.customer_id, row.channel, row.priority) == ("C-1001", "system_event", 3)
    assert row.tags == ["proactive", "anomaly:amount"]
    assert row.watchers == ["olga"]
    assert row.created_by == f"event:{event.event_id}"


def test_an_anomaly_without_the_ask_opens_nothing(db: Database) -> None:
    with UnitOfWork(db) as uow:
        service.open_ticket_for_anomaly(uow, as_event(_anomaly(open_ticket=False)))
        uow.commit()

    assert rows(db, tickets) == []
