"""Applying a delivered message: decoded, handled and claimed in one transaction, retried, or refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from switchboard import envelope
from switchboard.bus.handling import Applier, HandlerFailed, Outcome
from switchboard.bus.topology import Subscription
from switchboard.db.engine import Database
from switchboard.db.tables import inbox, outbox
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event
from switchboard.errors import Aborted, FailedPrecondition, MalformedEvent
from switchboard.events.v1.envelope_pb2 import Envelope
from switchboard.settings import Settings
from tests.unit.builders import count, device_fault, rows, sealed, ticket_created, uow_factory

CONSUMER = "evt-integration-device.fault_reported--ticketing.open_ticket"


class FaultHandler:
    """Stands in for ticketing's use case: records each call, fails the first ``failures`` with ``error``."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or ConnectionError("CRM timed out")
        self.events: list[Event] = []
        self.emitted: list[Envelope] = []

    @property
    def calls(self) -> int:
        return len(self.events)

    def subscription(self) -> Subscription:
        def open_ticket(uow: UnitOfWork, event: Event) -> None:
            self.events.append(event)
            # The effect: a ticket opened, announced in the same transaction.
            self.emitted.append(uow.emit(ticket_created(), customer_id="C-1001"))
            if self.calls <= self.failures:
                raise self.error

        return Subscription("device.fault_reported", open_ticket)


@pytest.fixture
def applier(chassis_db: Database, settings_factory: Callable[..., Settings]) -> Applier:
    settings = settings_factory(handler_attempts=4, handler_backoff=0.001, handler_backoff_max=0.001)
    return Applier(service="ticketing", uow_factory=uow_factory(chassis_db), settings=settings)


def _fault_bytes(**overrides: object) -> bytes:
    return envelope.to_json(sealed(device_fault(**overrides)))


def test_a_message_is_applied_by_calling_the_handler_with_the_decoded_event(applier: Applier) -> None:
    handler = FaultHandler()
    env = sealed(device_fault())

    outcome = applier.apply(handler.subscription(), envelope.to_json(env), envelope.JSON)

    assert outcome is Outcome.APPLIED
    (event,) = handler.events
    assert event.envelope == env
    assert event.payload == device_fault()


def test_applying_commits_the_handlers_effect_and_the_inbox_claim(applier: Applier, chassis_db: Database) -> None:
    handler = FaultHandler()
    env = sealed(device_fault())

    applier.apply(handler.subscription(), envelope.to_json(env), envelope.JSON)

    (claim,) = rows(chassis_db, inbox)
    assert (claim.consumer, claim.event_id) == (CONSUMER, env.event_id)
    assert count(chassis_db, outbox) == 1


def test_the_same_message_applied_again_is_a_duplicate_and_the_handler_ran_once(
    applier: Applier, chassis_db: Database
) -> None:
    handler = FaultHandler()
    subscription = handler.subscription()
    body = _fault_bytes()
    applier.apply(subscription, body, envelope.JSON)

    outcome = applier.apply(subscription, body, envelope.JSON)

    assert outcome is Outcome.DUPLICATE
    assert handler.calls == 1
    assert count(chassis_db, outbox) == 1


def test_the_same_event_in_binary_form_is_a_duplicate_too(applier: Applier) -> None:
    handler = FaultHandler()
    subscription = handler.subscription()
    env = sealed(device_fault())
    applier.apply(subscription, envelope.to_json(env), envelope.JSON)

    assert applier.apply(subscription, env.SerializeToString(), envelope.PROTOBUF) is Outcome.DUPLICATE


def test_events_the_handler_emits_carry_the_correlation_and_name_the_event_as_their_cause(applier: Applier) -> None:
    handler = FaultHandler()
    env = sealed(device_fault(), correlation_id="corr-7f3a")

    applier.apply(handler.subscription(), envelope.to_json(env), envelope.JSON)

    (caused,) = handler.emitted
    assert (caused.correlation_id, caused.causation_id) == ("corr-7f3a", env.event_id)


def test_an_event_without_a_correlation_id_starts_one_with_its_own_id(applier: Applier) -> None:
    handler = FaultHandler()
    env = sealed(device_fault(), correlation_id="")

    applier.apply(handler.subscription(), envelope.to_json(env), envelope.JSON)

    assert handler.emitted[0].correlation_id == env.event_id


