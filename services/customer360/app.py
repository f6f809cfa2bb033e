"""Customer-360, as the composition root sees it."""

from __future__ import annotations

from pathlib import Path

from services.customer360 import api
from services.customer360.service import value
from services.customer360.subscriptions import SUBSCRIPTIONS
from switchboard.composition import ServiceDefinition

SERVICE = ServiceDefinition(
    name="customer360",
    port_offset=2,
    migrations=Path(__file__).parent / "migrations" / "versions",
    api=api.bindings,
    subscriptions=SUBSCRIPTIONS,
    # Other systems publish here: an event type the suite does not know is dead-lettered with the reason.
    screens=("integration",),
    timers={value.WINDOW_TIMER: value.on_window_timer},
)
