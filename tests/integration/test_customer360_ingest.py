"""Customer-360 on PostgreSQL and RabbitMQ: other systems' events published to integration.events reach
the one-call view within a second, an invalid payload or an unknown type lands in the dead-letter queue
with its reason, and a redelivered, reordered stream leaves the same state as the stream in order."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.message import Message

from switchboard.customer360.v1 import customer360_pb2 as pb
from switchboard.customer360.v1 import customer360_pb2_grpc
from switchboard.envelope import seal, to_json
from switchboard.events.v1 import integration_events_pb2 as integration
from switchboard.events.v1 import ticketing_events_pb2 as ticketing
from switchboard.settings import Settings
from switchboard.timestamps import timestamp
from tests import support

T0 = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)


def _publish(url: str, payload: Message, event_id: str, *, customer_id: str = "", source: str = "integration") -> None:
    envelope = seal(payload, correlation_id=f"corr-{event_id}", customer_id=customer_id, event_id=event_id)
    support.publish_raw(url, f"{source}.events", envelope.type, to_json(envelope))


def _order(order_id: str, at: datetime, total: int, **extra: Any) -> integration.OrderPlaced:
    return integration.OrderPlaced(
        order_id=order_id,
        customer_id="C-1001",
        contact=integration.ContactPoint(email="ada@example.com"),
        total_minor=total,
        currency="EUR",
        placed_at=timestamp(at),
        **extra,
    )


def _stream() -> list[tuple[Message, str, str]]:
    """(payload, event id, source) of one customer's morning: an order, a delivery, a ticket and its progress."""
    return [
        (
            _order(
                "O-1",
                T0,
                129_900,
                lines=[integration.OrderLine(sku="WM-800", quantity=1, serials=["SN-1"], model="WM800")],
            ),
            "ev-0001",
            "integration",
        ),
        (
            integration.ProductInstalled(
                serial="SN-1", customer_id="C-1001", model="WM800", installed_at=timestamp(T0 + timedelta(hours=1))
            ),
            "ev-0002",
            "integration",
        ),
        (
            ticketing.TicketCreated(
                ticket_id="T-1",
                number="N-1",
                customer_id="C-1001",
                subject="Leaks",
                created_at=timestamp(T0 + timedelta(hours=2)),
            ),
            "ev-0003",
            "ticketing",
        ),
        (
            ticketing.TicketStatusChanged(
                ticket_id="T-1",
                number="N-1",
                customer_id="C-1001",
                to_status="closed",
                changed_at=timestamp(T0 + timedelta(hours=3)),
            ),
            "ev-0004",
            "ticketing",
        ),
        (_order("O-2", T0 + timedelta(hours=4), -20_000), "ev-0005", "integration"),
    ]


def _state(view: pb.CustomerView) -> tuple[Any, ...]:
    return (
        view.customer.customer_id,
        list(view.customer.emails),
        [e.entry_id for e in view.recent_timeline],
        [(t.ticket_id, t.status) for t in view.open_tickets],
        [p.serial for p in view.products],
        view.value.revenue_minor,
    )


def test_events_reach_the_view_dead_letters_keep_their_reason_and_order_does_not_matter(
    pg_url: str,
    amqp_url: str,
    settings_factory: Callable[..., Settings],
    start_suite: Callable[..., object],
    api_factory: Callable[..., support.Api],
) -> None:
    settings = settings_factory(database_url=pg_url, broker_url=amqp_url)
    start_suite(settings, ["customer360"])
    api = api_factory(settings, "supervisor")
    customers = customer360_pb2_grpc.CustomerServiceStub(api.channel(2))

    def view() -> pb.CustomerView | None:
        try:
            return customers.GetCustomerView(  # type: ignore[no-any-return]
                pb.GetCustomerViewRequest(customer_id="C-1001"), metadata=api.metadata, timeout=5
            ).view
        except Exception:
            return None

    # Visibility: a call from the phone system shows on the view, found by the number as presented.
    started = time.monotonic()
    call = integration.CallEnded(
        call_id="CALL-1",
        customer_id="C-1001",
        contact=integration.ContactPoint(phone="0171 1234567"),
        direction="inbound",
        started_at=timestamp(T0 - timedelta(hours=1)),
        duration_seconds=180,
        outcome="answered",
    )
    _publish(amqp_url, call, "ev-call")
    support.wait_for(lambda: (v := view()) is not None and len(v.recent_timeline) == 1, timeout=10, what="the call")
    visible_after = time.monotonic() - started
    popped = customers.FindCustomers(pb.FindCustomersRequest(phone="+491711234567"), metadata=api.metadata, timeout=5)
    assert [c.customer_id for c in popped.customers] == ["C-1001"]
    assert visible_after < 1.0, f"the call showed after {visible_after:.2f} s"

    # An invalid payload (no such currency) goes to the dead-letter queue with the reason.
    bad = integration.PaymentReceived(
        payment_id="P-9", customer_id="C-1001", amount_minor=100, currency="euro", received_at=timestamp(T0)
    )
    _publish(amqp_url, bad, "ev-bad")
    support.wait_for(
        lambda: support.queue_depth(amqp_url, "customer360.dead-letter") == 1, timeout=15, what="the dead letter"
    )
    dead = support.get_message(amqp_url, "customer360.dead-letter")
    assert dead is not None
    assert "currency" in dead.headers["x-switchboard-reason"]

    # A type the suite does not know is not lost at the exchange: the screen dead-letters it too.
    support.publish_raw(amqp_url, "integration.events", "warranty.claimed", b'{"type": "warranty.claimed"}')
    support.wait_for(
        lambda: support.queue_depth(amqp_url, "customer360.dead-letter") == 1, timeout=15, what="the unknown type"
    )
    unknown = support.get_message(amqp_url, "customer360.dead-letter")
    assert unknown is not None
    assert unknown.headers["x-switchboard-reason"].startswith("unknown event type 'warranty.claimed'")

    # The stream reversed, with every event delivered twice, ends as the stream in order would.
    stream = _stream()
    for payload, event_id, source in [*reversed(stream), *stream]:
        _publish(amqp_url, payload, event_id, source=source)

    def applied() -> pb.CustomerView | None:
        v = view()
        return v if v is not None and len(v.recent_timeline) == 6 and v.value.revenue_minor == 109_900 else None

    final = support.wait_for(applied, timeout=20, what="the whole stream applied")
    assert final is not None
    assert _state(final) == (
        "C-1001",
        ["ada@example.com"],
        ["ev-0005", "ev-0004", "ev-0003", "ev-0002", "ev-0001", "ev-call"],
        [],
        ["SN-1"],
        109_900,
    )
