"""The event envelope: sealed and sent as JSON, accepted as JSON or binary protobuf, refused with a reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchboard import envelope
from switchboard.errors import MalformedEvent
from switchboard.events.v1.envelope_pb2 import Envelope
from switchboard.events.v1.integration_events_pb2 import DeviceFaultReported
from switchboard.ticketing.v1 import ticketing_pb2
from tests.unit.builders import OCCURRED_AT, device_fault, sealed, ticket_created


def _json_of(env: Envelope) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(envelope.to_json(env))
    return body


def _reason(body: bytes, content_type: str | None = envelope.JSON) -> str:
    with pytest.raises(MalformedEvent) as refused:
        envelope.decode(body, content_type)
    return refused.value.reason


def test_seal_stamps_the_type_source_and_schema_version_from_the_catalog() -> None:
    env = envelope.seal(device_fault(), correlation_id="corr-7f3a", customer_id="C-1001", occurred_at=OCCURRED_AT)

    assert env.type == "device.fault_reported"
    assert env.source == "integration"
    assert env.schema_version == 1
    assert env.correlation_id == "corr-7f3a"
    assert env.customer_id == "C-1001"
    assert env.occurred_at.ToDatetime(tzinfo=OCCURRED_AT.tzinfo) == OCCURRED_AT
    assert env.event_id


def test_seal_gives_every_event_its_own_id() -> None:
    first, second = sealed(device_fault()), sealed(device_fault())

    assert first.event_id != second.event_id


def test_seal_refuses_a_message_that_is_not_an_event_in_the_catalog() -> None:
    with pytest.raises(KeyError, match=r"switchboard.ticketing.v1.GetTicketRequest is not an event"):
        envelope.seal(ticketing_pb2.GetTicketRequest(number="T-000001"), correlation_id="corr-7f3a")


def test_json_round_trip_gives_back_the_envelope_and_the_typed_payload() -> None:
    fault = device_fault()
    env = sealed(fault)

    event = envelope.decode(envelope.to_json(env), envelope.JSON)

    assert event.envelope == env
    assert isinstance(event.payload, DeviceFaultReported)
    assert event.payload == fault
    assert event.event_id == env.event_id
    assert event.type == "device.fault_reported"


def test_binary_protobuf_round_trip_gives_back_the_envelope_and_the_typed_payload() -> None:
    created = ticket_created()
    env = sealed(created)

    event = envelope.decode(env.SerializeToString(), envelope.PROTOBUF)

    assert event.envelope == env
    assert event.payload == created


def test_to_json_writes_the_proto3_json_mapping_with_a_typed_payload() -> None:
    body = _json_of(sealed(device_fault()))

    assert body["type"] == "device.fault_reported"
    assert body["occurredAt"] == "2025-03-14T09:30:00Z"
    assert body["payload"]["@type"] == "type.googleapis.com/switchboard.events.v1.DeviceFaultReported"
    assert body["payload"]["faultCode"] == "E21"


@pytest.mark.parametrize("content_type", [None, "", "application/json; charset=utf-8"])
def test_a_missing_content_type_or_json_with_charset_is_read_as_json(content_type: str | None) -> None:
    event = envelope.decode(envelope.to_json(sealed(device_fault())), content_type)

    assert event.payload == device_fault()


def test_unknown_json_fields_are_ignored_in_the_envelope_and_in_the_payload() -> None:
    body = _json_of(sealed(device_fault()))
    body["priorityHint"] = "urgent"
    body["payload"]["firmwareVersion"] = "4.2.1"

    event = envelope.decode(json.dumps(body).encode(), envelope.JSON)

    assert event.payload == device_fault()


def test_garbage_json_bytes_are_malformed() -> None:
    assert _reason(b"\xff\xfe not json at all").startswith("not a valid event envelope")


@pytest.mark.parametrize("body", [b"null", b"42", b"[1, 2]", b'{"eventId": '])
def test_json_that_is_not_an_envelope_object_is_malformed(body: bytes) -> None:
    assert _reason(body).startswith("not a valid event envelope")


def test_garbage_protobuf_bytes_are_malformed() -> None:
    assert _reason(b"\x0a\xff\xff\xff garbage", envelope.PROTOBUF).startswith("not a valid event envelope")


def test_an_unsupported_content_type_is_malformed_and_the_reason_names_the_accepted_ones() -> None:
    reason = _reason(envelope.to_json(sealed(device_fault())), "text/xml")

    assert "unsupported content type 'text/xml'" in reason
    assert "application/json" in reason
    assert "application/x-protobuf" in reason


def test_an_unknown_event_type_is_malformed() -> None:
    body = _json_of(sealed(device_fault()))
    body["type"] = "ticket.exploded"

    assert _reason(json.dumps(body).encode()) == "unknown event type 'ticket.exploded'"


def test_a_payload_of_another_type_than_the_event_type_is_malformed() -> None:
    body = _json_of(sealed(device_fault()))
    body["type"] = "ticket.created"

    assert _reason(json.dumps(body).encode()) == (
        "payload of ticket.created must be switchboard.events.v1.TicketCreated, "
        "got 'switchboard.events.v1.DeviceFaultReported'"
    )


def test_a_payload_type_unknown_to_the_suite_is_malformed() -> None:
    body = _json_of(sealed(device_fault()))
    body["payload"]["@type"] = "type.googleapis.com/acme.erp.v1.InvoicePaid"

    assert "acme.erp.v1.InvoicePaid" in _reason(json.dumps(body).encode())


def test_an_envelope_with_an_empty_event_id_is_malformed_naming_event_id() -> None:
    env = sealed(device_fault())
    env.event_id = ""

    reason = _reason(env.SerializeToString(), envelope.PROTOBUF)

    assert reason.startswith("invalid envelope: event_id:")


def test_an_envelope_without_occurred_at_is_malformed_naming_occurred_at() -> None:
    body = _json_of(sealed(device_fault()))
    del body["occurredAt"]

    reason = _reason(json.dumps(body).encode())

    assert reason.startswith("invalid envelope:")
    assert "occurred_at: value is required" in reason


def test_an_envelope_without_a_payload_is_malformed_naming_payload() -> None:
    body = _json_of(sealed(device_fault()))
    del body["payload"]

    assert "payload: value is required" in _reason(json.dumps(body).encode())


def test_a_payload_breaking_its_rules_is_malformed_naming_the_field() -> None:
    env = sealed(device_fault(fault_code=""))

    reason = _reason(envelope.to_json(env))

    assert reason.startswith("invalid payload: fault_code:")
    assert "at least 1 characters" in reason


def test_a_binary_envelope_with_corrupt_payload_bytes_is_malformed() -> None:
    env = sealed(device_fault())
    env.payload.value = b"\xff\xff\xff"

    assert "DeviceFaultReported" in _reason(env.SerializeToString(), envelope.PROTOBUF)
