"""Recipients: staff put through the API, customers copied from customer360, and how each is reached.

A customer is reached on a channel only with their consent for it; a channel without an address
reaches nobody. Either way the reason is kept, so a missing message is explained, not silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RecipientKind = Literal["staff", "customer"]
# Customers' consents by channel (customer.profile_changed's ContactConsents).
CONSENT_OF = {"email": "email", "sms": "sms", "chat": "chat"}
# Where a critical message goes when its channel fails and the recipient names no other for the category.
FAILOVER_ORDER = ("sms", "email", "chat", "webhook", "console")


@dataclass(frozen=True)
class Recipient:
    recipient_id: str
    kind: RecipientKind = "staff"
    name: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    chat_url: str = ""
    webhook_url: str = ""
    locale: str = "en"
    time_zone: str = "UTC"
    # Teams whose SLA events this recipient gets as a supervisor.
    supervises: frozenset[str] = frozenset()
    # Customers only: the channels they agreed to.
    consents: frozenset[str] = frozenset()
    account_owner: str = ""
    # A customer merged into another: that profile speaks for this one.
    merged_into: str = ""
    version: int = 0


@dataclass(frozen=True)
class Reach:
    """The address a channel reaches a recipient at, or why it cannot."""

    address: str = ""
    refusal: str = ""


def reach(recipient: Recipient, channel: str) -> Reach:
    customer = recipient.kind == "customer"
    if customer and channel in CONSENT_OF and CONSENT_OF[channel] not in recipient.consents:
        return Reach(refusal=f"no consent to contact by {channel}")
    if channel == "console":
        if customer:
            return Reach(refusal="customers have no console")
        return Reach(address=recipient.recipient_id)
    address = {
        "email": recipient.emails[0] if recipient.emails else "",
        "sms": recipient.phones[0] if recipient.phones else "",
        "chat": recipient.chat_url,
        "webhook": recipient.webhook_url,
    }.get(channel, "")
    if not address:
        return Reach(refusal=f"no {channel} address on file")
    return Reach(address=address)


def failover_order(preferred: tuple[str, ...]) -> tuple[str, ...]:
    """The channels to fall back on, in order: the recipient's own for the category, then the rest."""
    return preferred + tuple(c for c in FAILOVER_ORDER if c not in preferred)
