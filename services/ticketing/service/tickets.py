"""Ticketing's ticket use cases. Each runs inside a unit of work its caller commits, so the change,
its audit entries and its events land together; the gRPC API and the event subscriptions call
the same functions.

Every change goes through ``save``: it diffs the ticket, records one history row per changed
field, writes the row only if nobody changed it since it was read (compare-and-set on version),
emits the events the change means, and lets the SLA engine react, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from google.protobuf.message import Message

from services.ticketing.domain import lifecycle, tickets
from services.ticketing.domain.lifecycle import THE_DESK, Actor
from services.ticketing.domain.tickets import OPEN_STATUSES, Activity, FieldChange, NewTicket, Status, Ticket

# work_orders imports this module too; both use each other only inside functions, so the cycle is harmless.
from services.ticketing.service import sla, triage, work_orders
from services.ticketing.store.conversation import Comment, ConversationStore, ServiceRecord
from services.ticketing.store.customers import CustomerStore
from services.ticketing.store.history import HistoryEntry, HistoryStore
from services.ticketing.store.tickets import QueueCount, TicketFilter, TicketStore
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.enums import channel_value, tier_name, tier_value
from switchboard.envelope import Event
from switchboard.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from switchboard.events.v1 import ticketing_events_pb2 as events
from switchboard.events.v1.customer_events_pb2 import CustomerAnomalyDetected, CustomerTierChanged
from switchboard.events.v1.integration_events_pb2 import DeviceFaultReported
from switchboard.events.v1.routing_events_pb2 import OfferAccepted
from switchboard.ids import new_id
from switchboard.timestamps import timestamp

# What UpdateTicket may change; the rest moves through its own use case (status, team, links).
UPDATABLE = frozenset(
    {
        "subject",
        "description",
        "category",
        "priority",
        "required_skills",
        "language",
        "tags",
        "custom_fields",
        "watchers",
        "asset_id",
    }
)
_SUPERVISING = frozenset({lifecycle.SUPERVISOR, lifecycle.SYSTEM})
_FINAL = frozenset({Status.CLOSED, Status.CANCELLED})
_TIER_BATCH = 500

log = structlog.get_logger("ticketing.tickets")


def proto_fields(ticket: Ticket) -> dict[str, Any]:
    """The fields a ticket's event payloads and its API message share, in their protobuf form."""
    return {
        "ticket_id": ticket.ticket_id,
        "number": ticket.number,
        "customer_id": ticket.customer_id,
        "asset_id": ticket.asset_id,
        "channel": channel_value(ticket.channel),
        "subject": ticket.subject,
        "priority": ticket.priority,
        "required_skills": ticket.required_skills,
        "language": ticket.language,
        "tags": ticket.tags,
        "created_at": timestamp(ticket.created_at),
        "created_by": ticket.created_by,
        "category": ticket.category,
        "team": ticket.team,
        "customer_tier": tier_value(ticket.customer_tier),
        "triage_rule": ticket.triage_rule,
    }


def load(uow: UnitOfWork, ticket_id: str, *, for_update: bool = False) -> Ticket:
    found = TicketStore(uow.session).get(ticket_id, for_update=for_update)
    if found is None:
        raise NotFound("ticket", ticket_id)
    return found


def get_ticket(uow: UnitOfWork, *, ticket_id: str = "", number: str = "") -> Ticket:
    store = TicketStore(uow.session)
    found = store.get(ticket_id) if ticket_id else store.get_by_number(number)
    if found is None:
        raise NotFound("ticket", ticket_id or number)
    return found


class ErasedCustomer(FailedPrecondition):
    """customer360 erased the customer at their request: no new ticket may name them."""

    def __init__(self, customer_id: str, erased_at: datetime) -> None:
        super().__init__(
            f"customer {customer_id} was erased on {erased_at:%Y-%m-%d} at their request; "
            "a new ticket needs a new customer record"
        )


