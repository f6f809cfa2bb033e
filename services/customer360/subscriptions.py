"""The events customer-360 applies, and the use case each one calls.

None is ordered: every handler is idempotent by event id and order-independent (timeline entries by
event id, ticket statuses by the time they happened, value as a sum of per-event items, merges by a
total order), so the work spreads over any number of consumers.
"""

from __future__ import annotations

from services.customer360.service import ingest
from switchboard.bus.topology import Subscription

SUBSCRIPTIONS = [
    *(
        Subscription(f"ticket.{verb}", ingest.track_ticket)
        for verb in ("created", "status_changed", "assigned", "resolved", "closed", "reopened")
    ),
    Subscription("ticket.commented", ingest.note_comment),
    Subscription("ticket.rated", ingest.record_rating),
    Subscription("ticket.work_logged", ingest.cost_work),
    *(
        Subscription(f"work_order.{verb}", ingest.track_work_order)
        for verb in ("created", "scheduled", "status_changed", "completed", "cancelled")
    ),
    Subscription("task.assigned", ingest.note_interaction),
    Subscription("notification.status_changed", ingest.note_interaction),
    Subscription("order.placed", ingest.record_order),
    Subscription("payment.received", ingest.record_payment),
    Subscription("account.transaction", ingest.note_interaction),
    Subscription("product.installed", ingest.install_product),
    Subscription("call.ended", ingest.note_interaction),
    Subscription("device.fault_reported", ingest.note_interaction),
]
