"""Notifications' domain values to their protobuf messages and back."""

from __future__ import annotations

from datetime import time, timedelta

from services.notifications.domain.notifications import FeedItem, Notification
from services.notifications.domain.preferences import Cap, Preferences, QuietHours
from services.notifications.domain.recipients import Recipient
from services.notifications.domain.rules import Rule
from services.notifications.domain.templates import Template
from switchboard.notifications.v1 import notifications_pb2 as pb
from switchboard.notifications.v1 import preferences_pb2, templates_pb2
from switchboard.timestamps import timestamp


def priority_value(name: str) -> pb.Priority.ValueType:
    return pb.Priority.Value(f"PRIORITY_{name.upper()}")


def priority_of(value: int) -> str:
    return "" if not value else pb.Priority.Name(value).removeprefix("PRIORITY_").lower()  # type: ignore[arg-type]


def status_value(name: str) -> pb.NotificationStatus.ValueType:
    return pb.NotificationStatus.Value(f"NOTIFICATION_STATUS_{name.upper()}")


def status_of(value: int) -> str:
    if not value:
        return ""
    return pb.NotificationStatus.Name(value).removeprefix("NOTIFICATION_STATUS_").lower()  # type: ignore[arg-type]


def notification_proto(n: Notification) -> pb.Notification:
    message = pb.Notification(
        notification_id=n.notification_id,
        trigger_event_id=n.trigger_event_id,
        trigger_event_type=n.trigger_event_type,
        recipient_id=n.recipient_id,
        customer_id=n.customer_id,
        channel=n.channel,
        address=n.address,
        category=n.category,
        priority=priority_value(n.priority),
        subject=n.subject,
        body=n.body,
        status=status_value(n.status),
        attempts=n.attempts,
        reason=n.reason,
        failover_of=n.failover_of,
        locale=n.locale,
        provider_ref=n.provider_ref,
    )
    if n.next_attempt_at is not None and n.status == "queued":
        message.next_attempt_at.CopyFrom(timestamp(n.next_attempt_at))
    if n.created_at is not None:
        message.created_at.CopyFrom(timestamp(n.created_at))
    if n.updated_at is not None:
        message.updated_at.CopyFrom(timestamp(n.updated_at))
    return message


def feed_item_proto(item: FeedItem) -> pb.FeedItem:
    return pb.FeedItem(
        cursor=item.cursor,
        notification_id=item.notification_id,
        recipient_id=item.recipient_id,
        trigger_event_type=item.trigger_event_type,
        category=item.category,
        priority=priority_value(item.priority),
        subject=item.subject,
        body=item.body,
        created_at=timestamp(item.created_at),
        refs=dict(item.refs),
    )


def recipient_proto(r: Recipient) -> preferences_pb2.Recipient:
    return preferences_pb2.Recipient(
        recipient_id=r.recipient_id,
        kind=preferences_pb2.RECIPIENT_KIND_CUSTOMER if r.kind == "customer" else preferences_pb2.RECIPIENT_KIND_STAFF,
        name=r.name,
        email=r.emails[0] if r.emails else "",
        phone=r.phones[0] if r.phones else "",
        chat_url=r.chat_url,
        webhook_url=r.webhook_url,
        locale=r.locale,
        time_zone=r.time_zone,
        supervises=sorted(r.supervises),
        consents=sorted(r.consents),
        version=r.version,
    )


def recipient_of(message: preferences_pb2.Recipient) -> Recipient:
    return Recipient(
        recipient_id=message.recipient_id,
        kind="staff",
        name=message.name,
        emails=(message.email.strip().lower(),) if message.email.strip() else (),
        phones=(message.phone,) if message.phone else (),
        chat_url=message.chat_url,
        webhook_url=message.webhook_url,
        locale=message.locale or "en",
        time_zone=message.time_zone or "UTC",
        supervises=frozenset(message.supervises),
    )


def preferences_proto(p: Preferences) -> preferences_pb2.Preferences:
    message = preferences_pb2.Preferences(
        recipient_id=p.recipient_id,
        channels=[
            preferences_pb2.CategoryChannels(category=category, channels=list(channels))
            for category, channels in sorted(p.channels.items())
        ],
        caps=[
            preferences_pb2.Cap(category=category, max_count=cap.max_count, per_seconds=cap.per_seconds)
            for category, cap in sorted(p.caps.items())
        ],
        digest_priorities=sorted(p.digest_priorities),
        digest_every_seconds=int(p.digest_every.total_seconds()),
        version=p.version,
    )
    if p.quiet_hours is not None:
        message.quiet_hours.CopyFrom(
            preferences_pb2.QuietHours(
                start=p.quiet_hours.start.strftime("%H:%M"),
                end=p.quiet_hours.end.strftime("%H:%M"),
                time_zone=p.quiet_hours.time_zone,
            )
        )
    return message


def preferences_of(
    message: preferences_pb2.Preferences, recipient_id: str, default_digest_every: timedelta
) -> Preferences:
    quiet = None
    if message.HasField("quiet_hours"):
        quiet = QuietHours(
            start=time.fromisoformat(message.quiet_hours.start),
            end=time.fromisoformat(message.quiet_hours.end),
            time_zone=message.quiet_hours.time_zone,
        )
    return Preferences(
        recipient_id=recipient_id,
        channels={entry.category: tuple(entry.channels) for entry in message.channels},
        quiet_hours=quiet,
        caps={cap.category: Cap(max_count=cap.max_count, per_seconds=cap.per_seconds) for cap in message.caps},
        digest_priorities=frozenset(message.digest_priorities or ["low"]),
        digest_every=timedelta(seconds=message.digest_every_seconds)
        if message.digest_every_seconds
        else default_digest_every,
    )


def template_proto(t: Template) -> templates_pb2.Template:
    return templates_pb2.Template(key=t.key, locale=t.locale, subject=t.subject, body=t.body, version=t.version)


def template_of(message: templates_pb2.Template) -> Template:
    return Template(key=message.key, locale=message.locale, subject=message.subject, body=message.body)


def rule_proto(r: Rule) -> templates_pb2.Rule:
    return templates_pb2.Rule(
        rule_id=r.rule_id,
        event_type=r.event_type,
        audiences=list(r.audiences),
        category=r.category,
        priority=priority_value(r.priority),
        channels=list(r.channels),
        template_key=r.template_key,
        enabled=r.enabled,
        when={name: ",".join(values) for name, values in sorted(r.when.items())},
        version=r.version,
    )


def rule_of(message: templates_pb2.Rule) -> Rule:
    return Rule(
        rule_id=message.rule_id,
        event_type=message.event_type,
        audiences=tuple(message.audiences),
        category=message.category,
        priority=priority_of(message.priority),
        channels=tuple(message.channels),
        template_key=message.template_key,
        enabled=message.enabled,
        when={name: tuple(v.strip() for v in values.split(",") if v.strip()) for name, values in message.when.items()},
    )
