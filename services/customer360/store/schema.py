"""The MetaData every customer-360 table belongs to, and the one insert the stores share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

metadata = MetaData()

_INSERTS: dict[tuple[str, Table], Insert] = {}
"""One statement per dialect and table, the values passed as parameters: built once, not per event
(building an INSERT with .values() costs more than the round trip saved by combining two)."""


def insert_new(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert unless the key exists; True when the row went in (a redelivered event finds it there)."""
    name = session.get_bind().dialect.name
    statement = _INSERTS.get((name, table))
    if statement is None:
        dialect = postgresql if name == "postgresql" else sqlite
        # RETURNING, not rowcount: psycopg 3 reports -1 for ON CONFLICT DO NOTHING.
        key = next(iter(table.primary_key.columns))
        statement = _INSERTS.setdefault((name, table), dialect.insert(table).on_conflict_do_nothing().returning(key))
    return session.execute(statement, values).first() is not None
