"""Routing, as the composition root sees it."""

from __future__ import annotations

from pathlib import Path

from services.routing import api
from services.routing.service.matcher import Matcher
from services.routing.subscriptions import SUBSCRIPTIONS
from switchboard.composition import ServiceDefinition

SERVICE = ServiceDefinition(
    name="routing",
    port_offset=1,
    migrations=Path(__file__).parent / "migrations" / "versions",
    api=api.bindings,
    subscriptions=SUBSCRIPTIONS,
    # The engine's state has one owner at a time (a lease); every relay replica runs a matcher that
    # waits for its turn.
    loops={"matcher": Matcher},
)
