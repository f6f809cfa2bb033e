"""Idempotency keys: a retried call gets the first result back instead of acting twice."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.common.v1 import common_pb2
from switchboard.db import idempotency
from switchboard.db.engine import Database
from switchboard.db.tables import idempotency as idempotency_table
from switchboard.db.tables import outbox
from switchboard.db.uow import UnitOfWork
from switchboard.errors import AlreadyExists
from switchboard.ticketing.v1 import ticketing_pb2
from tests.unit.builders import count, ticket_created, uow_factory

ALICE = "alice:CreateTicket"
BOB = "bob:CreateTicket"
KEY = "key-0195a0c4-0001"


def _request(**overrides: Any) -> ticketing_pb2.CreateTicketRequest:
    values: dict[str, Any] = {
        "idempotency_key": KEY,
        "customer_id": "C-1001",
        "channel": common_pb2.CHANNEL_PHONE,
        "subject": "Washing machine leaks",
    }
    values.update(overrides)
    return ticketing_pb2.CreateTicketRequest(**values)


class _OpenTicket:
    """An act that opens a ticket (emits ticket.created) and counts its calls; fails the first ``failures``."""

    def __init__(self, failures: int = 0) -> None:
        self.calls = 0
        self.failures = failures

    def __call__(self, uow: UnitOfWork) -> ticketing_pb2.CreateTicketResponse:
        self.calls += 1
        number = f"T-{self.calls:06d}"
        uow.emit(ticket_created(number=number))
        if self.calls <= self.failures:
            raise ConnectionError("CRM timed out")
        return ticketing_pb2.CreateTicketResponse(ticket=ticketing_pb2.Ticket(number=number, customer_id="C-1001"))


def _once(db: Database, act: _OpenTicket, *, scope: str = ALICE, request: Any = None) -> Any:
    return idempotency.once(
        uow_factory(db),
        scope=scope,
        key=KEY,
        request=request or _request(),
        response_type=ticketing_pb2.CreateTicketResponse,
        act=act,
    )


def test_the_first_call_acts_and_returns_its_response(chassis_db: Database) -> None:
    act = _OpenTicket()

    response = _once(chassis_db, act)

    assert response.ticket.number == "T-000001"
    assert act.calls == 1
    assert count(chassis_db, outbox) == 1


def test_a_retry_with_the_same_key_and_request_returns_the_stored_response_without_acting(chassis_db: Database) -> None:
    act = _OpenTicket()
    first = _once(chassis_db, act)

    retried = _once(chassis_db, act)

    assert retried == first
    assert act.calls == 1
    assert count(chassis_db, outbox) == 1


def test_the_same_key_with_a_different_request_is_already_exists(chassis_db: Database) -> None:
    act = _OpenTicket()
    _once(chassis_db, act)

    with pytest.raises(AlreadyExists, match=f"idempotency key '{KEY}' was already used for a different request"):
        _once(chassis_db, act, request=_request(subject="Dryer does not heat"))
    assert act.calls == 1


def test_the_same_key_in_another_scope_acts_again(chassis_db: Database) -> None:
    act = _OpenTicket()
    _once(chassis_db, act, scope=ALICE)

    bobs = _once(chassis_db, act, scope=BOB)

    assert bobs.ticket.number == "T-000002"
    assert act.calls == 2
    assert count(chassis_db, idempotency_table) == 2


def test_when_the_act_fails_nothing_is_stored_and_a_retry_acts(chassis_db: Database) -> None:
    act = _OpenTicket(failures=1)
    with pytest.raises(ConnectionError, match="CRM timed out"):
        _once(chassis_db, act)
    assert count(chassis_db, idempotency_table) == 0
    assert count(chassis_db, outbox) == 0

    response = _once(chassis_db, act)

    assert response.ticket.number == "T-000002"
    assert act.calls == 2
    assert count(chassis_db, outbox) == 1
