"""What a ticket is when it is opened, and how a device fault becomes one."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

DEFAULT_PRIORITY = 3
# The limits CreateTicketRequest declares; tickets made from events keep to them too.
SUBJECT_MAX = 200
TAG_MAX = 64
# A connected product that reports a fault is often down already: above the default.
DEVICE_FAULT_PRIORITY = 2
# At most 18 digits: every such number fits the BIGINT it is stored as.
_NUMBER = re.compile(r"^T-(\d{6,18})$")


class Status(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    PENDING_CUSTOMER = "pending_customer"
    PENDING_PARTS = "pending_parts"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class NewTicket:
    customer_id: str
    channel: str
    subject: str
    created_by: str
    asset_id: str = ""
    description: str = ""
    priority: int | None = None
    required_skills: tuple[str, ...] = ()
    language: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    seq: int
    customer_id: str
    asset_id: str
    channel: str
    subject: str
    description: str
    priority: int
    required_skills: tuple[str, ...]
    language: str
    tags: tuple[str, ...]
    status: Status
    created_by: str
    created_at: datetime
    version: int

    @property
    def number(self) -> str:
        return number_for(self.seq)


def number_for(seq: int) -> str:
    """The number people read out on the phone: T-000123."""
    return f"T-{seq:06d}"


def seq_of(number: str) -> int | None:
    match = _NUMBER.match(number)
    return int(match.group(1)) if match else None


def open_ticket(new: NewTicket, *, ticket_id: str, now: datetime) -> Ticket:
    """A new ticket before it has its number (seq 0 until stored)."""
    return Ticket(
        ticket_id=ticket_id,
        seq=0,
        customer_id=new.customer_id,
        asset_id=new.asset_id,
        channel=new.channel,
        subject=new.subject,
        description=new.description,
        priority=new.priority or DEFAULT_PRIORITY,
        required_skills=tuple(new.required_skills),
        language=new.language,
        tags=tuple(new.tags),
        status=Status.NEW,
        created_by=new.created_by,
        created_at=now,
        version=1,
    )


def numbered(ticket: Ticket, seq: int) -> Ticket:
    return replace(ticket, seq=seq)


def from_device_fault(
    *, asset_id: str, customer_id: str, fault_code: str, description: str, event_id: str
) -> NewTicket:
    return NewTicket(
        customer_id=customer_id,
        asset_id=asset_id,
        channel="system_event",
        subject=_fit(f"Fault {fault_code} reported by {asset_id}", SUBJECT_MAX),
        description=description,
        priority=DEVICE_FAULT_PRIORITY,
        tags=("device-fault", _fit(f"fault-code:{fault_code}", TAG_MAX)),
        created_by=f"event:{event_id}",
    )


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
