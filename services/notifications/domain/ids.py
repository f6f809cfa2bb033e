"""Notification ids: the same triggering event, recipient and channel always give the same id.

That is the send ledger's key: a redelivered or replayed event maps to notifications that already
exist, and inserting them again does nothing, so nothing is sent twice. Unlike a provider-side
idempotency key, it never expires.
"""

from __future__ import annotations

import uuid

# Fixed forever: changing it would let every past event send again.
NAMESPACE = uuid.UUID("6f1c7d0e-4b7a-5c53-9a51-3c1e0b6a2f44")


def notification_id(trigger_event_id: str, recipient_id: str, channel: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{trigger_event_id}|{recipient_id}|{channel}"))
