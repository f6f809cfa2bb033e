"""Migrations bring a service's database up to date: the chassis tables and the service's own."""

from __future__ import annotations

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect

from services.ticketing import store as ticketing_store
from services.ticketing.store import schema
from switchboard.db import migrate
from switchboard.db.engine import Database
from tests.unit.builders import TICKETING_MIGRATIONS, OpenDb

CHASSIS_TABLES = {"outbox", "inbox", "idempotency", "dead_letters", "timers"}


def _tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_a_database_without_service_migrations_gets_the_chassis_tables(open_db: OpenDb) -> None:
    assert _tables(open_db("notifications")) == CHASSIS_TABLES


def _ticketing_metadata() -> MetaData:
    """Every table ticketing's store declares (each store module adds its own to one MetaData)."""
    for module in pkgutil.iter_modules(ticketing_store.__path__):
        importlib.import_module(f"{ticketing_store.__name__}.{module.name}")
    return schema.metadata


def test_a_service_database_gets_the_chassis_tables_and_its_own(open_db: OpenDb) -> None:
    tables = set(_ticketing_metadata().tables)
    assert {"tickets", "ticket_history", "sla_clocks", "work_orders", "ticket_ratings"} <= tables

    assert _tables(open_db("ticketing", TICKETING_MIGRATIONS)) == CHASSIS_TABLES | tables


def test_the_migrations_build_the_columns_the_store_declares(open_db: OpenDb) -> None:
    db = open_db("ticketing", TICKETING_MIGRATIONS)

    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), _ticketing_metadata())

    # Indexes and constraints are the migrations' business; columns and their types must agree.
    columns = [d for d in differences if d[0] in ("add_column", "remove_column", "add_table")]
    assert columns == []


def test_upgrading_an_up_to_date_database_changes_nothing(open_db: OpenDb) -> None:
    db = open_db("ticketing", TICKETING_MIGRATIONS)
    before = _tables(db)

    migrate.upgrade(db, TICKETING_MIGRATIONS)

    assert _tables(db) == before


def test_each_service_has_its_own_sqlite_file_under_data_dir(open_db: OpenDb) -> None:
    db = open_db("routing")

    assert db.is_sqlite
    assert db.schema is None
    assert db.engine.url.database is not None and db.engine.url.database.endswith("/var/routing.db")
