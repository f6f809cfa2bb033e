"""Ticketing's servicer, called directly (no server): requests in, use cases called, messages out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.ticketing.api import TicketingApi
from switchboard import context
from switchboard.common.v1 import common_pb2
from switchboard.composition import Runtime
from switchboard.context import Caller, WorkContext
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.errors import AlreadyExists, NotFound
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