def create_ticket(uow: UnitOfWork, new: NewTicket) -> Ticket:
    """Open a ticket, classified by the desk's triage rules, with its SLA clocks started."""
    now = utcnow()
    standing = CustomerStore(uow.session).standing(new.customer_id)
    if standing.erased_at:
        raise ErasedCustomer(new.customer_id, standing.erased_at)
    tier = standing.tier
    if new.parent_id:
        _open_parent(uow, new.parent_id)
    classified, rule = triage.classify(uow, new, tier=tier)
    ticket = tickets.open_ticket(classified, ticket_id=new_id(), now=now, customer_tier=tier)
    if rule:
        ticket = replace(ticket, triage_rule=rule, status=Status.TRIAGED)
    ticket = TicketStore(uow.session).add(ticket)
    uow.emit(events.TicketCreated(**proto_fields(ticket)), customer_id=ticket.customer_id)
    return _tracked(uow, None, ticket, activity=None, at=now)


def open_ticket_from_fault(uow: UnitOfWork, event: Event) -> None:
    """A connected product reported a fault: open a ticket for its owner (once per event, by the inbox)."""
    fault = event.payload
    assert isinstance(fault, DeviceFaultReported)
    _open_for_event(
        uow,
        event,
        tickets.from_device_fault(
            asset_id=fault.asset_id,
            customer_id=fault.customer_id,
            fault_code=fault.fault_code,
            description=fault.description,
            event_id=event.event_id,
        ),
    )


def open_ticket_for_anomaly(uow: UnitOfWork, event: Event) -> None:
    """customer360 saw a customer's behaviour change and asks for a proactive ticket (when it is configured to)."""
    anomaly = event.payload
    assert isinstance(anomaly, CustomerAnomalyDetected)
    if not anomaly.open_ticket:
        return
    _open_for_event(
        uow,
        event,
        tickets.from_anomaly(
            customer_id=anomaly.customer_id,
            kind=anomaly.kind,
            reason=anomaly.reason,
            asset_id=anomaly.asset_id,
            account_owner=anomaly.account_owner,
            event_id=event.event_id,
        ),
    )


def _open_for_event(uow: UnitOfWork, event: Event, new: NewTicket) -> None:
    # A replayed or re-imported event about an erased customer must not bring them back; it is not an error.
    try:
        create_ticket(uow, new)
    except ErasedCustomer:
        log.info("ticket.skipped_erased_customer", customer_id=new.customer_id, event_id=event.event_id)


