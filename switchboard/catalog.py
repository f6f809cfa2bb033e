"""Every event type the suite knows, with its payload message and the source that emits it.

Event types are ``<noun>.<past-tense-verb>``. The source names the exchange (``<source>.events``)
that carries the event; ``integration`` is the source of every other system's events.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from switchboard.events.v1 import (
    customer_events_pb2,
    integration_events_pb2,
    notification_events_pb2,
    routing_events_pb2,
    ticketing_events_pb2,
    work_order_events_pb2,
)


@dataclass(frozen=True)
class EventType:
    name: str
    source: str
    payload: type[Message]
    schema_version: int = 1


EVENT_TYPES: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType("ticket.created", "ticketing", ticketing_events_pb2.TicketCreated),
        EventType("ticket.updated", "ticketing", ticketing_events_pb2.TicketUpdated),
        EventType("ticket.status_changed", "ticketing", ticketing_events_pb2.TicketStatusChanged),
        EventType("ticket.assigned", "ticketing", ticketing_events_pb2.TicketAssigned),
        EventType("ticket.commented", "ticketing", ticketing_events_pb2.TicketCommented),
        EventType("ticket.sla_warning", "ticketing", ticketing_events_pb2.TicketSlaWarning),
        EventType("ticket.sla_breached", "ticketing", ticketing_events_pb2.TicketSlaBreached),
        EventType("ticket.resolved", "ticketing", ticketing_events_pb2.TicketResolved),
        EventType("ticket.closed", "ticketing", ticketing_events_pb2.TicketClosed),
        EventType("ticket.reopened", "ticketing", ticketing_events_pb2.TicketReopened),
        EventType("ticket.rated", "ticketing", ticketing_events_pb2.TicketRated),
        EventType("ticket.work_logged", "ticketing", ticketing_events_pb2.TicketWorkLogged),
        EventType("work_order.created", "ticketing", work_order_events_pb2.WorkOrderCreated),
        EventType("work_order.scheduled", "ticketing", work_order_events_pb2.WorkOrderScheduled),
        EventType("work_order.status_changed", "ticketing", work_order_events_pb2.WorkOrderStatusChanged),
        EventType("work_order.completed", "ticketing", work_order_events_pb2.WorkOrderCompleted),
        EventType("work_order.updated", "ticketing", work_order_events_pb2.WorkOrderUpdated),
        EventType("work_order.cancelled", "ticketing", work_order_events_pb2.WorkOrderCancelled),
        EventType("task.created", "routing", routing_events_pb2.TaskCreated),
        EventType("offer.created", "routing", routing_events_pb2.OfferCreated),
        EventType("offer.accepted", "routing", routing_events_pb2.OfferAccepted),
        EventType("offer.rejected", "routing", routing_events_pb2.OfferRejected),
        EventType("offer.expired", "routing", routing_events_pb2.OfferExpired),
        EventType("task.assigned", "routing", routing_events_pb2.TaskAssigned),
        EventType("task.escalated", "routing", routing_events_pb2.TaskEscalated),
        EventType("worker.state_changed", "routing", routing_events_pb2.WorkerStateChanged),
        EventType("dispatch.planned", "routing", routing_events_pb2.DispatchPlanned),
        EventType("customer.tier_changed", "customer360", customer_events_pb2.CustomerTierChanged),
        EventType("customer.profile_changed", "customer360", customer_events_pb2.CustomerProfileChanged),
        EventType("customer.anomaly_detected", "customer360", customer_events_pb2.CustomerAnomalyDetected),
        EventType("customer.erased", "customer360", customer_events_pb2.CustomerErased),
        EventType("customer.merged", "customer360", customer_events_pb2.CustomerMerged),
        EventType("customer.unmerged", "customer360", customer_events_pb2.CustomerUnmerged),
        EventType("notification.status_changed", "notifications", notification_events_pb2.NotificationStatusChanged),
        EventType("device.fault_reported", "integration", integration_events_pb2.DeviceFaultReported),
        EventType("order.placed", "integration", integration_events_pb2.OrderPlaced),
        EventType("payment.received", "integration", integration_events_pb2.PaymentReceived),
        EventType("account.transaction", "integration", integration_events_pb2.AccountTransaction),
        EventType("product.installed", "integration", integration_events_pb2.ProductInstalled),
        EventType("call.ended", "integration", integration_events_pb2.CallEnded),
    )
}

_BY_PAYLOAD: dict[str, EventType] = {e.payload.DESCRIPTOR.full_name: e for e in EVENT_TYPES.values()}


def event_type_of(payload: Message) -> EventType:
    try:
        return _BY_PAYLOAD[payload.DESCRIPTOR.full_name]
    except KeyError:
        raise KeyError(f"{payload.DESCRIPTOR.full_name} is not an event in switchboard.catalog") from None
