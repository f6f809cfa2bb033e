"""Timestamps are stored in UTC and come back timezone-aware, on SQLite too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from switchboard.db.engine import Database
from switchboard.db.tables import inbox
from switchboard.db.types import utcnow

BERLIN_SUMMER = timezone(timedelta(hours=2))


def _store_and_read(db: Database, applied_at: datetime) -> datetime:
    with db.engine.begin() as connection:
        connection.execute(inbox.insert().values(consumer="evt-test", event_id="evt-1", applied_at=applied_at))
    with db.engine.connect() as connection:
        read: datetime = connection.execute(select(inbox.c.applied_at)).scalar_one()
    return read


def test_a_naive_datetime_is_refused(chassis_db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime: store timezone-aware UTC times"):
        _store_and_read(chassis_db, datetime(2025, 3, 14, 9, 30))


def test_a_utc_time_comes_back_aware_and_equal(chassis_db: Database) -> None:
    stored = datetime(2025, 3, 14, 9, 30, 15, 123456, tzinfo=UTC)

    read = _store_and_read(chassis_db, stored)

    assert read == stored
    assert read.tzinfo == UTC


def test_a_time_in_another_zone_comes_back_as_the_same_instant_in_utc(chassis_db: Database) -> None:
    read = _store_and_read(chassis_db, datetime(2025, 7, 1, 11, 30, tzinfo=BERLIN_SUMMER))

    assert read == datetime(2025, 7, 1, 9, 30, tzinfo=UTC)
    assert read.tzinfo == UTC


def test_utcnow_is_aware_utc() -> None:
    assert utcnow().tzinfo == UTC
