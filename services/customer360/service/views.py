"""What agents read: the whole customer in one call, lookups for a screen pop, the timeline, an export.

GetCustomerView is a handful of indexed reads whatever the customer's history: the root and its
merged profiles by key, their identifiers, open tickets, products, the newest timeline entries,
ratings and open anomalies, each by customer id through its own index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from services.customer360 import config
from services.customer360.domain import identity, profiles, satisfaction
from services.customer360.domain.identity import Identifier
from services.customer360.domain.profiles import Profile
from services.customer360.domain.satisfaction import Rating, Summary
from services.customer360.domain.tickets import TicketState
from services.customer360.domain.timeline import Entry
from services.customer360.domain.value import Ledger
from services.customer360.service import profiles as profile_cases
from services.customer360.service import value
from services.customer360.service.groups import group_of, root_of
from services.customer360.store.anomalies import Anomaly, AnomalyStore
from services.customer360.store.identifiers import IdentifierStore
from services.customer360.store.merges import Merge, MergeStore
from services.customer360.store.products import Product, ProductStore
from services.customer360.store.profiles import ProfileStore
from services.customer360.store.ratings import RatingStore
from services.customer360.store.tickets import TicketStore
from services.customer360.store.timeline import TimelineStore
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.errors import FieldViolation, InvalidArgument

RECENT_RATINGS = 10


@dataclass(frozen=True)
class ValueView:
    tier: int
    ledger: Ledger
    uncounted: int
    currency: str
    window_days: int


@dataclass(frozen=True)
class View:
    requested_id: str
    customer: Profile  # the root, its details overlaid with the merged profiles', every identifier
    merged: list[Profile]
    value: ValueView
    open_tickets: list[TicketState]
    products: list[Product]
    recent_timeline: list[Entry]
    ratings: list[Rating]
    satisfaction: Summary
    open_anomalies: list[Anomaly]


def customer_view(uow: UnitOfWork, customer_id: str, now: datetime | None = None) -> View:
    now = now or utcnow()
    settings = config.load()
    root = root_of(uow, customer_id)
    group = group_of(uow, root)
    stored = ProfileStore(uow.session).get_many(group)
    held = IdentifierStore(uow.session).of(group)
    members = [replace(p, identifiers=held[p.customer_id]) for p in stored]
    head, merged = members[0], members[1:]
    shown = replace(
        head,
        details=profiles.overlay(head.details, (m.details for m in merged)),
        identifiers=tuple(sorted(i for m in members for i in m.identifiers)),
    )
    ledger, uncounted = value.ledger(uow, group, now)
    ratings = RatingStore(uow.session)
    recent = ratings.latest(group, RECENT_RATINGS)
    total, average = ratings.totals(group) if recent else (0, 0.0)
    return View(
        requested_id=customer_id if customer_id != root else "",
        customer=shown,
        merged=merged,
        value=ValueView(head.tier, ledger, uncounted, settings.currency, settings.value_window_days),
        open_tickets=TicketStore(uow.session).open_of(group),
        products=ProductStore(uow.session).of(group),
        recent_timeline=TimelineStore(uow.session).page(group, limit=settings.recent_timeline),
        ratings=recent,
        satisfaction=satisfaction.summary(
            recent,
            total,
            average,
            last_n=settings.dissatisfied_last_n,
            at_or_below=settings.dissatisfied_average_at_or_below,
        ),
        open_anomalies=AnomalyStore(uow.session).of(group, open_only=True),
    )


def find(
    uow: UnitOfWork,
    *,
    phone: str = "",
    email: str = "",
    external: tuple[str, str] | None = None,
    serial: str = "",
    name_prefix: str = "",
    limit: int = 20,
) -> list[Profile]:
    """The customers (each as its group's root, with its own identifiers) a lookup finds."""
    found: list[str] = []
    try:
        wanted: Identifier | None = None
        if phone:
            wanted = identity.phone(phone, config.load().default_region)
        elif email:
            wanted = identity.email(email)
        elif external is not None:
            wanted = identity.external(*external)
    except ValueError as exc:
        which = "phone" if phone else "email" if email else "external"
        raise InvalidArgument([FieldViolation(which, str(exc))]) from exc
    if wanted is not None:
        owner = IdentifierStore(uow.session).owner(wanted)
        found = [owner] if owner else []
    elif serial:
        product = ProductStore(uow.session).get(serial)
        found = [product.customer_id] if product else []
    elif name_prefix:
        found = ProfileStore(uow.session).find_by_name(name_prefix, limit)
    roots = list(dict.fromkeys(root_of(uow, c) for c in found))
    held = IdentifierStore(uow.session).of(roots)
    return [replace(p, identifiers=held[p.customer_id]) for p in ProfileStore(uow.session).get_many(roots)]


def timeline_page(
    uow: UnitOfWork,
    customer_id: str,
    *,
    limit: int,
    kinds: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    after: tuple[datetime, str] | None = None,
) -> list[Entry]:
    """A page of the group's timeline, newest first; ``limit + 1`` asks whether another page follows."""
    group = group_of(uow, root_of(uow, customer_id))
    return TimelineStore(uow.session).page(group, limit=limit, kinds=kinds, since=since, until=until, after=after)


@dataclass(frozen=True)
class Export:
    profiles: list[Profile]
    products: list[Product]
    timeline: list[Entry]
    ratings: list[Rating]
    anomalies: list[Anomaly]
    merges: list[Merge]
    value: ValueView


EXPORT_LIMIT = 1_000_000


def export(uow: UnitOfWork, customer_id: str, now: datetime | None = None) -> Export:
    """Everything held about the customer's merge group (a subject access request)."""
    now = now or utcnow()
    settings = config.load()
    group = group_of(uow, root_of(uow, customer_id))
    held = IdentifierStore(uow.session).of(group)
    members = [replace(p, identifiers=held[p.customer_id]) for p in ProfileStore(uow.session).get_many(group)]
    ledger, uncounted = value.ledger(uow, group, now)
    return Export(
        profiles=members,
        products=ProductStore(uow.session).of(group, limit=EXPORT_LIMIT),
        timeline=TimelineStore(uow.session).page(group, limit=EXPORT_LIMIT),
        ratings=RatingStore(uow.session).latest(group, EXPORT_LIMIT),
        anomalies=AnomalyStore(uow.session).of(group, open_only=False, limit=EXPORT_LIMIT),
        merges=MergeStore(uow.session).involving(group),
        value=ValueView(members[0].tier, ledger, uncounted, settings.currency, settings.value_window_days),
    )


def put_product(uow: UnitOfWork, product: Product) -> Product:
    """PutProduct: the API's word on a product; NOT_FOUND for an unknown customer."""
    profile_cases.writable(profile_cases.load(uow, product.customer_id))
    ProductStore(uow.session).put(replace(product, source="api", as_of=utcnow()))
    stored = ProductStore(uow.session).get(product.serial)
    assert stored is not None
    return stored
