"""Channel adapters (I/O): email over SMTP; SMS, chat apps and webhooks through Apprise.

``build_channels`` wires them from configuration; the console channel is the service's own (a feed row), so
it is not here.
"""

from __future__ import annotations

from typing import Any

from services.notifications.channels.apprise_channel import ADDRESS, AppriseChannel
from services.notifications.channels.base import (
    Channel,
    DeliveryFailure,
    Message,
    PermanentFailure,
    Receipt,
    TransientFailure,
)
from services.notifications.channels.smtp import SmtpChannel

__all__ = [
    "AppriseChannel",
    "Channel",
    "DeliveryFailure",
    "Message",
    "PermanentFailure",
    "Receipt",
    "SmtpChannel",
    "TransientFailure",
    "build_channels",
]

_DEFAULTS: dict[str, Any] = {
    "smtp_host": "127.0.0.1",
    "smtp_port": 25,
    "smtp_sender": "Switchboard <noreply@switchboard.invalid>",
    "smtp_starttls": False,
    "smtp_implicit_tls": False,
    "smtp_username": None,
    "smtp_password": None,
    "smtp_timeout": 10.0,
    "sms_url_template": "",
    "chat_url_template": ADDRESS,
    "webhook_url_template": ADDRESS,
    "webhook_timeout": 10.0,
}


def build_channels(config: object | None = None, **settings: Any) -> dict[str, Channel]:
    """``{"email", "sms", "chat", "webhook"}`` from a config-like object (NotificationsConfig: ``smtp_host``,
    ``smtp_port``, ``smtp_sender``, ``smtp_starttls``, ``smtp_username``, ``smtp_password`` (str or SecretStr),
    ``smtp_timeout``, ``sms_url_template``, ``chat_url_template``, ``webhook_timeout``) and/or the same names as
    keywords, which win. A bad URL template raises ValueError here, at start-up, not at the first send."""
    unknown = sorted(set(settings) - set(_DEFAULTS))
    if unknown:
        raise TypeError(f"build_channels: unknown settings {', '.join(unknown)}")

    def value(name: str) -> Any:
        if name in settings:
            found = settings[name]
        else:
            found = getattr(config, name, _DEFAULTS[name]) if config is not None else _DEFAULTS[name]
        reveal = getattr(found, "get_secret_value", None)  # pydantic SecretStr
        return reveal() if callable(reveal) else found

    email = SmtpChannel(
        value("smtp_host"),
        int(value("smtp_port")),
        value("smtp_sender"),
        starttls=bool(value("smtp_starttls")),
        implicit_tls=bool(value("smtp_implicit_tls")),
        username=value("smtp_username") or None,
        password=value("smtp_password") or None,
        timeout=float(value("smtp_timeout")),
    )
    timeout = float(value("webhook_timeout"))
    return {
        "email": email,
        "sms": AppriseChannel("sms", value("sms_url_template"), timeout=timeout),
        "chat": AppriseChannel("chat", value("chat_url_template"), timeout=timeout),
        "webhook": AppriseChannel("webhook", value("webhook_url_template"), timeout=timeout),
    }