def test_a_handler_that_fails_twice_then_succeeds_is_applied(applier: Applier, chassis_db: Database) -> None:
    handler = FaultHandler(failures=2)

    outcome = applier.apply(handler.subscription(), _fault_bytes(), envelope.JSON)

    assert outcome is Outcome.APPLIED
    assert handler.calls == 3
    assert count(chassis_db, inbox) == 1


def test_the_effects_of_failed_tries_are_rolled_back(applier: Applier, chassis_db: Database) -> None:
    handler = FaultHandler(failures=2)

    applier.apply(handler.subscription(), _fault_bytes(), envelope.JSON)

    (row,) = rows(chassis_db, outbox)
    assert row.event_id == handler.emitted[2].event_id


def test_a_handler_that_always_fails_raises_handler_failed_naming_the_handler_and_the_error(applier: Applier) -> None:
    handler = FaultHandler(failures=99)
    env = sealed(device_fault())

    with pytest.raises(HandlerFailed) as failed:
        applier.apply(handler.subscription(), envelope.to_json(env), envelope.JSON)

    assert failed.value.reason == "open_ticket failed: ConnectionError: CRM timed out"
    assert failed.value.event_id == env.event_id
    assert handler.calls == 4


def test_a_handler_that_always_fails_leaves_no_inbox_claim_so_a_redelivery_can_apply(
    applier: Applier, chassis_db: Database
) -> None:
    handler = FaultHandler(failures=4)
    body = _fault_bytes()
    with pytest.raises(HandlerFailed):
        applier.apply(handler.subscription(), body, envelope.JSON)
    assert count(chassis_db, inbox) == 0
    assert count(chassis_db, outbox) == 0

    outcome = applier.apply(handler.subscription(), body, envelope.JSON)

    assert outcome is Outcome.APPLIED


def test_a_domain_error_is_not_retried(applier: Applier) -> None:
    handler = FaultHandler(failures=99, error=FailedPrecondition("asset WM-7781 is decommissioned"))

    with pytest.raises(HandlerFailed) as failed:
        applier.apply(handler.subscription(), _fault_bytes(), envelope.JSON)

    assert handler.calls == 1
    assert failed.value.reason == "open_ticket failed: FailedPrecondition: asset WM-7781 is decommissioned"


def test_a_lost_compare_and_set_race_is_retried(applier: Applier) -> None:
    handler = FaultHandler(failures=1, error=Aborted("ticket T-000001 changed since version 3"))

    outcome = applier.apply(handler.subscription(), _fault_bytes(), envelope.JSON)

    assert outcome is Outcome.APPLIED
    assert handler.calls == 2


def test_malformed_bytes_raise_malformed_event_without_calling_the_handler(applier: Applier) -> None:
    handler = FaultHandler()

    with pytest.raises(MalformedEvent, match="not a valid event envelope"):
        applier.apply(handler.subscription(), b"\xff\xfe not json", envelope.JSON)

    assert handler.calls == 0


def test_an_invalid_payload_raises_malformed_event_without_calling_the_handler(applier: Applier) -> None:
    handler = FaultHandler()

    with pytest.raises(MalformedEvent, match="invalid payload: fault_code"):
        applier.apply(handler.subscription(), _fault_bytes(fault_code=""), envelope.JSON)

    assert handler.calls == 0


def _database_error(orig: Exception) -> Exception:
    import sqlalchemy.exc

    return sqlalchemy.exc.OperationalError("INSERT INTO tickets ...", {}, orig)


def test_an_event_is_held_and_retried_past_the_attempt_limit_while_the_database_is_unavailable(
    applier: Applier,
) -> None:
    import psycopg

    outage = _database_error(psycopg.OperationalError("server closed the connection unexpectedly"))
    handler = FaultHandler(failures=6, error=outage)

    outcome = applier.apply(handler.subscription(), _fault_bytes(), envelope.JSON)

    assert outcome is Outcome.APPLIED
    assert handler.calls == 7  # beyond handler_attempts=4: an outage is waited out, not dead-lettered


def test_a_database_error_that_is_not_an_outage_gives_up_after_the_attempt_limit(applier: Applier) -> None:
    import sqlite3

    handler = FaultHandler(failures=100, error=_database_error(sqlite3.OperationalError("no such table: notes")))

    with pytest.raises(HandlerFailed, match="no such table"):
        applier.apply(handler.subscription(), _fault_bytes(), envelope.JSON)
    assert handler.calls == 4
