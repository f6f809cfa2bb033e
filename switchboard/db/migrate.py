"""Apply a service's migrations at start: the chassis branch and the service's own, to all heads."""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from switchboard.db.engine import Database

_CHASSIS = Path(__file__).parent / "migrations"


def upgrade(db: Database, service_versions: Path | None) -> None:
    config = Config()
    config.set_main_option("script_location", str(_CHASSIS))
    locations = [str(_CHASSIS / "versions")] + ([str(service_versions)] if service_versions else [])
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    with db.engine.begin() as connection:
        if db.schema:
            # Several processes of one service start at once: the first migrates, the rest wait.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(db.service.encode())})
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
