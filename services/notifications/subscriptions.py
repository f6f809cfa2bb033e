"""The events notifications applies, and the use case each one calls."""

from __future__ import annotations

from services.notifications.domain.rules import TRIGGER_TYPES
from services.notifications.service import customers, planning
from switchboard.bus.topology import Subscription

SUBSCRIPTIONS = [
    # Every trigger type runs the rules stored for it (domain/rules.py has the defaults).
    *(Subscription(event_type, planning.notify) for event_type in TRIGGER_TYPES),
    # Order-safe by itself: an older profile version never overwrites a newer one.
    Subscription("customer.profile_changed", customers.profile_changed),
    Subscription("customer.erased", customers.erased),
]
