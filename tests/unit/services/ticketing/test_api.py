"""Ticketing's servicer, called directly (no server): requests in, use cases called, messages out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.ticketing.api.tickets import TicketingApi
from switchboard import context
from switchboard.common.v1 import common_pb2
from switchboard.composition import Runtime
from switchboard.context import Caller, WorkContext
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.errors import AlreadyExists, NotFound
from switchboard.events.v1 import ticketing_events_pb2
from switchboard.settings import Settings
from switchboard.ticketing.v1 import ticketing_pb2
from tests.unit.builders import TICKETING_MIGRATIONS, OpenDb, count

ALICE = Caller(subject="alice", roles=frozenset({"agent"}))
BOB = Caller(subject="bob", roles=frozenset({"agent"}))


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    return open_db("ticketing", TICKETING_MIGRATIONS)


@pytest.fixture
def api(db: Database, settings: Settings) -> TicketingApi:
    return TicketingApi(Runtime(settings=settings, db=db))


@pytest.fixture(autouse=True)
def _as_alice() -> Iterator[None]:
    with context.working(WorkContext(correlation_id="corr-7f3a", causation_id="", caller=ALICE, deadline=None)):
        yield


def _request(**overrides: Any) -> ticketing_pb2.CreateTicketRequest:
    values: dict[str, Any] = {
        "idempotency_key": "key-0195a0c4-0001",
        "customer_id": "C-1001",
        "asset_id": "WM-7781",
        "channel": common_pb2.CHANNEL_PHONE,
        "subject": "Washing machine leaks",
        "required_skills": ["washing-machines"],
        "language": "de",
    }
    values.update(overrides)
    return ticketing_pb2.CreateTicketRequest(**values)


def test_create_ticket_answers_with_the_new_ticket(api: TicketingApi) -> None:
    ticket = api.CreateTicket(_request(), None).ticket  # type: ignore[arg-type]

    assert (ticket.number, ticket.customer_id, ticket.subject) == ("T-000001", "C-1001", "Washing machine leaks")
    assert (ticket.channel, ticket.priority, ticket.status) == (
        common_pb2.CHANNEL_PHONE,
        common_pb2.PRIORITY_P3,
        ticketing_pb2.TICKET_STATUS_NEW,
    )
    assert (ticket.created_by, ticket.version) == ("alice", 1)
    assert ticket.created_at.seconds > 0


def test_create_ticket_retried_with_the_same_key_answers_the_same_ticket_and_opens_one(
    api: TicketingApi, db: Database
) -> None:
    first = api.CreateTicket(_request(), None)  # type: ignore[arg-type]

    retried = api.CreateTicket(_request(), None)  # type: ignore[arg-type]

    assert retried == first
    assert count(db, outbox) == 1


def test_create_ticket_with_a_used_key_for_another_request_is_refused(api: TicketingApi) -> None:
    api.CreateTicket(_request(), None)  # type: ignore[arg-type]

    with pytest.raises(AlreadyExists):
        api.CreateTicket(_request(subject="Dryer does not heat"), None)  # type: ignore[arg-type]


def test_another_caller_may_use_the_same_key(api: TicketingApi) -> None:
    api.CreateTicket(_request(), None)  # type: ignore[arg-type]

    with context.working(WorkContext(correlation_id="corr-8b1c", causation_id="", caller=BOB, deadline=None)):
        bobs = api.CreateTicket(_request(), None).ticket  # type: ignore[arg-type]

    assert (bobs.number, bobs.created_by) == ("T-000002", "bob")


def test_get_ticket_by_number_answers_the_ticket(api: TicketingApi) -> None:
    created = api.CreateTicket(_request(), None).ticket  # type: ignore[arg-type]

    found = api.GetTicket(ticketing_pb2.GetTicketRequest(number="T-000001"), None).ticket  # type: ignore[arg-type]

    assert found == created


def test_get_ticket_by_id_answers_the_ticket(api: TicketingApi) -> None:
    created = api.CreateTicket(_request(), None).ticket  # type: ignore[arg-type]

    found = api.GetTicket(ticketing_pb2.GetTicketRequest(ticket_id=created.ticket_id), None).ticket  # type: ignore[arg-type]

    assert found == created


def test_get_ticket_of_an_unknown_number_is_not_found(api: TicketingApi) -> None:
    with pytest.raises(NotFound, match="ticket 'T-000999' does not exist"):
        api.GetTicket(ticketing_pb2.GetTicketRequest(number="T-000999"), None)  # type: ignore[arg-type]


def _key(n: int) -> str:
    return f"key-0195a0c4-{n:04d}"


def test_list_tickets_pages_most_urgent_first_then_oldest(api: TicketingApi) -> None:
    for n, priority in enumerate([3, 1, 3, 2, 1], start=1):
        api.CreateTicket(_request(idempotency_key=_key(n), priority=priority), None)  # type: ignore[arg-type]

    first = api.ListTickets(ticketing_pb2.ListTicketsRequest(page_size=3), None)  # type: ignore[arg-type]
    second = api.ListTickets(  # type: ignore[arg-type]
        ticketing_pb2.ListTicketsRequest(page_size=3, page_token=first.next_page_token), None
    )

    assert [t.number for t in first.tickets] == ["T-000002", "T-000005", "T-000004"]
    assert [t.number for t in second.tickets] == ["T-000001", "T-000003"]
    assert second.next_page_token == ""


def test_list_tickets_filters_by_words_in_the_text_and_by_priority(api: TicketingApi) -> None:
    api.CreateTicket(_request(idempotency_key=_key(1), subject="Dryer does not heat"), None)  # type: ignore[arg-type]
    api.CreateTicket(_request(idempotency_key=_key(2), subject="Oven door 100% stuck", priority=2), None)  # type: ignore[arg-type]

    by_text = api.ListTickets(  # type: ignore[arg-type]
        ticketing_pb2.ListTicketsRequest(filter=ticketing_pb2.TicketFilter(text="NOT heat")), None
    )
    by_percent = api.ListTickets(  # type: ignore[arg-type]
        ticketing_pb2.ListTicketsRequest(filter=ticketing_pb2.TicketFilter(text="100%")), None
    )
    by_priority = api.ListTickets(  # type: ignore[arg-type]
        ticketing_pb2.ListTicketsRequest(filter=ticketing_pb2.TicketFilter(priority=common_pb2.PRIORITY_P2)), None
    )

    assert [t.subject for t in by_text.tickets] == ["Dryer does not heat"]
    assert [t.subject for t in by_percent.tickets] == ["Oven door 100% stuck"]
    assert [t.subject for t in by_priority.tickets] == ["Oven door 100% stuck"]


def test_update_ticket_changes_only_the_fields_the_mask_names(api: TicketingApi) -> None:
    created = api.CreateTicket(_request(), None).ticket  # type: ignore[arg-type]
    request = ticketing_pb2.UpdateTicketRequest(
        ticket_id=created.ticket_id,
        version=1,
        ticket=ticketing_pb2.Ticket(subject="ignored", priority=common_pb2.PRIORITY_P1, tags=["flooding"]),
        idempotency_key=_key(9),
        reason="water on the floor",
    )
    request.update_mask.paths.extend(["priority", "tags"])

    updated = api.UpdateTicket(request, None).ticket  # type: ignore[arg-type]

    assert (updated.subject, updated.priority, list(updated.tags), updated.version) == (
        "Washing machine leaks",
        common_pb2.PRIORITY_P1,
        ["flooding"],
        2,
    )


def test_history_pages_oldest_first_with_who_and_why(api: TicketingApi) -> None:
    created = api.CreateTicket(_request(), None).ticket  # type: ignore[arg-type]
    request = ticketing_pb2.UpdateTicketRequest(
        ticket_id=created.ticket_id,
        version=1,
        ticket=ticketing_pb2.Ticket(priority=common_pb2.PRIORITY_P1, category="leak", language="en"),
        idempotency_key=_key(9),
        reason="triaged by phone",
    )
    request.update_mask.paths.extend(["priority", "category", "language"])
    api.UpdateTicket(request, None)  # type: ignore[arg-type]

    first = api.ListTicketHistory(  # type: ignore[arg-type]
        ticketing_pb2.ListTicketHistoryRequest(ticket_id=created.ticket_id, page_size=2), None
    )
    rest = api.ListTicketHistory(  # type: ignore[arg-type]
        ticketing_pb2.ListTicketHistoryRequest(ticket_id=created.ticket_id, page_token=first.next_page_token), None
    )

    assert [(e.field, e.old_value, e.new_value) for e in [*first.entries, *rest.entries]] == [
        ("priority", "3", "1"),
        ("language", "de", "en"),
        ("category", "", "leak"),
    ]
    assert {(e.actor, e.reason, e.version) for e in first.entries} == {("alice", "triaged by phone", 2)}
    assert rest.next_page_token == ""


def test_the_detail_shows_the_conversation_and_children(api: TicketingApi) -> None:
    created = api.CreateTicket(_request(), None).ticket  # type: ignore[arg-type]
    api.AddComment(  # type: ignore[arg-type]
        ticketing_pb2.AddCommentRequest(
            ticket_id=created.ticket_id,
            visibility=ticketing_events_pb2.COMMENT_VISIBILITY_INTERNAL,
            body="Customer sounded upset",
            idempotency_key=_key(7),
        ),
        None,
    )
    api.SplitTicket(  # type: ignore[arg-type]
        ticketing_pb2.SplitTicketRequest(
            ticket_id=created.ticket_id, subject="Order a new hose", as_child=True, idempotency_key=_key(8)
        ),
        None,
    )

    detail = api.GetTicket(ticketing_pb2.GetTicketRequest(ticket_id=created.ticket_id), None)  # type: ignore[arg-type]

    assert [(c.body, c.author) for c in detail.comments] == [("Customer sounded upset", "alice")]
    assert [(c.number, c.subject) for c in detail.children] == [("T-000002", "Order a new hose")]


def test_the_detail_shows_the_sla_clocks_of_the_desks_default_policy(api: TicketingApi) -> None:
    created = api.CreateTicket(_request(priority=common_pb2.PRIORITY_P1), None).ticket  # type: ignore[arg-type]

    detail = api.GetTicket(ticketing_pb2.GetTicketRequest(ticket_id=created.ticket_id), None)  # type: ignore[arg-type]

    assert {c.kind for c in detail.sla_clocks} == {
        ticketing_events_pb2.SLA_CLOCK_KIND_FIRST_RESPONSE,
        ticketing_events_pb2.SLA_CLOCK_KIND_RESOLUTION,
    }
    assert {c.state for c in detail.sla_clocks} == {ticketing_pb2.SLA_CLOCK_STATE_RUNNING}
    assert detail.ticket.sla_state == "ok"
