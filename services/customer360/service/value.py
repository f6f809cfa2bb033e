"""Value: each event's revenue or cost kept per event; the tier re-evaluated over the trailing window."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import structlog

from services.customer360 import config
from services.customer360.domain import value as value_domain
from services.customer360.service.groups import MAX_DEPTH, root_of
from services.customer360.store.profiles import ProfileStore
from services.customer360.store.value import ValueItem, ValueStore
from switchboard import timers
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.errors import NotFound
from switchboard.events.v1.customer_events_pb2 import CustomerTierChanged
from switchboard.timestamps import timestamp

log = structlog.get_logger("customer360")

WINDOW_TIMER = "value.window"
"""Timer kind: an item of a customer's value leaves the trailing window."""


def on_window_timer(uow: UnitOfWork, timer: timers.Timer) -> None:
    reevaluate(uow, timer.key)


def pricing() -> tuple[value_domain.Thresholds, value_domain.Rates]:
    """The configured thresholds and rates; ValueError with the reason when they do not parse.

    Parsed once per configuration, not per event: a new configuration (``config.load.cache_clear()``)
    is a new, separately cached key."""
    return _pricing_of(config.load())


@lru_cache(maxsize=4)
def _pricing_of(settings: config.Customer360Config) -> tuple[value_domain.Thresholds, value_domain.Rates]:
    rates = value_domain.Rates(
        agent_minute_minor=settings.agent_minute_minor,
        technician_minute_minor=settings.technician_minute_minor,
        visit_minor=settings.visit_minor,
        part_minor=value_domain.parse_part_costs(settings.part_cost_minor),
        part_default_minor=settings.part_default_minor,
    )
    return value_domain.parse_thresholds(settings.tier_thresholds), rates


def record(
    uow: UnitOfWork,
    customer_id: str,
    *,
    event_id: str,
    event_type: str,
    at: datetime,
    revenue_minor: int = 0,
    cost_minor: int = 0,
    currency: str = "",
) -> None:
    """Keep one event's revenue or cost (once per event) and re-evaluate the customer's tier."""
    counted_in = config.load().currency
    currency = currency or counted_in
    item = ValueItem(
        event_id=event_id,
        customer_id=customer_id,
        occurred_at=at,
        event_type=event_type,
        revenue_minor=revenue_minor,
        cost_minor=cost_minor,
        currency=currency,
        counted=currency == counted_in,
    )
    if not item.counted:
        log.info("value.not_counted", customer_id=customer_id, event_id=event_id, currency=currency, counts=counted_in)
    if ValueStore(uow.session).add(item):
        reevaluate(uow, customer_id, added_at=at)


def ledger(uow: UnitOfWork, group: list[str], now: datetime) -> tuple[value_domain.Ledger, int]:
    totals, uncounted, _ = ValueStore(uow.session).ledger(group, _window_start(now))
    return totals, uncounted


def _window_start(now: datetime) -> datetime:
    return now - timedelta(days=config.load().value_window_days)


def reevaluate(
    uow: UnitOfWork, customer_id: str, now: datetime | None = None, *, added_at: datetime | None = None
) -> None:
    """The group's contribution over the window and the tier it earns, stored on the group's root;
    customer.tier_changed when the tier moved. The next re-evaluation is due when the oldest item in
    the window leaves it: a customer who stops buying drops a tier without any new event.

    ``added_at``: this re-evaluation follows a new item that happened then. When an older item is in
    the window, the oldest did not change, and the re-evaluation that counted it (or the timer of an
    even older one, which re-evaluates when it runs) already scheduled the timer: it is left as it is."""
    now = now or utcnow()
    root = root_of(uow, customer_id)
    thresholds, _ = pricing()
    totals, _, oldest, previous = ValueStore(uow.session).standing(root, _window_start(now), max_depth=MAX_DEPTH)
    if oldest is not None:
        if added_at is None or oldest >= added_at:
            leaves_at = oldest + timedelta(days=config.load().value_window_days, seconds=1)
            timers.schedule(uow, WINDOW_TIMER, root, leaves_at)
    else:
        timers.cancel(uow, WINDOW_TIMER, root)
    tier = value_domain.tier_for(totals.contribution_minor, thresholds)
    store = ProfileStore(uow.session)
    if previous is None:
        raise NotFound("customer", root)
    changed = previous != tier
    store.set_value(root, tier=tier, contribution_minor=totals.contribution_minor, changed_at=now if changed else None)
    if changed:
        uow.emit(
            CustomerTierChanged(
                customer_id=root,
                previous_tier=previous,  # type: ignore[arg-type]
                tier=tier,  # type: ignore[arg-type]
                changed_at=timestamp(now),
                contribution_minor=totals.contribution_minor,
                currency=config.load().currency,
            ),
            customer_id=root,
        )
        log.info(
            "customer.tier_changed",
            customer_id=root,
            tier=tier,
            why=value_domain.explain_tier(totals, tier, thresholds, config.load().currency),
        )
