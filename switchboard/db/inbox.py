"""The inbox: a consumer applies an event id once, recorded in the transaction of its effect."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from switchboard.db.tables import inbox
from switchboard.db.types import utcnow


def claim(session: Session, consumer: str, event_id: str) -> bool:
    """True if this consumer had not applied the event; the claim commits or rolls back with the effect."""
    values = {"consumer": consumer, "event_id": event_id, "applied_at": utcnow()}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(inbox).values(values).on_conflict_do_nothing().returning(inbox.c.event_id)
    # rowcount is -1 for ON CONFLICT DO NOTHING with psycopg 3: RETURNING tells whether it went in.
    return session.execute(statement).first() is not None
