"""The events routing applies, and the use case each one calls."""

from __future__ import annotations

from services.routing.service import dispatch, privacy, tasks
from switchboard.bus.topology import Subscription

SUBSCRIPTIONS = [
    Subscription("ticket.created", tasks.queue_ticket),
    Subscription("ticket.reopened", tasks.requeue_reopened),
    Subscription("ticket.sla_breached", tasks.escalate),
    Subscription("ticket.assigned", tasks.ticket_assigned),
    Subscription("ticket.resolved", tasks.ticket_finished),
    Subscription("ticket.closed", tasks.ticket_finished),
    Subscription("customer.erased", privacy.forget_customer),
    *(
        Subscription(f"work_order.{verb}", dispatch.track_work_order)
        for verb in ("created", "scheduled", "status_changed", "completed", "cancelled")
    ),
]
