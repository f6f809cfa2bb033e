"""Between the domain's records and their protobuf form."""

from __future__ import annotations

from datetime import date

from services.customer360.domain import profiles as profile_domain
from services.customer360.domain.profiles import Address, Consents, Details, Profile
from services.customer360.domain.satisfaction import Rating, Summary
from services.customer360.domain.tickets import TicketState
from services.customer360.domain.timeline import Entry
from services.customer360.service.views import Export, ValueView, View
from services.customer360.store.anomalies import Anomaly
from services.customer360.store.merges import Merge
from services.customer360.store.products import Product
from switchboard.customer360.v1 import customer360_pb2 as pb
from switchboard.events.v1.customer_events_pb2 import ContactConsents
from switchboard.timestamps import moment, timestamp


def details_of(message: pb.Customer) -> Details:
    c = message.consents
    return Details(
        display_name=message.display_name.strip(),
        given_name=message.given_name.strip(),
        family_name=message.family_name.strip(),
        birth_date=message.birth_date,
        family_status=message.family_status,
        occupation=message.occupation,
        income_band=message.income_band,
        addresses=tuple(
            Address(kind=a.kind, lines=tuple(a.lines), postcode=a.postcode, city=a.city, country=a.country)
            for a in message.addresses
        ),
        interests=tuple(message.interests),
        purchase_preferences=tuple(message.purchase_preferences),
        preferred_language=message.preferred_language,
        time_zone=message.time_zone,
        consents=Consents(email=c.email, sms=c.sms, phone=c.phone, chat=c.chat, marketing=c.marketing),
        preferred_channel=message.preferred_channel,
        do_not_contact=message.do_not_contact,
        account_owner=message.account_owner,
        attributes=dict(message.attributes),
    )


def customer(profile: Profile, today: date) -> pb.Customer:
    d = profile.details
    c = d.consents
    message = pb.Customer(
        customer_id=profile.customer_id,
        version=profile.version,
        display_name=d.display_name,
        given_name=d.given_name,
        family_name=d.family_name,
        birth_date=d.birth_date,
        age=profile_domain.age(d.birth_date, today) or 0,
        family_status=d.family_status,
        occupation=d.occupation,
        income_band=d.income_band,
        addresses=[
            pb.Address(kind=a.kind, lines=list(a.lines), postcode=a.postcode, city=a.city, country=a.country)
            for a in d.addresses
        ],
        phones=list(profile.of_kind("phone")),
        emails=list(profile.of_kind("email")),
        external_ids=[
            pb.ExternalId(system=v.partition(":")[0], id=v.partition(":")[2]) for v in profile.of_kind("external")
        ],
        interests=list(d.interests),
        purchase_preferences=list(d.purchase_preferences),
        preferred_language=d.preferred_language,
        time_zone=d.time_zone,
        consents=ContactConsents(email=c.email, sms=c.sms, phone=c.phone, chat=c.chat, marketing=c.marketing),
        preferred_channel=d.preferred_channel,
        do_not_contact=d.do_not_contact,
        account_owner=d.account_owner,
        attributes=dict(d.attributes),
        tier=profile.tier,  # type: ignore[arg-type]
        merged_into=profile.merged_into,
        known_from_events=profile.known_from_events,
        erased=profile.erased,
    )
    if profile.created_at:
        message.created_at.CopyFrom(timestamp(profile.created_at))
    if profile.updated_at:
        message.updated_at.CopyFrom(timestamp(profile.updated_at))
    return message


def product(p: Product, today: date) -> pb.Product:
    message = pb.Product(
        serial=p.serial,
        customer_id=p.customer_id,
        model=p.model,
        name=p.name,
        warranty_end=p.warranty_end,
        site_address=p.site_address,
        order_id=p.order_id,
        source=p.source,
        under_warranty=bool(p.warranty_end) and date.fromisoformat(p.warranty_end) >= today,
    )
    if p.installed_at:
        message.installed_at.CopyFrom(timestamp(p.installed_at))
    return message


