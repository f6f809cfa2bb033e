"""One database per service: a SQLite file under data_dir, or a schema of its own in PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from switchboard.settings import Settings


@dataclass(frozen=True)
class Database:
    service: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def schema(self) -> str | None:
        return None if self.is_sqlite else self.service

    def dispose(self) -> None:
        self.engine.dispose()


def unavailable(exc: BaseException | None) -> bool:
    """The database, not the work, failed: a lost or refused connection, a server shutting down, a
    serialization failure. Trying again later succeeds; giving up would drop good work."""
    if not isinstance(exc, DBAPIError):
        return False
    return exc.connection_invalidated or isinstance(exc.orig, psycopg.OperationalError)


# Execution option of a connection whose transaction only reads (see UnitOfWork(read_only=True)).
READ_ONLY = "switchboard_read_only"


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, issue BEGIN, so that each transaction starts IMMEDIATE:
        # writers queue on the busy timeout instead of failing with "database is locked" when a
        # read transaction tries to upgrade.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A reader takes no write lock: a long report must not hold up every writer (WAL lets it
        # read its snapshot while they commit).
        reading = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


def open_database(settings: Settings, service: str) -> Database:
    if settings.database_url:
        engine = create_engine(
            settings.database_url,
            pool_size=10,
            max_overflow=20,
            pool_pre_ping=True,
            connect_args={"options": f"-c search_path={service} -c timezone=UTC"},
        )
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = _sqlite_engine(f"sqlite:///{settings.data_dir / service}.db")
    return Database(service=service, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
