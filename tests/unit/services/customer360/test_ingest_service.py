"""Events from other systems and from ticketing, applied through customer-360's subscriptions on a real
SQLite database: identity, the timeline, open tickets, products, value, and order independence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from services.customer360 import config
from services.customer360.service import value, views
from services.customer360.store.profiles import ProfileStore
from switchboard import timers
from switchboard.common.v1 import common_pb2
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.db.uow import UnitOfWork
from switchboard.errors import InvalidArgument
from switchboard.events.v1 import integration_events_pb2 as integration
from switchboard.timestamps import timestamp
from tests.unit.builders import CUSTOMER360_MIGRATIONS, OpenDb, rows
from tests.unit.services.customer360.events import (
    T0,
    apply,
    call,
    contact,
    event,
    minutes,
    order,
    status_changed,
    ticket_created,
)


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    return open_db("customer360", CUSTOMER360_MIGRATIONS)


@pytest.fixture(autouse=True)
def _fresh_config() -> Iterator[None]:
    config.load.cache_clear()
    yield
    config.load.cache_clear()


def view(db: Database, customer_id: str) -> views.View:
    with UnitOfWork(db, read_only=True) as uow:
        return views.customer_view(uow, customer_id)


def find(db: Database, **by: Any) -> list[str]:
    with UnitOfWork(db, read_only=True) as uow:
        return [p.customer_id for p in views.find(uow, **by)]


def emitted(db: Database, event_type: str) -> list[dict[str, Any]]:
    return [json.loads(r.body)["payload"] for r in rows(db, outbox) if r.routing_key == event_type]


def test_an_order_from_the_shop_makes_a_profile_known_by_its_email_and_shop_id(db: Database) -> None:
    apply(db, event(order(), event_id="e-order-1"))

    (found,) = find(db, email="ada.lovelace@example.com")
    shown = view(db, found)
    assert shown.customer.known_from_events
    assert shown.customer.of_kind("email") == ("ada.lovelace@example.com",)
    assert shown.customer.of_kind("external") == ("shop:88121",)
    assert [(e.kind, e.title, e.amount_minor) for e in shown.recent_timeline] == [
        ("order", "Order O-5001 placed (1 line)", 129_900)
    ]
    assert [(p.serial, p.model, p.order_id) for p in shown.products] == [("SN-WM-0001", "WM800", "O-5001")]
    assert shown.value.ledger.revenue_minor == 129_900
    assert find(db, external=("shop", "88121")) == [found] == find(db, serial="SN-WM-0001")


def test_a_call_is_found_by_the_number_however_the_network_wrote_it(db: Database) -> None:
    apply(db, event(call(phone="0171 1234567"), event_id="e-call-1", customer_id="C-1001"))

    assert find(db, phone="+49 171 1234567") == ["C-1001"]
    assert find(db, phone="00491711234567") == ["C-1001"]
    assert find(db, phone="0171/123 45 67") == ["C-1001"]
    assert find(db, phone="+44 20 7946 0000") == []
    assert view(db, "C-1001").customer.of_kind("phone") == ("+491711234567",)


def test_an_event_naming_a_known_identifier_of_another_profile_merges_the_two(db: Database) -> None:
    # The shop knows Ada by email; then the phone system reports a call from C-1001 with her email.
    apply(db, event(order(), event_id="e-order-1"))
    (generated,) = find(db, email="ada.lovelace@example.com")
    linking = integration.CallEnded(
        call_id="CALL-9",
        customer_id="C-1001",
        contact=contact(email="ada.lovelace@example.com", phone="+49 171 1234567"),
        direction="inbound",
        started_at=timestamp(T0 + minutes(5)),
    )

    apply(db, event(linking, event_id="e-call-9"))

    shown = view(db, generated)
    assert shown.requested_id == generated
    assert shown.customer.customer_id == "C-1001"  # the suite's id survives over a generated one
    assert [m.customer_id for m in shown.merged] == [generated]
    assert shown.customer.of_kind("phone") == ("+491711234567",)
    assert [e.kind for e in shown.recent_timeline] == ["call", "order"]
    (merged,) = emitted(db, "customer.merged")
    assert (merged["survivorId"], merged["mergedId"], merged["actor"]) == ("C-1001", generated, "identity-resolution")


def test_two_customers_the_suite_knows_who_share_a_landline_are_not_merged(db: Database) -> None:
    # A couple: both are customers with their own ids, and both call from the same home number.
    apply(db, event(call(phone="030 1234567"), event_id="e-call-1", customer_id="C-1001"))

    apply(db, event(call(phone="030 1234567"), event_id="e-call-2", customer_id="C-2002"))

    assert view(db, "C-1001").merged == view(db, "C-2002").merged == []
    assert find(db, phone="+49 30 1234567") == ["C-1001"]
    assert [e.kind for e in view(db, "C-2002").recent_timeline] == ["call"]
    assert emitted(db, "customer.merged") == []


def test_a_ticket_status_that_arrives_late_never_reopens_a_closed_ticket(db: Database) -> None:
    created = event(ticket_created(at=T0), event_id="e-t1", customer_id="C-1001")
    working = event(status_changed(to="in_progress", at=T0 + minutes(10)), event_id="e-t2")
    closed = event(status_changed(to="closed", at=T0 + minutes(20)), event_id="e-t3")

    apply(db, closed, created, working)

    assert view(db, "C-1001").open_tickets == []
    apply(db, event(status_changed(to="in_progress", at=T0 + minutes(30)), event_id="e-t4"))
    (reopened,) = view(db, "C-1001").open_tickets
    assert (reopened.number, reopened.subject, reopened.status) == (
        "N-T-1",
        "Washer leaks from the door",
        "in_progress",
    )


def _state(db: Database, customer_id: str) -> tuple[Any, ...]:
    """What an agent sees, without the moments of storage."""
    shown = view(db, customer_id)
    return (
        shown.customer.customer_id,
        shown.customer.identifiers,
        [(e.entry_id, e.kind, e.title, e.occurred_at) for e in shown.recent_timeline],
        [(t.ticket_id, t.status) for t in shown.open_tickets],
        [(p.serial, p.customer_id) for p in shown.products],
        shown.value.ledger,
        shown.value.tier,
    )


def _stream() -> list[Any]:
    return [
        event(ticket_created(at=T0), event_id="s-1", customer_id="C-1001"),
        event(status_changed(to="assigned", at=T0 + minutes(1)), event_id="s-2"),
        event(status_changed(to="in_progress", at=T0 + minutes(2)), event_id="s-3"),
        event(order(customer_id="C-1001", at=T0 + minutes(3)), event_id="s-4"),
        event(call(at=T0 + minutes(4)), event_id="s-5", customer_id="C-1001"),
        event(order("O-5002", customer_id="C-1001", at=T0 + minutes(5), total=-20_000, lines=[]), event_id="s-6"),
    ]


def test_redelivered_and_reordered_streams_leave_the_same_state(open_db: OpenDb, settings: Any) -> None:
    in_order = open_db("customer360", CUSTOMER360_MIGRATIONS)
    apply(in_order, *_stream())
    expected = _state(in_order, "C-1001")
    in_order.dispose()
    (settings.data_dir / "customer360.db").unlink()

    shuffled = open_db("customer360", CUSTOMER360_MIGRATIONS)
    stream = _stream()
    apply(shuffled, *reversed(stream), stream[2], stream[3], stream[0])

    assert _state(shuffled, "C-1001") == expected
    assert expected[5].revenue_minor == 109_900  # the refund counts against the order, once each


def test_value_over_a_threshold_moves_the_tier_and_tells_the_suite(db: Database, monkeypatch: Any) -> None:
    monkeypatch.setenv("SWITCHBOARD_CUSTOMER360_TIER_THRESHOLDS", "silver=50000,gold=100000,platinum=1000000")
    config.load.cache_clear()

    apply(db, event(order(customer_id="C-1001", at=T0), event_id="v-1"))

    assert view(db, "C-1001").value.tier == common_pb2.CUSTOMER_TIER_GOLD
    (changed,) = emitted(db, "customer.tier_changed")
    assert (changed["customerId"], changed["tier"], changed["contributionMinor"]) == (
        "C-1001",
        "CUSTOMER_TIER_GOLD",
        "129900",
    )


def test_an_amount_in_another_currency_is_shown_but_not_counted(db: Database) -> None:
    apply(db, event(order(customer_id="C-1001", currency="USD"), event_id="v-2"))

    shown = view(db, "C-1001")
    assert (shown.value.ledger.revenue_minor, shown.value.uncounted) == (0, 1)
    assert shown.recent_timeline[0].currency == "USD"


def test_an_integration_event_naming_no_customer_is_refused_for_the_dead_letter_queue(db: Database) -> None:
    nobody = order(contact=None)

    with pytest.raises(InvalidArgument, match="names no customer"):
        apply(db, event(nobody, event_id="bad-1"))


def test_a_contact_phone_that_is_not_a_number_is_refused_with_the_reason(db: Database) -> None:
    with pytest.raises(InvalidArgument, match="not a phone number"):
        apply(db, event(call(phone="call me maybe"), event_id="bad-2"))
    with UnitOfWork(db, read_only=True) as uow:
        assert ProfileStore(uow.session).count() == 0


def test_a_customer_who_stops_buying_drops_back_when_the_order_leaves_the_window(
    db: Database, monkeypatch: Any
) -> None:
    monkeypatch.setenv("SWITCHBOARD_CUSTOMER360_TIER_THRESHOLDS", "silver=50000,gold=100000,platinum=1000000")
    monkeypatch.setenv("SWITCHBOARD_CUSTOMER360_VALUE_WINDOW_DAYS", "365")
    config.load.cache_clear()
    apply(db, event(order(customer_id="C-1001", at=T0), event_id="v-1"))
    with UnitOfWork(db, read_only=True) as uow:
        due = timers.pending(uow.session, "customer360", value.WINDOW_TIMER, "C-1001")
    assert due is not None and due.due_at == T0 + timedelta(days=365, seconds=1)

    with UnitOfWork(db) as uow:
        value.reevaluate(uow, "C-1001", now=due.due_at)
        uow.commit()

    assert view(db, "C-1001").value.tier == common_pb2.CUSTOMER_TIER_STANDARD
    assert [e["tier"] for e in emitted(db, "customer.tier_changed")] == [
        "CUSTOMER_TIER_GOLD",
        "CUSTOMER_TIER_STANDARD",
    ]
    with UnitOfWork(db, read_only=True) as uow:
        assert timers.pending(uow.session, "customer360", value.WINDOW_TIMER, "C-1001") is None
