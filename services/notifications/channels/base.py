"""What a channel adapter is: one message in, a receipt or a failure that says whether trying again can help.

The deliverer retries a :class:`TransientFailure` with backoff (and fails a critical message over to the next
channel at once); a :class:`PermanentFailure` is never retried on the same channel, so classifying precisely is
the whole job of an adapter. When in doubt an adapter says transient: a retry that fails again costs little, a
message dropped because one 503 looked final costs a customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class Message:
    notification_id: str  # stable across retries: adapters derive idempotency keys from it (Message-ID, ...)
    channel: str
    address: str  # email address, E.164 phone number, chat handle or URL, webhook URL
    subject: str
    body: str
    locale: str


@dataclass(frozen=True)
class Receipt:
    status: Literal["sent", "delivered"]
    provider_ref: str = ""  # the provider's id for the message (the email's Message-ID, ...)
    detail: str = ""


class DeliveryFailure(Exception):
    """Base of both failures; ``detail`` is the sentence stored as the notification's reason."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class TransientFailure(DeliveryFailure):
    """Try again later: connection refused, timeout, SMTP 4xx, HTTP 5xx/408/429."""


class PermanentFailure(DeliveryFailure):
    """Never retry on this channel: SMTP 5xx, an invalid address, HTTP 4xx, a channel that is not configured."""


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> Receipt: ...