def save(
    uow: UnitOfWork,
    before: Ticket,
    after: Ticket,
    *,
    actor: Actor,
    reason: str = "",
    activity: Activity | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Store a change of one ticket with its history and events; ABORTED if the ticket moved on meanwhile.

    ``at`` is when the change happened, when the caller already stamped it (a comment's time), so the
    history, the conversation and the SLA clocks agree to the microsecond.
    """
    changes = tickets.diff(before, after)
    if not changes and activity is None and after == before:
        return before
    now = at or utcnow()
    stored = TicketStore(uow.session).update(
        before, replace(after, updated_at=now if changes else before.updated_at), new_version=bool(changes)
    )
    HistoryStore(uow.session).record(stored.ticket_id, stored.version, changes, actor=actor.id, reason=reason, at=now)
    _emit_change(uow, before, stored, changes, actor=actor, reason=reason, at=now)
    return _tracked(uow, before, stored, activity=activity, at=now)


def _tracked(
    uow: UnitOfWork, before: Ticket | None, after: Ticket, *, activity: Activity | None, at: datetime
) -> Ticket:
    """Let the SLA engine react to the change, and answer with the ticket as the engine left it."""
    return replace(after, sla_state=sla.track(uow, before, after, activity=activity, at=at))


def expect_version(ticket: Ticket, version: int | None) -> None:
    """Refuse a change made from a stale read before doing any work."""
    if version is not None and version != ticket.version:
        raise Aborted(f"ticket {ticket.number} is at version {ticket.version}, not {version}; read it again and retry")


def update_fields(
    uow: UnitOfWork, ticket_id: str, *, version: int, values: Mapping[str, Any], actor: Actor, reason: str = ""
) -> Ticket:
    unknown = sorted(set(values) - UPDATABLE)
    if unknown:
        raise InvalidArgument(
            [
                FieldViolation(
                    "update_mask", f"cannot update {', '.join(unknown)}; updatable: {', '.join(sorted(UPDATABLE))}"
                )
            ]
        )
    violations = tickets.update_violations(values)
    if violations:
        raise InvalidArgument([FieldViolation(f"ticket.{name}", problem) for name, problem in violations])
    ticket = load(uow, ticket_id)
    expect_version(ticket, version)
    if ticket.status in _FINAL:
        raise FailedPrecondition(f"ticket {ticket.number} is {ticket.status.value}; reopen it to change it")
    return save(uow, ticket, replace(ticket, **values), actor=actor, reason=reason)


def transition(
    uow: UnitOfWork,
    ticket_id: str,
    *,
    to: Status,
    actor: Actor,
    version: int | None = None,
    resolution_code: str = "",
    reason: str = "",
    reopen_window: timedelta = lifecycle.DEFAULT_REOPEN_WINDOW,
) -> Ticket:
    ticket = load(uow, ticket_id, for_update=version is None)
    expect_version(ticket, version)
    now = utcnow()
    store = TicketStore(uow.session)
    lifecycle.check(
        ticket,
        to,
        actor,
        resolution_code=resolution_code,
        reason=reason,
        now=now,
        reopen_window=reopen_window,
        open_children=store.open_children(ticket_id) if to is Status.CLOSED else 0,
    )
    after = lifecycle.moved(ticket, to, resolution_code=resolution_code, now=now)
    saved = save(uow, ticket, after, actor=actor, reason=reason)
    if to is Status.CANCELLED:
        # Nobody drives out for a cancelled request; the parts held for it go back on the shelf.
        work_orders.cancel_open_of_ticket(uow, ticket_id, reason=f"ticket {ticket.number} cancelled: {reason}")
    return saved


def assign(
    uow: UnitOfWork,
    ticket_id: str,
    *,
    team: str,
    assignee: str,
    actor: Actor,
    version: int | None = None,
    reason: str = "",
) -> Ticket:
    """Give a ticket to a team's queue and, optionally, a person in it.

    Moving a ticket that already has a team to another team is a supervisor's decision: it takes the
    work away from the people who own it.
    """
    ticket = load(uow, ticket_id, for_update=version is None)
    expect_version(ticket, version)
    if ticket.status in _FINAL or ticket.status is Status.RESOLVED:
        raise FailedPrecondition(f"ticket {ticket.number} is {ticket.status.value}; reopen it to reassign it")
    return _assigned(uow, ticket, team=team, assignee=assignee, actor=actor, reason=reason)


def _assigned(uow: UnitOfWork, ticket: Ticket, *, team: str, assignee: str, actor: Actor, reason: str) -> Ticket:
    team = team or ticket.team
    if ticket.team and team != ticket.team and not actor.may(_SUPERVISING):
        raise PermissionDenied(
            f"only a supervisor may move ticket {ticket.number} from team {ticket.team!r} to {team!r}"
        )
    status = ticket.status
    if assignee and status in (Status.NEW, Status.TRIAGED):
        status = Status.ASSIGNED
    elif not assignee and status is Status.ASSIGNED:
        status = Status.TRIAGED
    return save(uow, ticket, replace(ticket, team=team, assignee=assignee, status=status), actor=actor, reason=reason)


def assign_from_offer(uow: UnitOfWork, event: Event) -> None:
    """Routing found the person: whoever accepted the offer becomes the assignee."""
    offer = event.payload
    assert isinstance(offer, OfferAccepted)
    if not offer.ticket_id:
        return
    ticket = load(uow, offer.ticket_id, for_update=True)
    if ticket.status in _FINAL or ticket.status is Status.RESOLVED:
        # The work ended while the offer was out; the acceptance changes nothing.
        return
    _assigned(
        uow, ticket, team=offer.team, assignee=offer.assignee, actor=THE_DESK, reason=f"accepted offer {offer.offer_id}"
    )


def change_tier(uow: UnitOfWork, event: Event) -> None:
    """customer360 moved a customer to another tier: its open tickets follow (and so do their SLA policies)."""
    change = event.payload
    assert isinstance(change, CustomerTierChanged)
    tier = tier_name(change.tier)
    stamp = change.changed_at if change.HasField("changed_at") else event.envelope.occurred_at
    since = stamp.ToDatetime(tzinfo=UTC)
    if not CustomerStore(uow.session).set_tier(change.customer_id, tier, since=since):
        return
    store = TicketStore(uow.session)
    open_tickets = TicketFilter(customer_id=change.customer_id, open_only=True)
    after: tuple[int, int] | None = None
    # Page through them all: a business customer can have more open tickets than one page holds.
    while page := store.page(open_tickets, after=after, limit=_TIER_BATCH):
        for ticket in page:
            if ticket.customer_tier != tier:
                save(uow, ticket, replace(ticket, customer_tier=tier), actor=THE_DESK, reason="customer tier changed")
        after = (page[-1].priority, page[-1].seq)


def add_comment(
    uow: UnitOfWork, ticket_id: str, *, public: bool, body: str, from_customer: bool, actor: Actor
) -> tuple[Comment, Ticket]:
    """A reply, a note or the customer's message. A staff reply answers the customer (SLA response
    clocks stop); the customer's message restarts the conversation (pending_customer goes back to work)."""
    ticket = load(uow, ticket_id, for_update=True)
    public = public or from_customer
    if public and ticket.status in _FINAL:
        raise FailedPrecondition(f"ticket {ticket.number} is {ticket.status.value}; reopen it before replying")
    now = utcnow()
    comment = ConversationStore(uow.session).add_comment(
        Comment(
            comment_id=new_id(),
            ticket_id=ticket_id,
            visibility="public" if public else "internal",
            author=actor.id,
            from_customer=from_customer,
            body=body,
            created_at=now,
        )
    )
    after, activity = ticket, None
    if from_customer:
        activity = Activity.CUSTOMER_MESSAGE
        if ticket.status is Status.PENDING_CUSTOMER:
            after = lifecycle.moved(ticket, Status.IN_PROGRESS, now=now)
    elif public:
        activity = Activity.AGENT_REPLY
        after = replace(
            ticket, public_replies=ticket.public_replies + 1, first_response_at=ticket.first_response_at or now
        )
    if activity is not None:
        after = save(
            uow, ticket, after, actor=actor, reason="customer wrote" if from_customer else "", activity=activity, at=now
        )
    uow.emit(
        events.TicketCommented(
            ticket_id=ticket.ticket_id,
            number=ticket.number,
            customer_id=ticket.customer_id,
            comment_id=comment.comment_id,
            visibility=events.COMMENT_VISIBILITY_PUBLIC if public else events.COMMENT_VISIBILITY_INTERNAL,
            author=comment.author,
            from_customer=from_customer,
            body=body,
            created_at=timestamp(now),
            team=after.team,
            assignee=after.assignee,
            watchers=after.watchers,
        ),
        customer_id=ticket.customer_id,
    )
    return comment, after


def add_service_record(
    uow: UnitOfWork,
    ticket_id: str,
    *,
    description: str,
    minutes_spent: int,
    performed_at: datetime | None,
    actor: Actor,
) -> ServiceRecord:
    ticket = load(uow, ticket_id)
    now = utcnow()
    if performed_at is not None and performed_at > now + timedelta(minutes=5):
        raise InvalidArgument([FieldViolation("performed_at", "work cannot be recorded before it was done")])
    record = ConversationStore(uow.session).add_record(
        ServiceRecord(
            record_id=new_id(),
            ticket_id=ticket.ticket_id,
            description=description,
            performed_by=actor.id,
            minutes_spent=minutes_spent,
            performed_at=performed_at or now,
        )
    )
    # Customer-360 counts the time in what this customer costs to serve.
    uow.emit(
        events.TicketWorkLogged(
            ticket_id=ticket.ticket_id,
            number=ticket.number,
            customer_id=ticket.customer_id,
            record_id=record.record_id,
            performed_by=record.performed_by,
            minutes_spent=record.minutes_spent,
            performed_at=timestamp(record.performed_at),
            description=record.description,
        ),
        customer_id=ticket.customer_id,
    )
    return record


def merge(
    uow: UnitOfWork, source_id: str, target_id: str, *, source_version: int, actor: Actor, reason: str = ""
) -> tuple[Ticket, Ticket]:
    """Close a duplicate into the ticket that goes on: its conversation, watchers and children move over."""
    if source_id == target_id:
        raise InvalidArgument([FieldViolation("target_ticket_id", "a ticket cannot be merged into itself")])
    source, target = load(uow, source_id), load(uow, target_id, for_update=True)
    expect_version(source, source_version)
    for ticket, name in ((source, "source_ticket_id"), (target, "target_ticket_id")):
        if ticket.status not in OPEN_STATUSES:
            raise FailedPrecondition(
                f"ticket {ticket.number} ({name}) is {ticket.status.value}; only open tickets merge"
            )
    if source.customer_id != target.customer_id:
        raise FailedPrecondition(
            f"tickets {source.number} and {target.number} belong to different customers; they are not duplicates"
        )
    if not actor.may(frozenset({lifecycle.AGENT, lifecycle.SUPERVISOR, lifecycle.SYSTEM})):
        raise PermissionDenied("merging tickets needs the agent or supervisor role")
    why = reason or f"duplicate of {target.number}"
    store = TicketStore(uow.session)
    for child in store.children(source.ticket_id):
        save(
            uow, child, replace(child, parent_id=target.ticket_id), actor=actor, reason=f"parent {source.number} merged"
        )
    ConversationStore(uow.session).move_comments(source.ticket_id, target.ticket_id)
    work_orders.cancel_open_of_ticket(uow, source.ticket_id, reason=f"merged into {target.number}")
    now = utcnow()
    closed = save(
        uow,
        source,
        replace(source, status=Status.CLOSED, resolution_code="duplicate", merged_into=target.ticket_id, closed_at=now),
        actor=actor,
        reason=why,
    )
    watchers = tuple(dict.fromkeys(target.watchers + source.watchers))
    kept = save(uow, target, replace(target, watchers=watchers), actor=actor, reason=f"{source.number} merged in")
    return closed, kept


def split(
    uow: UnitOfWork, ticket_id: str, *, subject: str, description: str, as_child: bool, actor: Actor
) -> tuple[Ticket, Ticket]:
    """Part of a request becomes its own ticket, for the same customer and product, in the same queue."""
    original = load(uow, ticket_id)
    if original.status in _FINAL:
        raise FailedPrecondition(f"ticket {original.number} is {original.status.value}; split an open ticket")
    created = create_ticket(
        uow,
        NewTicket(
            customer_id=original.customer_id,
            channel=original.channel,
            subject=subject,
            created_by=actor.id,
            asset_id=original.asset_id,
            description=description,
            priority=original.priority,
            required_skills=original.required_skills,
            language=original.language,
            tags=original.tags,
            category=original.category,
            team=original.team,
            watchers=original.watchers,
            parent_id=original.ticket_id if as_child else "",
        ),
    )
    HistoryStore(uow.session).record(
        original.ticket_id,
        original.version,
        [FieldChange("split_into", "", created.number)],
        actor=actor.id,
        reason="split",
        at=utcnow(),
    )
    return original, created


def set_parent(uow: UnitOfWork, ticket_id: str, parent_id: str, *, version: int, actor: Actor) -> Ticket:
    ticket = load(uow, ticket_id)
    expect_version(ticket, version)
    if parent_id:
        if parent_id == ticket_id:
            raise InvalidArgument([FieldViolation("parent_ticket_id", "a ticket cannot be its own parent")])
        _open_parent(uow, parent_id)
        ancestor = parent_id
        while ancestor:
            if ancestor == ticket_id:
                raise FailedPrecondition(f"ticket {ticket.number} is an ancestor of the proposed parent: no cycles")
            ancestor = load(uow, ancestor).parent_id
    return save(
        uow, ticket, replace(ticket, parent_id=parent_id), actor=actor, reason="linked" if parent_id else "unlinked"
    )


def _open_parent(uow: UnitOfWork, parent_id: str) -> Ticket:
    parent = TicketStore(uow.session).get(parent_id)
    if parent is None:
        raise NotFound("ticket", parent_id)
    if parent.status in _FINAL:
        raise FailedPrecondition(f"ticket {parent.number} is {parent.status.value}; it cannot take children")
    return parent


def history(uow: UnitOfWork, ticket_id: str, *, after: int, limit: int) -> list[HistoryEntry]:
    load(uow, ticket_id)
    return HistoryStore(uow.session).page(ticket_id, after=after, limit=limit)


def list_tickets(uow: UnitOfWork, where: TicketFilter, *, after: tuple[int, int] | None, limit: int) -> list[Ticket]:
    return TicketStore(uow.session).page(where, after=after, limit=limit)


def count_tickets(uow: UnitOfWork, *, team: str = "") -> list[QueueCount]:
    return TicketStore(uow.session).counts(team=team)


def _emit_change(
    uow: UnitOfWork,
    before: Ticket,
    after: Ticket,
    changes: list[FieldChange],
    *,
    actor: Actor,
    reason: str,
    at: datetime,
) -> None:
    key = {"ticket_id": after.ticket_id, "number": after.number, "customer_id": after.customer_id}

    def emit(payload: Message) -> None:
        uow.emit(payload, customer_id=after.customer_id)

    if changes:
        emit(
            events.TicketUpdated(
                **key,
                changes=[events.FieldChange(field=c.field, old_value=c.old, new_value=c.new) for c in changes],
                actor=actor.id,
                reason=reason,
                version=after.version,
                updated_at=timestamp(at),
            )
        )
    if (before.team, before.assignee) != (after.team, after.assignee):
        emit(
            events.TicketAssigned(
                **key,
                team=after.team,
                assignee=after.assignee,
                previous_team=before.team,
                previous_assignee=before.assignee,
                actor=actor.id,
                priority=after.priority,  # type: ignore[arg-type]
                required_skills=after.required_skills,
                version=after.version,
                assigned_at=timestamp(at),
            )
        )
    if before.status is after.status:
        return
    emit(
        events.TicketStatusChanged(
            **key,
            from_status=before.status.value,
            to_status=after.status.value,
            actor=actor.id,
            reason=reason,
            version=after.version,
            changed_at=timestamp(at),
            team=after.team,
            assignee=after.assignee,
        )
    )
    if after.status is Status.RESOLVED:
        emit(
            events.TicketResolved(
                **key,
                resolution_code=after.resolution_code,
                resolved_by=actor.id,
                resolved_at=timestamp(at),
                team=after.team,
                assignee=after.assignee,
                category=after.category,
            )
        )
    elif after.status is Status.CLOSED:
        emit(
            events.TicketClosed(
                **key,
                closed_by=actor.id,
                closed_at=timestamp(at),
                resolution_code=after.resolution_code,
                merged_into=after.merged_into,
            )
        )
    if after.reopen_count > before.reopen_count:
        emit(
            events.TicketReopened(
                **key,
                reopened_by=actor.id,
                reason=reason,
                reopened_at=timestamp(at),
                team=after.team,
                assignee=after.assignee,
            )
        )
