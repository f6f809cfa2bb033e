"""``switchboard notify|prefs|template|recipient``: notifications as a user reaches them, through the gRPC stubs only
(the chassis never imports a service)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from switchboard.cli.suite import (
    JsonOption,
    TokenOption,
    _call,
    _enum_name,
    _enum_value,
    _pairs,
    _print,
    _print_line,
    _target,
    _watch,
    app,
)
from switchboard.ids import new_id
from switchboard.notifications.v1 import (
    notifications_pb2,
    notifications_pb2_grpc,
    preferences_pb2,
    preferences_pb2_grpc,
    templates_pb2,
    templates_pb2_grpc,
)
from switchboard.rpc import client

notify_app = typer.Typer(help="Notifications: send, status, list, watch the live feed.", no_args_is_help=True)
prefs_app = typer.Typer(help="Notification preferences: channels, quiet hours, caps, digest.", no_args_is_help=True)
template_app = typer.Typer(help="Notification templates per event and locale.", no_args_is_help=True)
recipient_app = typer.Typer(
    help="Staff recipients of notifications: contact data, teams supervised.", no_args_is_help=True
)
app.add_typer(notify_app, name="notify")
app.add_typer(prefs_app, name="prefs")
app.add_typer(template_app, name="template")
app.add_typer(recipient_app, name="recipient")

KeyOption = Annotated[str | None, typer.Option(help="Idempotency key (default: a new one).")]


def _status(value: int) -> str:
    return _enum_name(notifications_pb2.NotificationStatus, "NOTIFICATION_STATUS_", value)


def _priority(value: int) -> str:
    return _enum_name(notifications_pb2.Priority, "PRIORITY_", value)


def _line(n: notifications_pb2.Notification) -> str:
    why = f"  ({n.reason})" if n.reason else ""
    return f"{n.notification_id}  {_status(n.status):<10} {n.channel:<8} {n.recipient_id:<12} {n.subject}{why}"


def _stub() -> notifications_pb2_grpc.NotificationServiceStub:
    return notifications_pb2_grpc.NotificationServiceStub(client.channel(_target("notifications")))


@notify_app.command("send")
def notify_send(
    recipient: Annotated[str, typer.Argument(help="Worker id or customer id.")],
    subject: Annotated[str, typer.Option(help="Subject (email) or title.")] = "",
    body: Annotated[str, typer.Option(help="The message.")] = "",
    channel: Annotated[list[str] | None, typer.Option(help="console, email, sms, chat, webhook; repeat.")] = None,
    category: Annotated[str, typer.Option(help="Preference category.")] = "adhoc",
    priority: Annotated[str, typer.Option(help="critical, high, normal or low.")] = "normal",
    template: Annotated[str, typer.Option(help="Template key (default: adhoc, subject and body as given).")] = "",
    var: Annotated[list[str] | None, typer.Option(help="Template value KEY=VALUE; repeat.")] = None,
    idempotency_key: KeyOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send an ad hoc message to one recipient now (or when their preferences allow)."""
    request = notifications_pb2.SendRequest(
        idempotency_key=idempotency_key or new_id(),
        recipient_id=recipient,
        subject=subject,
        body=body,
        channels=channel or [],
        category=category,
        priority=_enum_value(notifications_pb2.Priority, "PRIORITY_", priority, "--priority"),  # type: ignore[arg-type]
        template_key=template,
        variables=_pairs(var, "--var"),
    )
    reply = _call(_stub().Send, request, token)
    _print(reply, as_json, "\n".join(_line(n) for n in reply.notifications))


