"""Fixtures for unit tests: no servers, real SQLite files under tmp_path."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from switchboard.db import migrate
from switchboard.db.engine import Database, open_database
from switchboard.settings import Settings
from tests.unit.builders import OpenDb


@pytest.fixture(autouse=True)
def _no_switchboard_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's SWITCHBOARD_* variables must not leak into what a test builds."""
    for name in list(os.environ):
        if name.startswith("SWITCHBOARD_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
def open_db(settings: Settings) -> Iterator[OpenDb]:
    """Open a service's SQLite database under tmp_path, migrated (chassis tables plus the service's own)."""
    opened: list[Database] = []

    def open_(service: str, migrations: Path | None = None) -> Database:
        db = open_database(settings, service)
        migrate.upgrade(db, migrations)
        opened.append(db)
        return db

    yield open_
    for db in opened:
        db.dispose()


@pytest.fixture
def chassis_db(open_db: OpenDb) -> Database:
    """A database with only the chassis tables (outbox, inbox, idempotency, dead letters)."""
    return open_db("ticketing")
