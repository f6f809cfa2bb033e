"""The events routing applies, and the use case each one calls."""

from __future__ import annotations

from services.routing import service
from switchboard.bus.topology import Subscription

SUBSCRIPTIONS = [
    Subscription("ticket.created", service.queue_ticket),
]