def product_of(message: pb.Product) -> Product:
    return Product(
        serial=message.serial.strip(),
        customer_id=message.customer_id,
        model=message.model,
        name=message.name,
        installed_at=moment(message.installed_at) if message.HasField("installed_at") else None,
        warranty_end=message.warranty_end,
        site_address=message.site_address,
        order_id=message.order_id,
    )


def entry(e: Entry) -> pb.TimelineEntry:
    return pb.TimelineEntry(
        entry_id=e.entry_id,
        customer_id=e.customer_id,
        occurred_at=timestamp(e.occurred_at),
        kind=e.kind,
        event_type=e.event_type,
        title=e.title,
        summary=e.summary,
        refs=dict(e.refs),
        amount_minor=e.amount_minor,
        currency=e.currency,
    )


def open_ticket(t: TicketState) -> pb.OpenTicket:
    message = pb.OpenTicket(
        ticket_id=t.ticket_id,
        number=t.number,
        subject=t.subject,
        status=t.status,
        priority=t.priority,  # type: ignore[arg-type]
    )
    if t.updated_at:
        message.updated_at.CopyFrom(timestamp(t.updated_at))
    return message


def rating(r: Rating) -> pb.RatingEntry:
    return pb.RatingEntry(ticket_id=r.ticket_id, score=r.score, comment=r.comment, rated_at=timestamp(r.rated_at))


def satisfaction(s: Summary, recent: list[Rating]) -> pb.Satisfaction:
    return pb.Satisfaction(
        count=s.count,
        average=s.average,
        recent=[rating(r) for r in recent],
        dissatisfied=s.dissatisfied,
        reason=s.reason,
    )


def anomaly(a: Anomaly) -> pb.Anomaly:
    message = pb.Anomaly(
        anomaly_id=a.anomaly_id,
        customer_id=a.customer_id,
        kind=a.kind,
        metric=a.metric,
        observed=a.observed,
        baseline=a.baseline,
        score=a.score,
        reason=a.reason,
        asset_id=a.asset_id,
        source_event_id=a.source_event_id,
        source_event_type=a.source_event_type,
        detected_at=timestamp(a.detected_at),
        acknowledged_by=a.acknowledged_by,
    )
    if a.acknowledged_at:
        message.acknowledged_at.CopyFrom(timestamp(a.acknowledged_at))
    return message


def merge(m: Merge) -> pb.MergeRecord:
    message = pb.MergeRecord(
        merge_id=m.merge_id,
        survivor_id=m.survivor_id,
        merged_id=m.merged_id,
        actor=m.actor,
        merged_at=timestamp(m.merged_at),
    )
    if m.unmerged_at:
        message.unmerged_at.CopyFrom(timestamp(m.unmerged_at))
    return message


def value(v: ValueView) -> pb.Value:
    return pb.Value(
        tier=v.tier,  # type: ignore[arg-type]
        revenue_minor=v.ledger.revenue_minor,
        cost_minor=v.ledger.cost_minor,
        contribution_minor=v.ledger.contribution_minor,
        currency=v.currency,
        window_days=v.window_days,
        uncounted_items=v.uncounted,
    )


def view(v: View, today: date) -> pb.CustomerView:
    return pb.CustomerView(
        customer=customer(v.customer, today),
        value=value(v.value),
        open_tickets=[open_ticket(t) for t in v.open_tickets],
        products=[product(p, today) for p in v.products],
        recent_timeline=[entry(e) for e in v.recent_timeline],
        satisfaction=satisfaction(v.satisfaction, v.ratings),
        open_anomalies=[anomaly(a) for a in v.open_anomalies],
        merged=[customer(m, today) for m in v.merged],
    )


def export(e: Export, today: date) -> pb.ExportCustomerResponse:
    return pb.ExportCustomerResponse(
        profiles=[customer(p, today) for p in e.profiles],
        products=[product(p, today) for p in e.products],
        timeline=[entry(t) for t in e.timeline],
        ratings=[rating(r) for r in e.ratings],
        anomalies=[anomaly(a) for a in e.anomalies],
        merges=[merge(m) for m in e.merges],
        value=value(e.value),
    )
