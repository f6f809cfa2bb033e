"""The events customer-360 applies: each lands on the customer's timeline, and some also change the
open tickets, ratings, installed base, value or anomaly baselines.

Every handler is order-independent and idempotent by event id: the timeline entry is keyed by the
event id, and nothing else is applied unless that entry is new; ticket statuses keep the newest by
the time the event says it happened. So no subscription needs single-active-consumer ordering.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog
from google.protobuf.message import Message

from services.customer360 import config
from services.customer360.domain import identity, timeline
from services.customer360.domain.satisfaction import Rating
from services.customer360.domain.tickets import folded
from services.customer360.domain.value import cost_of_visit, cost_of_work
from services.customer360.service import anomalies, value
from services.customer360.service.resolve import resolve
from services.customer360.store.products import Product, ProductStore
from services.customer360.store.ratings import RatingStore
from services.customer360.store.tickets import TicketStore
from services.customer360.store.timeline import TimelineStore
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event
from switchboard.errors import FieldViolation, InvalidArgument
from switchboard.events.v1 import integration_events_pb2 as integration
from switchboard.events.v1 import ticketing_events_pb2 as ticketing
from switchboard.events.v1 import work_order_events_pb2 as work_orders
from switchboard.timestamps import moment

log = structlog.get_logger("customer360")


def _apply(uow: UnitOfWork, event: Event, then: Callable[[str, datetime], None] | None = None) -> None:
    """Resolve the customer, add the timeline entry, and (only when it is new) the rest."""
    payload = event.payload
    customer_id = getattr(payload, "customer_id", "") or event.envelope.customer_id
    found = _identifiers(payload)
    if not customer_id and not found:
        if event.envelope.source == "integration":
            raise InvalidArgument([FieldViolation("customer_id", "names no customer: give customer_id or contact")])
        log.info("event.no_customer", event_id=event.event_id, type=event.type)
        return
    at = timeline.occurred_at(event.type, payload, moment(event.envelope.occurred_at))
    target = resolve(uow, customer_id=customer_id, found=found, event_id=event.event_id, event_type=event.type, at=at)
    if target is None:
        return
    entry = timeline.entry_of(event.type, payload, event_id=event.event_id, customer_id=target, at=at)
    if entry is not None and not TimelineStore(uow.session).add(entry):
        return  # applied before (a replay past the inbox): nothing more to do
    if then is not None:
        then(target, at)
    anomalies.observe(uow, target, event.type, payload, at=moment(event.envelope.occurred_at), event_id=event.event_id)


def _identifiers(payload: Message) -> list[identity.Identifier]:
    if not payload.DESCRIPTOR.fields_by_name.get("contact") or not payload.HasField("contact"):
        return []
    c: integration.ContactPoint = payload.contact  # type: ignore[attr-defined]
    try:
        return identity.of_contact(
            phone_text=c.phone,
            email_text=c.email,
            system=c.external_system,
            external_id=c.external_id,
            region=config.load().default_region,
        )
    except ValueError as exc:
        raise InvalidArgument([FieldViolation("contact", str(exc))]) from exc


# --- ticketing -------------------------------------------------------------------------------------

_STATUS_OF = {
    "ticket.created": "new",
    "ticket.resolved": "resolved",
    "ticket.closed": "closed",
}


def track_ticket(uow: UnitOfWork, event: Event) -> None:
    """ticket.created / status_changed / assigned / resolved / closed / reopened: the timeline and
    the open-tickets list (a status older than the one held is ignored)."""
    p = event.payload

    def project(customer_id: str, at: datetime) -> None:
        status = _STATUS_OF.get(event.type, "")
        if isinstance(p, ticketing.TicketStatusChanged):
            status = p.to_status
        elif isinstance(p, ticketing.TicketReopened):
            status = "reopened"
        store = TicketStore(uow.session)
        current = store.get(p.ticket_id)  # type: ignore[attr-defined]
        state = folded(
            current,
            ticket_id=p.ticket_id,  # type: ignore[attr-defined]
            customer_id=customer_id,
            at=at,
            number=p.number,  # type: ignore[attr-defined]
            subject=getattr(p, "subject", ""),
            status=status,
            priority=int(getattr(p, "priority", 0)),
        )
        store.put(state, existed=current is not None)

    _apply(uow, event, project)


def note_comment(uow: UnitOfWork, event: Event) -> None:
    """ticket.commented: public replies and the customer's own messages; internal notes are not shown."""
    _apply(uow, event)


