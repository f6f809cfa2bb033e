"""What a service declares about itself, and the runtime it gets: the composition root's vocabulary.

Services are discovered through the ``switchboard.services`` entry points, so the chassis never
imports one by name.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from switchboard.bus.topology import Subscription
from switchboard.db import migrate
from switchboard.db.engine import Database, open_database
from switchboard.db.uow import UnitOfWork
from switchboard.rpc.server import ApiBinding
from switchboard.settings import Settings
from switchboard.timers import TimerHandler


@dataclass
class Runtime:
    """A running service's adapters: its database and the relay it wakes after each commit."""

    settings: Settings
    db: Database
    relay_wake: threading.Event = field(default_factory=threading.Event)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db, on_commit=self.relay_wake.set)

    def reader(self) -> UnitOfWork:
        """A unit of work for queries: it takes no write lock, and refuses to emit or commit."""
        return UnitOfWork(self.db, read_only=True)


class Loop(Protocol):
    """Background work of a service: ``run`` until ``stop`` is set; ``wake`` makes it look at once."""

    def run(self, stop: threading.Event) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    port_offset: int
    migrations: Path | None
    api: Callable[[Runtime], list[ApiBinding]]
    subscriptions: list[Subscription] = field(default_factory=list)
    # Timer kind -> the handler that runs a due timer of that kind (see switchboard.timers).
    timers: Mapping[str, TimerHandler] = field(default_factory=dict)
    # Name -> a factory of a background loop the relay role runs (routing's matcher).
    loops: Mapping[str, Callable[[Runtime], Loop]] = field(default_factory=dict)
    # Sources whose events of unknown type this service dead-letters with the reason (customer360 screens the
    # other systems' exchange): without a screen such an event matches no queue and is gone.
    screens: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The queue (event type and handler name) is also the inbox slot: two alike would share them.
        names = [s.queue(self.name) for s in self.subscriptions]
        clashes = sorted({n for n in names if names.count(n) > 1})
        if clashes:
            raise ValueError(f"{self.name}: one handler per event type, repeated: {clashes}")

    def open(self, settings: Settings) -> Runtime:
        """Connect to the service's database and bring its schema up to date."""
        db = open_database(settings, self.name)
        migrate.upgrade(db, self.migrations)
        return Runtime(settings=settings, db=db)


def load_services(only: list[str] | None = None) -> list[ServiceDefinition]:
    found = sorted((ep.load() for ep in entry_points(group="switchboard.services")), key=lambda d: d.port_offset)
    if only:
        unknown = set(only) - {d.name for d in found}
        if unknown:
            raise ValueError(f"unknown service(s) {sorted(unknown)}; known: {[d.name for d in found]}")
        found = [d for d in found if d.name in only]
    return found
