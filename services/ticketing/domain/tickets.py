"""What a ticket is when it is opened, and how a device fault becomes one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum

DEFAULT_PRIORITY = 3
# The limits CreateTicketRequest declares; tickets made from events and updates keep to them too.
SUBJECT_MAX = 200
DESCRIPTION_MAX = 20000
TAG_MAX = 64
_SKILL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_LANGUAGE = re.compile(r"^$|^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# A connected product that reports a fault is often down already: above the default.
DEVICE_FAULT_PRIORITY = 2
# Nothing is broken yet, but someone should call today.
ANOMALY_PRIORITY = 3
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


# How a request can arrive, and the value tiers customer360 announces (most valuable last); the
# protos define the same (a test keeps them equal), the domain may not import generated code.
CHANNELS = ("phone", "email", "chat", "web", "field", "system_event")
TIERS = ("standard", "silver", "gold", "platinum")

OPEN_STATUSES = frozenset(Status) - {Status.RESOLVED, Status.CLOSED, Status.CANCELLED}
PENDING_STATUSES = frozenset({Status.PENDING_CUSTOMER, Status.PENDING_PARTS})


class Activity(StrEnum):
    """Conversation on a ticket that SLA clocks react to."""

    AGENT_REPLY = "agent_reply"
    CUSTOMER_MESSAGE = "customer_message"


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
    category: str = ""
    team: str = ""
    custom_fields: Mapping[str, str] = field(default_factory=dict)
    watchers: tuple[str, ...] = ()
    parent_id: str = ""


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
    category: str = ""
    team: str = ""
    assignee: str = ""
    watchers: tuple[str, ...] = ()
    custom_fields: Mapping[str, str] = field(default_factory=dict)
    resolution_code: str = ""
    parent_id: str = ""
    merged_into: str = ""
    triage_rule: str = ""
    # "standard", "silver", "gold" or "platinum" as customer360 last said; "" before it said anything.
    customer_tier: str = ""
    # The worst state of its SLA clocks, kept by the SLA engine: none, ok, warning, breached, paused, met.
    sla_state: str = "none"
    updated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    first_response_at: datetime | None = None
    reopen_count: int = 0
    public_replies: int = 0

    @property
    def number(self) -> str:
        return number_for(self.seq)


def number_for(seq: int) -> str:
    """The number people read out on the phone: T-000123."""
    return f"T-{seq:06d}"


def seq_of(number: str) -> int | None:
    match = _NUMBER.match(number)
    return int(match.group(1)) if match else None


def open_ticket(new: NewTicket, *, ticket_id: str, now: datetime, customer_tier: str = "") -> Ticket:
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
        category=new.category,
        team=new.team,
        watchers=tuple(new.watchers),
        custom_fields=dict(new.custom_fields),
        parent_id=new.parent_id,
        customer_tier=customer_tier,
        updated_at=now,
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


def from_anomaly(
    *, customer_id: str, kind: str, reason: str, asset_id: str, account_owner: str, event_id: str
) -> NewTicket:
    """A proactive ticket: someone should call the customer whose behaviour suddenly changed."""
    return NewTicket(
        customer_id=customer_id,
        asset_id=asset_id,
        channel="system_event",
        subject=_fit(f"Unusual behaviour ({kind.replace('_', ' ')}): contact the customer", SUBJECT_MAX),
        description=reason,
        priority=ANOMALY_PRIORITY,
        tags=("proactive", _fit(f"anomaly:{kind}", TAG_MAX)),
        watchers=(account_owner,) if account_owner else (),
        created_by=f"event:{event_id}",
    )


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


# Fields that describe the record rather than the request: never audited as changes.
_BOOKKEEPING = frozenset({"seq", "version", "updated_at", "sla_state", "public_replies"})


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


def as_text(value: object) -> str:
    """A field's value as the history shows it: lists comma-separated, maps as k=v, times in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value)


def diff(before: Ticket, after: Ticket) -> list[FieldChange]:
    """What changed between two states of one ticket, field by field, in declaration order."""
    changes = []
    for f in fields(Ticket):
        if f.name in _BOOKKEEPING:
            continue
        old, new = getattr(before, f.name), getattr(after, f.name)
        if old != new:
            changes.append(FieldChange(f.name, as_text(old), as_text(new)))
    return changes


def update_violations(values: Mapping[str, object]) -> list[tuple[str, str]]:
    """What is wrong with the new values of an update, field by field (the same limits as creating)."""
    problems: list[tuple[str, str]] = []
    for name, value in values.items():
        problem = _problem(name, value)
        if problem:
            problems.append((name, problem))
    return problems


def _problem(name: str, value: object) -> str:
    if name == "subject" and not (isinstance(value, str) and 0 < len(value) <= SUBJECT_MAX):
        return f"must be 1 to {SUBJECT_MAX} characters"
    if name == "description" and not (isinstance(value, str) and len(value) <= DESCRIPTION_MAX):
        return f"must be at most {DESCRIPTION_MAX} characters"
    if name == "priority" and value not in (1, 2, 3, 4):
        return "must be P1 to P4"
    if name == "required_skills" and not (isinstance(value, tuple) and all(_SKILL.match(str(v)) for v in value)):
        return "skills are lower-case names like 'washing-machines'"
    if name == "language" and not (isinstance(value, str) and _LANGUAGE.match(value)):
        return "must be a BCP 47 tag such as 'en' or 'de-AT'"
    if name in ("tags", "watchers") and not (
        isinstance(value, tuple) and len(set(value)) == len(value) and all(0 < len(str(v)) <= 255 for v in value)
    ):
        return "must be distinct, non-empty values"
    if name in ("category", "asset_id") and not (isinstance(value, str) and len(value) <= 128):
        return "must be at most 128 characters"
    return ""
