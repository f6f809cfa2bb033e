"""Which events notify whom: rules, the defaults the issue asks for, and who a payload names.

A rule ties an event type to audiences (fields of the payload that name a worker, a team or the
customer), a preference category, a priority, default channels and a template. Rules are data: the
defaults below are seeded by the migration and changed through the API (PutRule). Payloads arrive
here as plain mappings (the event's fields by their proto names), so this module knows no protobuf.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from services.notifications.domain.priorities import PRIORITIES

CHANNELS = ("console", "email", "sms", "chat", "webhook")
# Payload field -> who it names. "customer" and "team_supervisors" are looked up, the others are worker ids.
AUDIENCES = ("worker_id", "technician_id", "assignee", "team_supervisors", "account_owner", "customer")
TargetKind = Literal["staff", "customer", "team"]


@dataclass(frozen=True)
class Target:
    """Someone a rule names: a worker, a customer, or a team whose supervisors hear about it."""

    kind: TargetKind
    key: str


@dataclass(frozen=True)
class Rule:
    rule_id: str
    event_type: str
    audiences: tuple[str, ...]
    category: str
    priority: str
    channels: tuple[str, ...]
    template_key: str = ""
    enabled: bool = True
    # Payload field -> the values it must have for the rule to apply (empty: always).
    when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    version: int = 0

    @property
    def template(self) -> str:
        return self.template_key or self.event_type


def problems(rule: Rule, consumed: Sequence[str]) -> list[tuple[str, str]]:
    """What is wrong with a rule, as (field, description) pairs; empty when it can be stored."""
    found: list[tuple[str, str]] = []
    if rule.event_type not in consumed:
        found.append(
            ("rule.event_type", f"notifications does not consume {rule.event_type}; it consumes {sorted(consumed)}")
        )
    unknown = [a for a in rule.audiences if a not in AUDIENCES]
    if unknown or not rule.audiences:
        found.append(("rule.audiences", f"one or more of {list(AUDIENCES)}, got {list(rule.audiences)}"))
    if rule.priority not in PRIORITIES:
        found.append(("rule.priority", f"one of {list(PRIORITIES)}, got {rule.priority!r}"))
    bad = [c for c in rule.channels if c not in CHANNELS]
    if bad or not rule.channels:
        found.append(("rule.channels", f"one or more of {list(CHANNELS)}, got {list(rule.channels)}"))
    return found


def matches(rule: Rule, payload: Mapping[str, Any]) -> bool:
    """Whether the rule applies to this payload: enabled, and every ``when`` field has an allowed value."""
    if not rule.enabled:
        return False
    return all(str(payload.get(name, "")) in allowed for name, allowed in rule.when.items())


def targets(rule: Rule, payload: Mapping[str, Any]) -> list[Target]:
    """Who the rule names in this payload, in the rule's order, each once; fields left empty name nobody."""
    found: list[Target] = []
    for audience in rule.audiences:
        if audience == "customer":
            target = Target("customer", str(payload.get("customer_id", "")))
        elif audience == "team_supervisors":
            target = Target("team", str(payload.get("team", "")))
        else:
            target = Target("staff", str(payload.get(audience, "")))
        if target.key and target not in found:
            found.append(target)
    return found


def _rule(rule_id: str, event_type: str, audiences: tuple[str, ...], category: str, priority: str,
          channels: tuple[str, ...], **more: Any) -> Rule:  # fmt: skip
    return Rule(rule_id, event_type, audiences, category, priority, channels, **more)


# The triggers. A customer's channels honour their consents; staff see the console first.
DEFAULT_RULES: tuple[Rule, ...] = (
    # An agent is offered a task: the console's live feed, at once, through quiet hours.
    _rule("offer-to-worker", "offer.created", ("worker_id",), "offers", "critical", ("console",)),
    # A technician is dispatched: the technician, and the customer by SMS with the time window.
    _rule(
        "dispatch-to-technician", "work_order.scheduled", ("technician_id",), "dispatch", "high", ("console", "email")
    ),
    _rule(
        "visit-to-customer",
        "work_order.scheduled",
        ("customer",),
        "visits",
        "normal",
        ("sms", "email"),
        template_key="work_order.scheduled:customer",
    ),
    # SLA: the assignee and the team's supervisors; a breach is critical (fails over, ignores quiet hours).
    _rule("sla-warning", "ticket.sla_warning", ("assignee", "team_supervisors"), "sla", "high", ("console", "email")),
    _rule(
        "sla-breach", "ticket.sla_breached", ("assignee", "team_supervisors"), "sla", "critical", ("console", "email")
    ),
    # Unusual behaviour: the customer's account owner.
    _rule(
        "anomaly-to-owner", "customer.anomaly_detected", ("account_owner",), "customers", "high", ("console", "email")
    ),
    # A ticket resolved: a satisfaction survey to the customer (normal: it should not wait for a digest).
    _rule("survey-to-customer", "ticket.resolved", ("customer",), "surveys", "normal", ("email", "sms")),
    # A work order's progress: the customer, for the moves they care about.
    _rule(
        "progress-to-customer",
        "work_order.status_changed",
        ("customer",),
        "visits",
        "normal",
        ("sms", "email"),
        when={"to_status": ("en_route", "on_site", "completed", "needs_revisit", "cancelled")},
    ),
)

# The event types notifications subscribes to for rules (a rule for any other type would never fire).
TRIGGER_TYPES: tuple[str, ...] = (
    "offer.created",
    "work_order.scheduled",
    "work_order.status_changed",
    "ticket.sla_warning",
    "ticket.sla_breached",
    "ticket.resolved",
    "customer.anomaly_detected",
)
