"""Real-looking events and small helpers the unit tests share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, select

from services.ticketing.domain.tickets import NewTicket
from switchboard import envelope
from switchboard.bus.relay import OutgoingMessage
from switchboard.db.engine import Database
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event
from switchboard.events.v1.envelope_pb2 import Envelope
from switchboard.events.v1.integration_events_pb2 import DeviceFaultReported
from switchboard.events.v1.ticketing_events_pb2 import TicketCreated

ROOT = Path(__file__).resolve().parents[2]
TICKETING_MIGRATIONS = ROOT / "services" / "ticketing" / "migrations" / "versions"
ROUTING_MIGRATIONS = ROOT / "services" / "routing" / "migrations" / "versions"
CUSTOMER360_MIGRATIONS = ROOT / "services" / "customer360" / "migrations" / "versions"
NOTIFICATIONS_MIGRATIONS = ROOT / "services" / "notifications" / "migrations" / "versions"

OpenDb = Callable[..., Database]
"""open_db(service, migrations=None): a migrated SQLite database of that service under tmp_path."""

OCCURRED_AT = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def new_ticket(**overrides: Any) -> NewTicket:
    """The least an agent gives to open a ticket, with any field overridden."""
    values: dict[str, Any] = {
        "customer_id": "C-1001",
        "channel": "phone",
        "subject": "Washing machine leaks",
        "created_by": "alice",
    }
    values.update(overrides)
    return NewTicket(**values)


def device_fault(**overrides: Any) -> DeviceFaultReported:
    values: dict[str, Any] = {
        "asset_id": "WM-7781",
        "customer_id": "C-1001",
        "fault_code": "E21",
        "description": "Drain pump blocked; water on the floor",
    }
    values.update(overrides)
    return DeviceFaultReported(**values)


def ticket_created(**overrides: Any) -> TicketCreated:
    values: dict[str, Any] = {
        "ticket_id": "0195a0c4-7d1e-7f00-8000-000000000001",
        "number": "T-000001",
        "customer_id": "C-1001",
        "subject": "Washing machine leaks",
        "priority": 2,
        "required_skills": ["washing-machines", "plumbing"],
        "language": "de",
    }
    values.update(overrides)
    return TicketCreated(**values)


def sealed(payload: Any, **overrides: Any) -> Envelope:
    values: dict[str, Any] = {"correlation_id": "corr-7f3a", "customer_id": "C-1001", "occurred_at": OCCURRED_AT}
    values.update(overrides)
    return envelope.seal(payload, **values)


def as_event(payload: Any, **overrides: Any) -> Event:
    """The event a consumer would get for this payload, decoded from its wire bytes."""
    return envelope.decode(envelope.to_json(sealed(payload, **overrides)), envelope.JSON)


def message_of(env: Envelope) -> OutgoingMessage:
    """The message the relay would hand to a publisher for this envelope."""
    return OutgoingMessage(
        event_id=env.event_id,
        exchange=f"{env.source}.events",
        routing_key=env.type,
        content_type=envelope.JSON,
        body=envelope.to_json(env),
        headers={"correlation_id": env.correlation_id, "causation_id": env.causation_id},
    )


def uow_factory(db: Database, on_commit: Callable[[], None] | None = None) -> Callable[[], UnitOfWork]:
    return lambda: UnitOfWork(db, on_commit=on_commit)


def count(db: Database, table: Table, *where: Any) -> int:
    with db.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def rows(db: Database, table: Table, *where: Any) -> list[Any]:
    with db.engine.connect() as connection:
        return list(connection.execute(select(table).where(*where).order_by(*table.primary_key.columns)).all())
