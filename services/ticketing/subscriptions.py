"""The events ticketing applies, and the use case each one calls."""

from __future__ import annotations

from services.ticketing.service import privacy, tickets
from switchboard.bus.topology import Subscription

SUBSCRIPTIONS = [
    Subscription("device.fault_reported", tickets.open_ticket_from_fault),
    Subscription("offer.accepted", tickets.assign_from_offer),
    # One customer's tier changes apply in the order they were made.
    Subscription("customer.tier_changed", tickets.change_tier, ordered=True),
    Subscription("customer.anomaly_detected", tickets.open_ticket_for_anomaly),
    Subscription("customer.erased", privacy.erase_customer),
]
