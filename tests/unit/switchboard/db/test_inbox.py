"""The inbox: a consumer claims an event id once; the claim lives or dies with the transaction."""

from __future__ import annotations

from switchboard.db import inbox
from switchboard.db.engine import Database
from switchboard.db.tables import inbox as inbox_table
from switchboard.db.uow import UnitOfWork
from tests.unit.builders import count

ROUTING = "evt-ticketing-ticket.created--routing.queue_ticket"
NOTIFICATIONS = "evt-ticketing-ticket.created--notifications.notify_customer"
EVENT_ID = "0195a0c4-7d1e-7f00-8000-00000000e021"


def test_the_first_claim_of_an_event_by_a_consumer_succeeds(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db) as uow:
        assert inbox.claim(uow.session, ROUTING, EVENT_ID) is True


def test_a_second_claim_of_the_same_event_by_the_same_consumer_fails(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db) as uow:
        inbox.claim(uow.session, ROUTING, EVENT_ID)

        assert inbox.claim(uow.session, ROUTING, EVENT_ID) is False


def test_a_claim_committed_earlier_makes_a_later_claim_fail(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db) as uow:
        inbox.claim(uow.session, ROUTING, EVENT_ID)
        uow.commit()

    with UnitOfWork(chassis_db) as uow:
        assert inbox.claim(uow.session, ROUTING, EVENT_ID) is False


def test_another_consumer_may_claim_the_same_event(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db) as uow:
        inbox.claim(uow.session, ROUTING, EVENT_ID)

        assert inbox.claim(uow.session, NOTIFICATIONS, EVENT_ID) is True


def test_a_claim_rolled_back_with_its_transaction_can_be_made_again(chassis_db: Database) -> None:
    with UnitOfWork(chassis_db) as uow:
        inbox.claim(uow.session, ROUTING, EVENT_ID)  # no commit: the effect failed

    assert count(chassis_db, inbox_table) == 0
    with UnitOfWork(chassis_db) as uow:
        assert inbox.claim(uow.session, ROUTING, EVENT_ID) is True
