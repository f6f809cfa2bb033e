"""The events ticketing applies, and the use case each one calls."""

from __future__ import annotations

from services.ticketing import service
from switchboard.bus.topology import Subscription

SUBSCRIPTIONS = [
    Subscription("device.fault_reported", service.open_ticket_from_fault),
]
