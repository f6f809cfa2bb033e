"""Migrations bring a service's database up to date: the chassis tables and the service's own."""

from __future__ import annotations

from sqlalchemy import inspect

from switchboard.db import migrate
from switchboard.db.engine import Database
from tests.unit.builders import TICKETING_MIGRATIONS, OpenDb

CHASSIS_TABLES = {"outbox", "inbox", "idempotency", "dead_letters"}


def _tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_a_database_without_service_migrations_gets_the_chassis_tables(open_db: OpenDb) -> None:
    assert _tables(open_db("notifications")) == CHASSIS_TABLES


def test_a_service_database_gets_the_chassis_tables_and_its_own(open_db: OpenDb) -> None:
    assert _tables(open_db("ticketing", TICKETING_MIGRATIONS)) == CHASSIS_TABLES | {"tickets"}


def test_upgrading_an_up_to_date_database_changes_nothing(open_db: OpenDb) -> None:
    db = open_db("ticketing", TICKETING_MIGRATIONS)

    migrate.upgrade(db, TICKETING_MIGRATIONS)

    assert _tables(db) == CHASSIS_TABLES | {"tickets"}


def test_each_service_has_its_own_sqlite_file_under_data_dir(open_db: OpenDb) -> None:
    db = open_db("routing")

    assert db.is_sqlite
    assert db.schema is None
    assert db.engine.url.database is not None and db.engine.url.database.endswith("/var/routing.db")