@notify_app.command("status")
def notify_status(notification_id: str, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """One notification: status, attempts, and why it failed or waits."""
    reply = _call(_stub().GetStatus, notifications_pb2.GetStatusRequest(notification_id=notification_id), token)
    n = reply.notification
    _print(reply, as_json, f"{_line(n)}\n  attempts {n.attempts}, address {n.address or '-'}")


@notify_app.command("list")
def notify_list(
    recipient: Annotated[str, typer.Option(help="Whose (a supervisor's choice); default: yours.")] = "",
    status: Annotated[str, typer.Option(help="queued, sent, delivered, failed (the dead letters), suppressed.")] = "",
    page_size: Annotated[int, typer.Option(help="At most this many.")] = 50,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """A recipient's notifications, newest first."""
    request = notifications_pb2.ListNotificationsRequest(
        recipient_id=recipient,
        page_size=page_size,
        status=_enum_value(notifications_pb2.NotificationStatus, "NOTIFICATION_STATUS_", status, "--status")  # type: ignore[arg-type]
        if status
        else 0,
    )
    reply = _call(_stub().ListNotifications, request, token)
    _print(reply, as_json, "\n".join(_line(n) for n in reply.notifications) or "(none)")


@notify_app.command("watch")
def notify_watch(
    recipient: Annotated[str, typer.Option(help="Whose feed (a supervisor's choice); default: yours.")] = "",
    after: Annotated[int, typer.Option(help="Resume after this cursor.")] = 0,
    latest: Annotated[int, typer.Option(help="Show this many recent items first.")] = 10,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The console's live feed: recent items, then each new one as it comes; Ctrl-C stops."""
    _watch(
        _stub().Subscribe,
        notifications_pb2.SubscribeRequest(recipient_id=recipient, after_cursor=after, replay_latest=latest),
        token,
        lambda reply: _print_line(
            reply,
            as_json,
            f"#{reply.item.cursor}  {_priority(reply.item.priority):<8} {reply.item.subject}  {reply.item.body}",
        ),
    )


def _prefs_stub() -> preferences_pb2_grpc.PreferenceServiceStub:
    return preferences_pb2_grpc.PreferenceServiceStub(client.channel(_target("notifications")))


def _prefs_summary(p: preferences_pb2.Preferences) -> str:
    channels = "; ".join(f"{c.category}: {','.join(c.channels)}" for c in p.channels) or "defaults"
    quiet = (
        f"{p.quiet_hours.start}-{p.quiet_hours.end} {p.quiet_hours.time_zone}" if p.HasField("quiet_hours") else "none"
    )
    caps = "; ".join(f"{c.category}: {c.max_count}/{c.per_seconds}s" for c in p.caps) or "none"
    return (
        f"{p.recipient_id} (version {p.version})\n  channels: {channels}\n  quiet hours: {quiet}\n  caps: {caps}\n"
        f"  digest: {','.join(p.digest_priorities)} every {p.digest_every_seconds}s"
    )


@prefs_app.command("get")
def prefs_get(
    recipient: Annotated[str, typer.Option(help="Whose; default: yours.")] = "",
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """A recipient's preferences."""
    reply = _call(_prefs_stub().GetPreferences, preferences_pb2.GetPreferencesRequest(recipient_id=recipient), token)
    _print(reply, as_json, _prefs_summary(reply.preferences))


@prefs_app.command("set")
def prefs_set(
    recipient: Annotated[str, typer.Option(help="Whose; default: yours.")] = "",
    channels: Annotated[list[str] | None, typer.Option(help="CATEGORY=ch1,ch2 ('*' for any); repeat.")] = None,
    quiet: Annotated[str, typer.Option(help="Quiet hours HH:MM-HH:MM.")] = "",
    time_zone: Annotated[str, typer.Option(help="Time zone of the quiet hours.")] = "UTC",
    cap: Annotated[list[str] | None, typer.Option(help="CATEGORY=COUNT/SECONDS; repeat.")] = None,
    digest: Annotated[list[str] | None, typer.Option(help="Priority that waits for the digest; repeat.")] = None,
    digest_every: Annotated[int, typer.Option(help="Digest period in seconds (0: the default).")] = 0,
    version: Annotated[int, typer.Option(help="The version read (0 to create).")] = 0,
    idempotency_key: KeyOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace a recipient's preferences (compare-and-set on --version)."""
    prefs = preferences_pb2.Preferences(
        recipient_id=recipient,
        channels=[
            preferences_pb2.CategoryChannels(category=category, channels=value.split(","))
            for category, value in _pairs(channels, "--channels").items()
        ],
        digest_priorities=digest or [],
        digest_every_seconds=digest_every,
    )
    for category, value in _pairs(cap, "--cap").items():
        count, _, seconds = value.partition("/")
        prefs.caps.append(
            preferences_pb2.Cap(category=category, max_count=int(count), per_seconds=int(seconds or 3600))
        )
    if quiet:
        start, _, end = quiet.partition("-")
        prefs.quiet_hours.CopyFrom(preferences_pb2.QuietHours(start=start, end=end, time_zone=time_zone))
    request = preferences_pb2.PutPreferencesRequest(
        idempotency_key=idempotency_key or new_id(), preferences=prefs, expected_version=version
    )
    reply = _call(_prefs_stub().PutPreferences, request, token)
    _print(reply, as_json, _prefs_summary(reply.preferences))


@recipient_app.command("put")
def recipient_put(
    recipient_id: str,
    name: Annotated[str, typer.Option()] = "",
    email: Annotated[str, typer.Option()] = "",
    phone: Annotated[str, typer.Option(help="E.164.")] = "",
    chat_url: Annotated[str, typer.Option(help="Apprise URL of their chat.")] = "",
    webhook_url: Annotated[str, typer.Option()] = "",
    locale: Annotated[str, typer.Option()] = "en",
    time_zone: Annotated[str, typer.Option()] = "UTC",
    supervises: Annotated[list[str] | None, typer.Option(help="Team whose SLA events they get; repeat.")] = None,
    version: Annotated[int, typer.Option(help="The version read (0 to create).")] = 0,
    idempotency_key: KeyOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add or replace a staff recipient's contact data."""
    request = preferences_pb2.PutRecipientRequest(
        idempotency_key=idempotency_key or new_id(),
        recipient=preferences_pb2.Recipient(
            recipient_id=recipient_id,
            name=name,
            email=email,
            phone=phone,
            chat_url=chat_url,
            webhook_url=webhook_url,
            locale=locale,
            time_zone=time_zone,
            supervises=supervises or [],
        ),
        expected_version=version,
    )
    reply = _call(_prefs_stub().PutRecipient, request, token)
    r = reply.recipient
    _print(reply, as_json, f"{r.recipient_id}  {r.name}  {r.email or '-'}  {r.phone or '-'}  (version {r.version})")


def _templates_stub() -> templates_pb2_grpc.TemplateServiceStub:
    return templates_pb2_grpc.TemplateServiceStub(client.channel(_target("notifications")))


@template_app.command("put")
def template_put(
    key: Annotated[str, typer.Argument(help="Event type (ticket.resolved) or a key of your own.")],
    locale: Annotated[str, typer.Argument(help="en, zh, zh-CN, ...")],
    body_file: Annotated[Path, typer.Option("--body-file", help="Jinja2 body.", exists=True, dir_okay=False)],
    subject: Annotated[str, typer.Option(help="Jinja2 subject.")] = "",
    version: Annotated[int, typer.Option(help="The version read (0 to create).")] = 0,
    idempotency_key: KeyOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a template; one using a variable its event does not carry is refused now, naming it."""
    request = templates_pb2.PutTemplateRequest(
        idempotency_key=idempotency_key or new_id(),
        template=templates_pb2.Template(key=key, locale=locale, subject=subject, body=body_file.read_text()),
        expected_version=version,
    )
    reply = _call(_templates_stub().PutTemplate, request, token)
    _print(reply, as_json, f"{reply.template.key}/{reply.template.locale} version {reply.template.version}")


@template_app.command("list")
def template_list(
    key: Annotated[str, typer.Option(help="Only this key.")] = "",
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stored templates, with the variables each key may use."""
    reply = _call(_templates_stub().ListTemplates, templates_pb2.ListTemplatesRequest(key=key), token)
    lines = [f"{t.key}/{t.locale} v{t.version}: {t.subject}" for t in reply.templates]
    lines += [f"{k} may use: {', '.join(v.names)}" for k, v in sorted(reply.variables.items())] if key else []
    _print(reply, as_json, "\n".join(lines) or "(none)")
