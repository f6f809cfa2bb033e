"""The service desk on PostgreSQL and RabbitMQ: concurrent edits of one ticket, and the events from
routing and customer360 that change tickets."""

from __future__ import annotations

import threading
from collections.abc import Callable

import grpc

from switchboard.common.v1 import common_pb2
from switchboard.envelope import seal, to_json
from switchboard.events.v1.customer_events_pb2 import CustomerTierChanged
from switchboard.events.v1.routing_events_pb2 import OfferAccepted
from switchboard.settings import Settings
from switchboard.ticketing.v1 import ticketing_pb2
from tests import support

WRITERS = 8


def _update(api: support.Api, ticket_id: str, priority: int, key: str) -> grpc.StatusCode:
    request = ticketing_pb2.UpdateTicketRequest(
        ticket_id=ticket_id,
        version=1,
        ticket=ticketing_pb2.Ticket(priority=priority),  # type: ignore[arg-type]
        idempotency_key=key,
        reason="agents disagree",
    )
    request.update_mask.paths.append("priority")
    try:
        api.ticketing.UpdateTicket(request, metadata=api.metadata, timeout=10)
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_concurrent_updates_from_one_version_one_wins_the_rest_are_aborted(
    pg_url: str,
    settings_factory: Callable[..., Settings],
    start_suite: Callable[..., object],
    api_factory: Callable[..., support.Api],
) -> None:
    settings = settings_factory(database_url=pg_url, broker_url=None)
    start_suite(settings, ["ticketing"])
    api = api_factory(settings, "agent")
    ticket = api.ticketing.CreateTicket(support.create_ticket_request(), metadata=api.metadata, timeout=5).ticket
    outcomes: list[grpc.StatusCode] = []
    start = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        start.wait()
        # Each writer wants a priority other than the P2 the ticket has, so every one is a real change.
        outcomes.append(_update(api, ticket.ticket_id, (1, 3, 4)[n % 3], f"writer-key-{n:04d}"))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes, key=str) == sorted(
        [grpc.StatusCode.OK] + [grpc.StatusCode.ABORTED] * (WRITERS - 1), key=str
    )
    history = api.ticketing.ListTicketHistory(
        ticketing_pb2.ListTicketHistoryRequest(ticket_id=ticket.ticket_id), metadata=api.metadata, timeout=5
    ).entries
    after = api.ticketing.GetTicket(ticketing_pb2.GetTicketRequest(ticket_id=ticket.ticket_id), metadata=api.metadata)
    assert after.ticket.version == 2
    (change,) = [e for e in history if e.field == "priority"]
    assert (change.old_value, change.new_value) == ("2", str(after.ticket.priority))


def test_an_accepted_offer_and_a_tier_change_reach_the_ticket_over_rabbitmq(
    pg_url: str,
    amqp_url: str,
    settings_factory: Callable[..., Settings],
    start_suite: Callable[..., object],
    api_factory: Callable[..., support.Api],
) -> None:
    settings = settings_factory(database_url=pg_url, broker_url=amqp_url)
    start_suite(settings, ["ticketing"])
    api = api_factory(settings, "agent")
    ticket = api.ticketing.CreateTicket(support.create_ticket_request(), metadata=api.metadata, timeout=5).ticket

    offer = OfferAccepted(
        offer_id="offer-1", task_id="task-1", ticket_id=ticket.ticket_id, assignee="bob", team="laundry"
    )
    support.publish_raw(amqp_url, "routing.events", "offer.accepted", to_json(seal(offer, correlation_id="corr-offer")))
    tier = CustomerTierChanged(customer_id="C-1001", tier=common_pb2.CUSTOMER_TIER_PLATINUM)
    support.publish_raw(
        amqp_url, "customer360.events", "customer.tier_changed", to_json(seal(tier, correlation_id="corr-tier"))
    )

    def changed() -> ticketing_pb2.Ticket | None:
        found = api.ticketing.GetTicket(
            ticketing_pb2.GetTicketRequest(ticket_id=ticket.ticket_id), metadata=api.metadata, timeout=5
        ).ticket
        done = found.assignee == "bob" and found.customer_tier == common_pb2.CUSTOMER_TIER_PLATINUM
        return found if done else None

    found = support.wait_for(changed, timeout=20, what="the offer and the tier applied to the ticket")
    assert (found.team, found.status) == ("laundry", ticketing_pb2.TICKET_STATUS_ASSIGNED)
