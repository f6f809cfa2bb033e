"""Notifications, as the composition root sees it."""

from __future__ import annotations

from pathlib import Path

from services.notifications import api
from services.notifications.service.deliverer import Deliverer
from services.notifications.subscriptions import SUBSCRIPTIONS
from switchboard.composition import ServiceDefinition

SERVICE = ServiceDefinition(
    name="notifications",
    port_offset=3,
    migrations=Path(__file__).parent / "migrations" / "versions",
    api=api.bindings,
    subscriptions=SUBSCRIPTIONS,
    # Every relay replica runs a deliverer; they share the due notifications (SKIP LOCKED claims).
    loops={"deliverer": Deliverer},
)
