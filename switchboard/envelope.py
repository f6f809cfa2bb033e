"""The event envelope on the wire: JSON mapping out, JSON or binary protobuf in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf import any_pb2, json_format
from google.protobuf.message import DecodeError, Message

from switchboard import validation
from switchboard.catalog import EVENT_TYPES, EventType, event_type_of
from switchboard.errors import MalformedEvent
from switchboard.events.v1.envelope_pb2 import Envelope
from switchboard.ids import new_id

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
_TYPE_URL_PREFIX = "type.googleapis.com/"


@dataclass(frozen=True)
class Event:
    """A decoded, validated event: its envelope and its typed payload."""

    envelope: Envelope
    payload: Message

    @property
    def event_id(self) -> str:
        return self.envelope.event_id

    @property
    def type(self) -> str:
        return self.envelope.type


def seal(
    payload: Message,
    *,
    correlation_id: str,
    causation_id: str = "",
    customer_id: str = "",
    occurred_at: datetime | None = None,
    event_id: str | None = None,
) -> Envelope:
    kind = event_type_of(payload)
    envelope = Envelope(
        event_id=event_id or new_id(),
        type=kind.name,
        source=kind.source,
        customer_id=customer_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        schema_version=kind.schema_version,
    )
    envelope.occurred_at.FromDatetime(occurred_at or datetime.now(UTC))
    envelope.payload.Pack(payload, type_url_prefix=_TYPE_URL_PREFIX)
    return envelope


def to_json(envelope: Envelope) -> bytes:
    return json.dumps(json_format.MessageToDict(envelope), separators=(",", ":")).encode()


def decode(body: bytes, content_type: str | None) -> Event:
    """Parse, validate and unpack an envelope, or raise MalformedEvent saying why."""
    envelope = Envelope()
    media_type = (content_type or "").split(";")[0].strip().lower()
    try:
        if media_type in ("", JSON):
            json_format.Parse(body, envelope, ignore_unknown_fields=True)
        elif media_type == PROTOBUF:
            envelope.ParseFromString(body)
        else:
            raise MalformedEvent(f"unsupported content type {content_type!r}; send {JSON} or {PROTOBUF}")
    except (json_format.ParseError, DecodeError, UnicodeDecodeError, ValueError) as exc:
        raise MalformedEvent(f"not a valid event envelope: {exc}") from exc
    found = validation.violations(envelope)
    if found:
        raise MalformedEvent("invalid envelope: " + "; ".join(f"{v.field}: {v.description}" for v in found))
    kind = EVENT_TYPES.get(envelope.type)
    if kind is None:
        raise MalformedEvent(f"unknown event type {envelope.type!r}")
    return Event(envelope=envelope, payload=_unpack(envelope.payload, kind))


def _unpack(packed: any_pb2.Any, kind: EventType) -> Message:
    payload = kind.payload()
    if packed.TypeName() != payload.DESCRIPTOR.full_name:
        raise MalformedEvent(
            f"payload of {kind.name} must be {payload.DESCRIPTOR.full_name}, got {packed.TypeName()!r}"
        )
    try:
        packed.Unpack(payload)
    except DecodeError as exc:
        raise MalformedEvent(f"payload of {kind.name} is not a valid {payload.DESCRIPTOR.full_name}: {exc}") from exc
    found = validation.violations(payload)
    if found:
        raise MalformedEvent("invalid payload: " + "; ".join(f"{v.field}: {v.description}" for v in found))
    return payload
