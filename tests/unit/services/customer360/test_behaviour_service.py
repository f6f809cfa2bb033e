"""Satisfaction and unusual behaviour through the subscriptions on SQLite: a low rating flags the
customer, and a withdrawal far above a customer's own habit is found, shown, announced to the account
owner, and acknowledged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from services.customer360 import config
from services.customer360.domain.profiles import Details
from services.customer360.service import anomalies, profiles, views
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.db.uow import UnitOfWork
from switchboard.events.v1 import integration_events_pb2 as integration
from switchboard.events.v1 import ticketing_events_pb2 as ticketing
from switchboard.timestamps import timestamp
from tests.unit.builders import CUSTOMER360_MIGRATIONS, OpenDb, rows
from tests.unit.services.customer360.events import T0, apply, event


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    config.load.cache_clear()
    return open_db("customer360", CUSTOMER360_MIGRATIONS)


@pytest.fixture(autouse=True)
def _fresh_config() -> Iterator[None]:
    yield
    config.load.cache_clear()


def view(db: Database, customer_id: str = "C-1001") -> views.View:
    with UnitOfWork(db, read_only=True) as uow:
        return views.customer_view(uow, customer_id)


def _rated(ticket: str, score: int, days: int, comment: str = "") -> ticketing.TicketRated:
    return ticketing.TicketRated(
        ticket_id=ticket,
        number=f"N-{ticket}",
        customer_id="C-1001",
        score=score,
        comment=comment,
        rated_at=timestamp(T0 - timedelta(days=days)),
    )


def test_a_latest_rating_of_two_flags_the_customer_as_dissatisfied(db: Database) -> None:
    apply(
        db,
        event(_rated("T-1", 5, days=30), event_id="r-1"),
        event(_rated("T-2", 4, days=20), event_id="r-2"),
        event(_rated("T-3", 2, days=1, comment="Nobody came"), event_id="r-3"),
    )

    summary = view(db).satisfaction
    assert (summary.count, summary.average, summary.dissatisfied) == (3, 3.67, True)
    assert summary.reason == "the latest rating was 2 of 5 (ticket T-3)"
    assert [r.comment for r in view(db).ratings] == ["Nobody came", "", ""]


def _withdrawal(n: int, amount: int, days_ago: float) -> integration.AccountTransaction:
    return integration.AccountTransaction(
        transaction_id=f"TX-{n}",
        customer_id="C-1001",
        account_id="ACC-1",
        kind="withdrawal",
        amount_minor=amount,
        currency="EUR",
        channel="branch",
        occurred_at=timestamp(T0 - timedelta(days=days_ago)),
    )


def test_a_withdrawal_far_above_the_customers_habit_is_found_shown_announced_and_acknowledged(db: Database) -> None:
    with UnitOfWork(db) as uow:
        profiles.create_customer(uow, "C-1001", Details(display_name="Edith", account_owner="olga"), [], actor="olga")
        uow.commit()
    habit = [event(_withdrawal(n, 20_000 + 1_000 * (n % 4), 40 - 3 * n), event_id=f"w-{n}") for n in range(12)]
    apply(db, *habit)
    assert view(db).open_anomalies == []

    apply(db, event(_withdrawal(99, 2_000_000, 0), event_id="w-99"))

    (found,) = view(db).open_anomalies
    assert (found.kind, found.source_event_id) == ("amount", "w-99")
    assert found.reason
    (announced,) = [
        json.loads(r.body)["payload"] for r in rows(db, outbox) if r.routing_key == "customer.anomaly_detected"
    ]
    assert (announced["customerId"], announced["accountOwner"], announced["kind"]) == ("C-1001", "olga", "amount")

    with UnitOfWork(db) as uow:
        acknowledged = anomalies.acknowledge(uow, found.anomaly_id, actor="olga")
        uow.commit()
    assert acknowledged.acknowledged_by == "olga"
    assert view(db).open_anomalies == []
