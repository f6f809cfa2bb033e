"""A partner system written with nameko, as Switchboard's interoperability test runs it.

It runs in its own process and its own virtualenv (.venv-nameko, built from requirements.txt beside
this file), never in the product's: eventlet monkey-patches whatever process it runs in.

    NAMEKO_INTEROP_RECORD=/tmp/record.jsonl .venv-nameko/bin/nameko run --config nameko.yaml service

(run in this folder; nameko.yaml holds ``AMQP_URI: amqp://guest:guest@127.0.0.1:5672/<vhost>``).

The service is called ``integration`` because nameko's EventDispatcher publishes to
``<service name>.events`` and Switchboard takes other systems' events from ``integration.events``.
Its handler is a plain ``@event_handler`` and gets the Switchboard envelope's JSON mapping as a
dict. On every ``ticket.created`` it appends JSON lines to the file named by NAMEKO_INTEROP_RECORD:
``{"received": <envelope>}``, then ``{"dispatched": <envelope>}`` if it dispatched one. For a ticket
opened by a person it reports a ``device.fault_reported`` for the ticket's asset and customer, which
ticketing applies by opening a second ticket; for a ticket opened from a system event (such as that
second ticket) it reports nothing, so the two services do not feed each other forever.
"""

import eventlet

eventlet.monkey_patch()  # nameko 2.14.1 on Python 3.11+: patch before anything else is imported

import json
import os
import uuid
from datetime import UTC, datetime

from nameko.events import EventDispatcher, event_handler

FAULT_CODE = "E21"
_TYPE_URL_PREFIX = "type.googleapis.com/"
SYSTEM_EVENT_CHANNEL = "CHANNEL_SYSTEM_EVENT"


def rfc3339_now():
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fault_for(received):
    """The Switchboard envelope (JSON mapping) of the fault this partner reports for a ticket."""
    ticket = received.get("payload") or {}
    customer_id = ticket.get("customerId") or received.get("customerId", "")
    asset_id = ticket.get("assetId") or "unknown-asset"
    return {
        "eventId": str(uuid.uuid4()),
        "type": "device.fault_reported",
        "source": "integration",
        "occurredAt": rfc3339_now(),
        "customerId": customer_id,
        "correlationId": received.get("correlationId", ""),
        "causationId": received.get("eventId", ""),
        "schemaVersion": 1,
        "payload": {
            "@type": _TYPE_URL_PREFIX + "switchboard.events.v1.DeviceFaultReported",
            "assetId": asset_id,
            "customerId": customer_id,
            "faultCode": FAULT_CODE,
            "description": f"Reported by the nameko partner for ticket {ticket.get('number', '?')}",
            "detectedAt": rfc3339_now(),
        },
    }


def record(entry):
    """Append one JSON line in a single write, so a reader never sees half of it."""
    path = os.environ.get("NAMEKO_INTEROP_RECORD")
    if not path:
        return
    line = (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


class PartnerDeviceHub:
    name = "integration"

    dispatch = EventDispatcher()

    @event_handler("ticketing", "ticket.created")
    def report_fault_for_ticket(self, envelope):
        record({"received": envelope})
        if (envelope.get("payload") or {}).get("channel") == SYSTEM_EVENT_CHANNEL:
            return
        fault = fault_for(envelope)
        self.dispatch("device.fault_reported", fault)
        record({"dispatched": fault})
