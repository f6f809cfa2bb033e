"""Ticketing, as the composition root sees it."""

from __future__ import annotations

from pathlib import Path

from services.ticketing import api
from services.ticketing.service import sla
from services.ticketing.subscriptions import SUBSCRIPTIONS
from switchboard.composition import ServiceDefinition

SERVICE = ServiceDefinition(
    name="ticketing",
    port_offset=0,
    migrations=Path(__file__).parent / "migrations" / "versions",
    api=api.bindings,
    subscriptions=SUBSCRIPTIONS,
    # SLA warnings and breaches fall due at exact moments: deadline-driven timers, not a periodic scan.
    timers={sla.CLOCK_TIMER: sla.on_clock_timer},
)
