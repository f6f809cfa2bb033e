"""One timeline entry per interaction, read from the event that reports it.

The entry's id is the event's id, so applying an event twice writes one entry; its time is the
moment the payload says the thing happened (the envelope's time when the payload has none), so
entries sort the same whatever order the events arrived in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from switchboard.events.v1 import (
    integration_events_pb2 as integration,
)
from switchboard.events.v1 import (
    notification_events_pb2 as notification,
)
from switchboard.events.v1 import (
    routing_events_pb2 as routing,
)
from switchboard.events.v1 import (
    ticketing_events_pb2 as ticketing,
)
from switchboard.events.v1 import (
    work_order_events_pb2 as work_orders,
)

KINDS = (
    "ticket",
    "comment",
    "rating",
    "work",
    "work_order",
    "visit",
    "call",
    "notification",
    "order",
    "payment",
    "transaction",
    "product",
    "fault",
)

# The payload field that says when it happened, per event type.
_TIME_FIELD = {
    "ticket.created": "created_at",
    "ticket.status_changed": "changed_at",
    "ticket.assigned": "assigned_at",
    "ticket.commented": "created_at",
    "ticket.resolved": "resolved_at",
    "ticket.closed": "closed_at",
    "ticket.reopened": "reopened_at",
    "ticket.rated": "rated_at",
    "ticket.work_logged": "performed_at",
    "work_order.created": "created_at",
    "work_order.scheduled": "window_start",
    "work_order.status_changed": "changed_at",
    "work_order.completed": "completed_at",
    "work_order.cancelled": "cancelled_at",
    "task.assigned": "assigned_at",
    "notification.status_changed": "changed_at",
    "order.placed": "placed_at",
    "payment.received": "received_at",
    "account.transaction": "occurred_at",
    "product.installed": "installed_at",
    "call.ended": "started_at",
    "device.fault_reported": "detected_at",
}

SHOWN_NOTIFICATION_STATUSES = frozenset({"sent", "delivered", "failed"})


@dataclass(frozen=True)
class Entry:
    entry_id: str
    customer_id: str
    occurred_at: datetime
    kind: str
    event_type: str
    title: str
    summary: str = ""
    refs: Mapping[str, str] = field(default_factory=dict)
    amount_minor: int = 0
    currency: str = ""


def occurred_at(event_type: str, payload: Message, envelope_time: datetime) -> datetime:
    """When the payload says it happened; the envelope's time when it does not say."""
    name = _TIME_FIELD.get(event_type)
    if name is None or not payload.HasField(name):
        return envelope_time
    stamp: Timestamp = getattr(payload, name)
    return stamp.ToDatetime(tzinfo=envelope_time.tzinfo)


def entry_of(event_type: str, payload: Message, *, event_id: str, customer_id: str, at: datetime) -> Entry | None:
    """The timeline entry for an event, or None for one the customer's timeline does not show
    (an internal note, a notification still queued)."""
    made = _describe(event_type, payload)
    if made is None:
        return None
    kind, title, summary, refs, amount, currency = made
    return Entry(
        entry_id=event_id,
        customer_id=customer_id,
        occurred_at=at,
        kind=kind,
        event_type=event_type,
        title=title[:300],
        summary=summary[:2000],
        refs={k: v for k, v in refs.items() if v},
        amount_minor=amount,
        currency=currency,
    )


def scrubbed(entry: Entry) -> Entry:
    """The entry with what a person wrote removed (erasure): the title is built from codes and ids."""
    return replace(entry, summary="")


_Made = tuple[str, str, str, dict[str, str], int, str]