def record_rating(uow: UnitOfWork, event: Event) -> None:
    p: ticketing.TicketRated = event.payload  # type: ignore[assignment]

    def rate(customer_id: str, at: datetime) -> None:
        RatingStore(uow.session).add(
            Rating(ticket_id=p.ticket_id, customer_id=customer_id, score=p.score, comment=p.comment, rated_at=at)
        )

    _apply(uow, event, rate)


def cost_work(uow: UnitOfWork, event: Event) -> None:
    """ticket.work_logged: agent time is cost to serve."""
    p: ticketing.TicketWorkLogged = event.payload  # type: ignore[assignment]

    def cost(customer_id: str, at: datetime) -> None:
        _, rates = value.pricing()
        value.record(
            uow,
            customer_id,
            event_id=event.event_id,
            event_type=event.type,
            at=at,
            cost_minor=cost_of_work(p.minutes_spent, rates),
        )

    _apply(uow, event, cost)


def track_work_order(uow: UnitOfWork, event: Event) -> None:
    """work_order.*: visits on the timeline; a completed one costs a visit, labour and parts."""
    p = event.payload

    def cost(customer_id: str, at: datetime) -> None:
        if not isinstance(p, work_orders.WorkOrderCompleted):
            return
        _, rates = value.pricing()
        parts: dict[str, int] = {}
        for part in p.consumed:
            parts[part.sku] = parts.get(part.sku, 0) + part.quantity
        value.record(
            uow,
            customer_id,
            event_id=event.event_id,
            event_type=event.type,
            at=at,
            cost_minor=cost_of_visit(p.labour_minutes, parts, rates),
        )

    _apply(uow, event, cost)


def note_interaction(uow: UnitOfWork, event: Event) -> None:
    """Events that only add to the timeline: task.assigned, notification.status_changed, call.ended,
    account.transaction, device.fault_reported (the last two also feed the anomaly baselines)."""
    _apply(uow, event)


# --- other systems ---------------------------------------------------------------------------------


def record_order(uow: UnitOfWork, event: Event) -> None:
    """order.placed: revenue (unless configured to count payments), and each delivered serial joins
    the installed base."""
    p: integration.OrderPlaced = event.payload  # type: ignore[assignment]

    def apply(customer_id: str, at: datetime) -> None:
        for line in p.lines:
            for serial in line.serials:
                ProductStore(uow.session).put(
                    Product(
                        serial=serial,
                        customer_id=customer_id,
                        model=line.model,
                        name=line.description,
                        order_id=p.order_id,
                        source="order.placed",
                        as_of=at,
                    )
                )
        if config.load().revenue_from in ("orders", "both"):
            value.record(
                uow,
                customer_id,
                event_id=event.event_id,
                event_type=event.type,
                at=at,
                revenue_minor=p.total_minor,
                currency=p.currency,
            )

    _apply(uow, event, apply)


def record_payment(uow: UnitOfWork, event: Event) -> None:
    p: integration.PaymentReceived = event.payload  # type: ignore[assignment]

    def apply(customer_id: str, at: datetime) -> None:
        if config.load().revenue_from in ("payments", "both"):
            value.record(
                uow,
                customer_id,
                event_id=event.event_id,
                event_type=event.type,
                at=at,
                revenue_minor=p.amount_minor,
                currency=p.currency,
            )

    _apply(uow, event, apply)


def install_product(uow: UnitOfWork, event: Event) -> None:
    p: integration.ProductInstalled = event.payload  # type: ignore[assignment]

    def apply(customer_id: str, at: datetime) -> None:
        ProductStore(uow.session).put(
            Product(
                serial=p.serial,
                customer_id=customer_id,
                model=p.model,
                name=p.product_name,
                installed_at=at,
                warranty_end=p.warranty_end,
                site_address=p.site_address,
                order_id=p.order_id,
                source="product.installed",
                as_of=at,
            )
        )

    _apply(uow, event, apply)
