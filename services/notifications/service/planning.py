"""From a triggering event (or a Send call) to notifications: one per recipient and channel, in the ledger.

For each rule that matches the event, each recipient it names gets the channels their preferences give
for the rule's category (the rule's defaults otherwise), less those they cannot be reached on (no
consent, no address: recorded as suppressed, with the reason). Their preferences then decide: send now,
defer to the end of quiet hours, hold for the digest, or suppress (a frequency cap). A critical message
goes out regardless, and when none of its channels reaches the recipient it takes the first that does.

The message is rendered here, in the recipient's locale and time zone, and stored with the notification,
so what was sent is what the ledger shows. Console items are written to the feed in the same
transaction: the live feed's latency is one commit and one wake-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import structlog
from google.protobuf.json_format import MessageToDict

from services.notifications import config as configuration
from services.notifications.domain import preferences as policy
from services.notifications.domain import templates as texts
from services.notifications.domain.delivery import FAILED, QUEUED, SENT, SUPPRESSED
from services.notifications.domain.ids import notification_id
from services.notifications.domain.notifications import Notification
from services.notifications.domain.recipients import Recipient, failover_order, reach
from services.notifications.domain.rules import Target, matches, targets
from services.notifications.service import signals
from services.notifications.store.ledger import Feed, Ledger
from services.notifications.store.preferences import PreferenceStore
from services.notifications.store.recipients import RecipientStore
from services.notifications.store.templates import RuleStore, TemplateStore
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.envelope import Event
from switchboard.errors import InvalidArgument

log = structlog.get_logger("notifications.planning")


@dataclass(frozen=True)
class Trigger:
    """What caused notifications: an event, or a Send call (its id then stands in for the event's)."""

    event_id: str
    event_type: str
    occurred_at: str
    payload: Mapping[str, Any]
    customer_id: str = ""


@dataclass(frozen=True)
class Plan:
    """What one recipient gets for one trigger: category, priority, channels, template."""

    category: str
    priority: str
    channels: tuple[str, ...]
    template_key: str
    # Extra context for the template (an ad hoc subject and body, a link).
    extra: Mapping[str, Any] = field(default_factory=dict)
    link: str = ""


def trigger_of(event: Event) -> Trigger:
    payload = MessageToDict(event.payload, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    return Trigger(
        event_id=event.event_id,
        event_type=event.type,
        occurred_at=event.envelope.occurred_at.ToJsonString(),
        payload=payload,
        customer_id=event.envelope.customer_id or str(payload.get("customer_id", "")),
    )


def notify(uow: UnitOfWork, event: Event, *, now: datetime | None = None) -> None:
    """A triggering event: every matching rule's recipients get their notifications (once, however often
    the event arrives: the ledger's ids derive from it)."""
    trigger = trigger_of(event)
    cfg = configuration.load()
    now = now or utcnow()
    # Recipients looked up for this event, by id: the customer a technician's message names is usually also
    # a recipient of the event, and every rule asks again.
    known: dict[str, Recipient | None] = {}
    for rule in RuleStore(uow.session).for_event(event.type):
        if not matches(rule, trigger.payload):
            continue
        plan = Plan(
            category=rule.category,
            priority=rule.priority,
            channels=rule.channels,
            template_key=rule.template,
            link=_link(trigger, cfg),
        )
        for target in targets(rule, trigger.payload):
            for recipient in resolve(uow, target, known):
                plan_for(uow, trigger, plan, recipient, now, known=known)


def _link(trigger: Trigger, cfg: configuration.NotificationsConfig) -> str:
    if trigger.event_type == "ticket.resolved" and trigger.payload.get("ticket_id"):
        return f"{cfg.survey_link_base_url}{trigger.payload['ticket_id']}"
    return ""


def _lookup(uow: UnitOfWork, recipient_id: str, known: dict[str, Recipient | None] | None) -> Recipient | None:
    """A recipient as stored, asked of the database once per ``known`` (one event's transaction)."""
    if known is not None and recipient_id in known:
        return known[recipient_id]
    found = RecipientStore(uow.session).get(recipient_id)
    if known is not None:
        known[recipient_id] = found
    return found


def resolve(uow: UnitOfWork, target: Target, known: dict[str, Recipient | None] | None = None) -> list[Recipient]:
    """The recipients a target names. A worker nobody described still has a console; a customer we have
    no contact copy for is reached on nothing (and the suppressed notifications say why). ``known`` holds
    the recipients this transaction has looked up already."""
    store = RecipientStore(uow.session)
    if target.kind == "team":
        return [r for rid in store.supervisors_of(target.key) if (r := _lookup(uow, rid, known)) is not None]
    found = _lookup(uow, target.key, known)
    if found is not None and found.merged_into:
        found = _lookup(uow, found.merged_into, known) or found
    if found is not None:
        return [found]
    return [Recipient(recipient_id=target.key, kind="customer" if target.kind == "customer" else "staff")]


def plan_for(
    uow: UnitOfWork,
    trigger: Trigger,
    plan: Plan,
    recipient: Recipient,
    now: datetime,
    *,
    use_preferred_channels: bool = True,
    known: dict[str, Recipient | None] | None = None,
) -> list[Notification]:
    """Record one recipient's notifications for a trigger; returns them as stored (existing ones as they were).

    ``use_preferred_channels=False`` sends on the plan's channels whatever the preferences say (an ad hoc
    send that names its channels); quiet hours, caps and the digest still apply."""
    ledger = Ledger(uow.session)
    cfg = configuration.load()
    prefs = PreferenceStore(uow.session).get(recipient.recipient_id) or policy.Preferences(
        recipient_id=recipient.recipient_id,
        channels={},
        digest_every=timedelta(seconds=cfg.digest_every_seconds),
    )
    channels = choose_channels(recipient, prefs if use_preferred_channels else None, plan)
    capped = plan.category if plan.category in prefs.caps else policy.DEFAULT_CATEGORY
    decision = policy.decide(
        prefs,
        priority=plan.priority,  # type: ignore[arg-type]
        category=plan.category,
        now=now,
        sent_in_window=lambda seconds: ledger.sent_since(
            recipient.recipient_id, capped, now - timedelta(seconds=seconds)
        ),
        # Only a message held for the digest needs the last one's time: spare the others the query.
        last_digest_at=ledger.last_digest(recipient.recipient_id, "*")
        if plan.priority in prefs.digest_priorities
        else None,
    )
    rendered, failure = _render(uow, trigger, plan, recipient, known)
    customer_id = recipient.recipient_id if recipient.kind == "customer" else ""
    refs = {
        k: v for k, v in trigger.payload.items() if isinstance(v, str) and v and (k.endswith("_id") or k == "number")
    }
    planned: list[Notification] = []
    for channel in channels:
        address = reach(recipient, channel)
        n = Notification(
            notification_id=notification_id(trigger.event_id, recipient.recipient_id, channel),
            trigger_event_id=trigger.event_id,
            trigger_event_type=trigger.event_type,
            recipient_id=recipient.recipient_id,
            customer_id=customer_id,
            channel=channel,
            address=address.address,
            category=plan.category,
            priority=plan.priority,
            locale=recipient.locale,
            subject=rendered.subject,
            body=rendered.body,
            refs=refs,
        )
        if address.refusal:
            n = replace(n, status=SUPPRESSED, reason=address.refusal)
        elif failure:
            n = replace(n, status=FAILED, reason=failure)
        elif decision.action == "suppress":
            n = replace(n, status=SUPPRESSED, reason=decision.reason)
        elif decision.action in ("defer", "digest"):
            n = replace(n, next_attempt_at=decision.at, reason=decision.reason, digest=decision.action == "digest")
        elif channel == "console":
            n = replace(n, status=SENT, reason="")
        else:
            n = replace(n, next_attempt_at=now)
        planned.append(n)
    return record_all(uow, planned, now)


def choose_channels(recipient: Recipient, prefs: policy.Preferences | None, plan: Plan) -> tuple[str, ...]:
    """The recipient's channels for the plan; a critical message none of them reaches takes the first
    channel that does, so it is not lost for want of an address."""
    channels = policy.channels_for(prefs, plan.category, plan.channels)
    if plan.priority == "critical" and not any(reach(recipient, c).address for c in channels):
        for fallback in failover_order(channels):
            if reach(recipient, fallback).address:
                return (*channels, fallback)
    return channels


def record(uow: UnitOfWork, n: Notification, now: datetime) -> Notification:
    """Put a notification in the ledger; one that is there already (a redelivered trigger) stays as it was."""
    return record_all(uow, [n], now)[0]


def record_all(uow: UnitOfWork, ns: list[Notification], now: datetime) -> list[Notification]:
    """:func:`record` for several notifications, inserted in one statement."""
    ledger = Ledger(uow.session)
    added = ledger.add_all(ns, now)
    results: list[Notification] = []
    for n in ns:
        if n.notification_id not in added:
            existing = ledger.get(n.notification_id)
            log.info("notification.duplicate", notification_id=n.notification_id, trigger=n.trigger_event_id)
            results.append(existing or n)
            continue
        if n.status == SENT and n.channel == "console":
            Feed(uow.session).add(n, now)
            signals.feed_grew(uow, n.recipient_id)
        elif n.status == QUEUED and n.next_attempt_at is not None and n.next_attempt_at <= now:
            signals.wake_deliverer(uow)
        signals.status_changed(uow, n, n.status, now, reason=n.reason)
        results.append(replace(n, created_at=now, updated_at=now))
    return results


def _render(
    uow: UnitOfWork, trigger: Trigger, plan: Plan, recipient: Recipient, known: dict[str, Recipient | None] | None
) -> tuple[texts.Rendered, str]:
    """The message in the recipient's language, or an empty one and the reason it could not be rendered."""
    template = texts.choose(TemplateStore(uow.session).for_key(plan.template_key), plan.template_key, recipient.locale)
    if template is None:
        return texts.Rendered("", ""), f"no template for {plan.template_key!r} in {recipient.locale!r} or English"
    customer = _customer(uow, trigger, recipient, known)
    context = texts.context_for(
        plan.template_key,
        {**trigger.payload, **plan.extra},
        event={"id": trigger.event_id, "type": trigger.event_type, "occurred_at": trigger.occurred_at},
        recipient={
            "id": recipient.recipient_id,
            "name": recipient.name,
            "locale": recipient.locale,
            "time_zone": recipient.time_zone,
        },
        customer=customer,
        link=plan.link,
    )
    try:
        return texts.render(template, context, time_zone=recipient.time_zone or "UTC"), ""
    except InvalidArgument as exc:
        return texts.Rendered("", ""), f"template {template.key}/{template.locale} did not render: {exc}"


def _customer(
    uow: UnitOfWork, trigger: Trigger, recipient: Recipient, known: dict[str, Recipient | None] | None
) -> dict[str, str]:
    if recipient.kind == "customer":
        return {"id": recipient.recipient_id, "name": recipient.name}
    if not trigger.customer_id:
        return {"id": "", "name": ""}
    found = _lookup(uow, trigger.customer_id, known)
    return {"id": trigger.customer_id, "name": found.name if found is not None else ""}