def _describe(event_type: str, p: Message) -> _Made | None:
    match p:
        case ticketing.TicketCreated():
            return "ticket", f"Ticket {p.number} opened: {p.subject}", "", _ticket(p), 0, ""
        case ticketing.TicketStatusChanged():
            title = f"Ticket {p.number}: {p.from_status or 'new'} → {p.to_status}"
            return "ticket", title, p.reason, _ticket(p), 0, ""
        case ticketing.TicketAssigned():
            return "ticket", f"Ticket {p.number} assigned to {p.assignee or p.team}", "", _ticket(p), 0, ""
        case ticketing.TicketCommented():
            if p.visibility != ticketing.COMMENT_VISIBILITY_PUBLIC:
                return None
            who = "Customer wrote" if p.from_customer else f"Reply by {p.author}"
            return "comment", f"{who} on ticket {p.number}", p.body, _ticket(p), 0, ""
        case ticketing.TicketResolved():
            code = f" ({p.resolution_code})" if p.resolution_code else ""
            return "ticket", f"Ticket {p.number} resolved{code}", "", _ticket(p), 0, ""
        case ticketing.TicketClosed():
            return "ticket", f"Ticket {p.number} closed", "", _ticket(p), 0, ""
        case ticketing.TicketReopened():
            return "ticket", f"Ticket {p.number} reopened", p.reason, _ticket(p), 0, ""
        case ticketing.TicketRated():
            return "rating", f"Rated ticket {p.number} {p.score} of 5", p.comment, _ticket(p), 0, ""
        case ticketing.TicketWorkLogged():
            title = f"{p.minutes_spent} min of work on ticket {p.number}"
            return "work", title, p.description, _ticket(p), 0, ""
        case work_orders.WorkOrderCreated():
            return "work_order", "Work order created", "", _work_order(p), 0, ""
        case work_orders.WorkOrderScheduled():
            window = ""
            if p.HasField("window_start") and p.HasField("window_end"):
                start, end = p.window_start.ToDatetime(), p.window_end.ToDatetime()
                window = f" for {start:%Y-%m-%d %H:%M}-{end:%H:%M} UTC"
            return "visit", f"Visit scheduled{window}", "", _work_order(p, technician=p.technician_id), 0, ""
        case work_orders.WorkOrderStatusChanged():
            title = f"Work order {p.from_status} → {p.to_status}"
            return "work_order", title, p.note, _work_order(p, technician=p.technician_id), 0, ""
        case work_orders.WorkOrderCompleted():
            parts = sum(q.quantity for q in p.consumed)
            title = f"Visit completed: {p.labour_minutes} min, {parts} part(s)"
            return "visit", title, "", _work_order(p, technician=p.technician_id), 0, ""
        case work_orders.WorkOrderCancelled():
            return "work_order", "Work order cancelled", p.reason, _work_order(p), 0, ""
        case routing.TaskAssigned():
            title = f"Taken by {p.worker_id} after {round(p.waited_seconds)} s"
            return "call", title, "", {"task_id": p.task_id, "ticket_id": p.ticket_id}, 0, ""
        case notification.NotificationStatusChanged():
            if p.status not in SHOWN_NOTIFICATION_STATUSES or not p.customer_id:
                return None
            refs = {"notification_id": p.notification_id, "trigger_event_id": p.trigger_event_id}
            return "notification", f"{p.channel} {p.status}: {p.subject}", p.reason, refs, 0, ""
        case integration.OrderPlaced():
            lines = len(p.lines)
            title = f"Order {p.order_id} placed ({lines} line{'s' if lines != 1 else ''})"
            refs = {"order_id": p.order_id, "sales_channel": p.sales_channel}
            return "order", title, "", refs, p.total_minor, p.currency
        case integration.PaymentReceived():
            refs = {"payment_id": p.payment_id, "order_id": p.order_id}
            return "payment", f"Payment received ({p.method or 'unknown method'})", "", refs, p.amount_minor, p.currency
        case integration.AccountTransaction():
            refs = {"transaction_id": p.transaction_id, "account_id": p.account_id}
            title = f"{p.kind.replace('_', ' ').capitalize()} via {p.channel or 'unknown channel'}"
            return "transaction", title, "", refs, p.amount_minor, p.currency
        case integration.ProductInstalled():
            refs = {"serial": p.serial, "order_id": p.order_id}
            return "product", f"{p.product_name or p.model or 'Product'} installed ({p.serial})", "", refs, 0, ""
        case integration.CallEnded():
            title = f"{p.direction.capitalize()} call {p.outcome or 'ended'}, {p.duration_seconds} s"
            refs = {"call_id": p.call_id, "ticket_id": p.ticket_id, "agent_id": p.agent_id}
            return "call", title, "", refs, 0, ""
        case integration.DeviceFaultReported():
            refs = {"asset_id": p.asset_id, "fault_code": p.fault_code}
            return "fault", f"Fault {p.fault_code} reported by {p.asset_id}", p.description, refs, 0, ""
    return None


def _ticket(p: Message) -> dict[str, str]:
    return {"ticket_id": getattr(p, "ticket_id", ""), "number": getattr(p, "number", "")}


def _work_order(p: Message, technician: str = "") -> dict[str, str]:
    return {
        "work_order_id": getattr(p, "work_order_id", ""),
        "ticket_id": getattr(p, "ticket_id", ""),
        "technician_id": technician,
    }
