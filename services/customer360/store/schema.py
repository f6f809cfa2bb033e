"""The MetaData every customer-360 table belongs to, and the one insert the stores share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

metadata = MetaData()


def insert_new(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert unless the key exists; True when the row went in (a redelivered event finds it there)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing()
    # RETURNING, not rowcount: psycopg 3 reports -1 for ON CONFLICT DO NOTHING.
    key = next(iter(table.primary_key.columns))
    return session.execute(statement.returning(key)).first() is not None
