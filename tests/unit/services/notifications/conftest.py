"""Notifications' unit-test fixtures: a migrated SQLite database and the runtime around it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.notifications import config as configuration
from switchboard.composition import Runtime
from switchboard.settings import Settings
from tests.unit.builders import NOTIFICATIONS_MIGRATIONS, OpenDb


@pytest.fixture
def runtime(open_db: OpenDb, settings: Settings) -> Iterator[Runtime]:
    # The configuration is read once per process: each test starts from the defaults.
    configuration.load.cache_clear()
    yield Runtime(settings=settings, db=open_db("notifications", NOTIFICATIONS_MIGRATIONS))
    configuration.load.cache_clear()
