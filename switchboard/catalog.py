"""Every event type the suite knows, with its payload message and the source that emits it.

Event types are ``<noun>.<past-tense-verb>``. The source names the exchange (``<source>.events``)
that carries the event; ``integration`` is the source of every other system's events.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from switchboard.events.v1 import integration_events_pb2, routing_events_pb2, ticketing_events_pb2


@dataclass(frozen=True)
class EventType:
    name: str
    source: str
    payload: type[Message]
    schema_version: int = 1


EVENT_TYPES: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType("ticket.created", "ticketing", ticketing_events_pb2.TicketCreated),
        EventType("task.created", "routing", routing_events_pb2.TaskCreated),
        EventType("device.fault_reported", "integration", integration_events_pb2.DeviceFaultReported),
    )
}

_BY_PAYLOAD: dict[str, EventType] = {e.payload.DESCRIPTOR.full_name: e for e in EVENT_TYPES.values()}


def event_type_of(payload: Message) -> EventType:
    try:
        return _BY_PAYLOAD[payload.DESCRIPTOR.full_name]
    except KeyError:
        raise KeyError(f"{payload.DESCRIPTOR.full_name} is not an event in switchboard.catalog") from None
