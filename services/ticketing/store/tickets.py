"""The tickets table and its queries: compare-and-set updates, queue listings and counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Integer,
    Row,
    SmallInteger,
    String,
    Table,
    Text,
    case,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from services.ticketing.domain.tickets import OPEN_STATUSES, Status, Ticket, numbered, seq_of
from services.ticketing.store.schema import metadata
from switchboard.db.types import BigIntId, UtcDateTime
from switchboard.errors import Aborted

tickets = Table(
    "tickets",
    metadata,
    # The number people read (T-000123) is this sequence, so it is never stored twice.
    Column("seq", BigIntId, primary_key=True, autoincrement=True),
    Column("ticket_id", String(36), nullable=False, unique=True),
    Column("customer_id", String(64), nullable=False, index=True),
    Column("asset_id", String(128), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("required_skills", JSON, nullable=False),
    Column("language", String(35), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("category", String(64), nullable=False),
    Column("team", String(64), nullable=False),
    Column("assignee", String(255), nullable=False),
    Column("watchers", JSON, nullable=False),
    Column("custom_fields", JSON, nullable=False),
    Column("resolution_code", String(64), nullable=False),
    Column("parent_id", String(36), nullable=False),
    Column("merged_into", String(36), nullable=False),
    Column("triage_rule", String(255), nullable=False),
    Column("customer_tier", String(16), nullable=False),
    Column("sla_state", String(16), nullable=False),
    Column("updated_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Column("first_response_at", UtcDateTime),
    Column("reopen_count", Integer, nullable=False),
    Column("public_replies", Integer, nullable=False),
)

_LISTS = ("required_skills", "tags", "watchers")
_STORED = [c.name for c in tickets.columns if c.name != "seq"]
AT_RISK = ("warning", "breached")
# Sorted, so every process sends the same SQL and it matches the partial indexes of open tickets.
_OPEN = sorted(s.value for s in OPEN_STATUSES)


def _ticket(row: Row[Any]) -> Ticket:
    values = row._asdict()
    for name in _LISTS:
        values[name] = tuple(values[name])
    values["custom_fields"] = dict(values["custom_fields"])
    values["status"] = Status(values["status"])
    return Ticket(**values)


def _values(ticket: Ticket) -> dict[str, Any]:
    values = {name: getattr(ticket, name) for name in _STORED}
    for name in _LISTS:
        values[name] = list(values[name])
    values["custom_fields"] = dict(ticket.custom_fields)
    values["status"] = ticket.status.value
    return values


@dataclass(frozen=True)
class TicketFilter:
    statuses: tuple[Status, ...] = ()
    assignee: str = ""
    team: str = ""
    customer_id: str = ""
    priority: int = 0
    sla_state: str = ""
    words: tuple[str, ...] = ()
    category: str = ""
    open_only: bool = False


@dataclass(frozen=True)
class QueueCount:
    team: str
    status: Status
    count: int
    at_risk: int


class TicketStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, ticket: Ticket) -> Ticket:
        seq = self.session.execute(tickets.insert().values(**_values(ticket)).returning(tickets.c.seq)).scalar_one()
        return numbered(ticket, seq)

    def get(self, ticket_id: str, *, for_update: bool = False) -> Ticket | None:
        """``for_update`` locks the row (PostgreSQL) so automations wait their turn instead of aborting."""
        query = select(tickets).where(tickets.c.ticket_id == ticket_id)
        row = self.session.execute(query.with_for_update() if for_update else query).first()
        return _ticket(row) if row else None

    def get_by_number(self, number: str) -> Ticket | None:
        seq = seq_of(number)
        if seq is None:
            return None
        row = self.session.execute(select(tickets).where(tickets.c.seq == seq)).first()
        return _ticket(row) if row else None

    def many(self, ticket_ids: Sequence[str]) -> list[Ticket]:
        rows = self.session.execute(select(tickets).where(tickets.c.ticket_id.in_(ticket_ids)).order_by(tickets.c.seq))
        return [_ticket(row) for row in rows]

    def update(self, before: Ticket, after: Ticket, *, new_version: bool = True) -> Ticket:
        """Write ``after`` if the stored row is still at ``before.version``; ABORTED if someone got there first.

        Bookkeeping alone (a reply counter) keeps the version, so it never makes an agent's edit stale.
        """
        stored = replace(after, version=before.version + 1 if new_version else before.version)
        changed = self.session.execute(
            update(tickets)
            .where(tickets.c.ticket_id == before.ticket_id, tickets.c.version == before.version)
            .values(**_values(stored))
            .returning(tickets.c.seq)
        ).first()
        if changed is None:
            raise Aborted(
                f"ticket {before.number} changed since version {before.version} was read; read it again and retry"
            )
        return stored

    def set_sla_state(self, ticket_id: str, state: str) -> None:
        """The SLA engine's summary of a ticket's clocks; bookkeeping, so no new version for agents to trip on."""
        self.session.execute(update(tickets).where(tickets.c.ticket_id == ticket_id).values(sla_state=state))

    def children(self, parent_id: str) -> list[Ticket]:
        rows = self.session.execute(select(tickets).where(tickets.c.parent_id == parent_id).order_by(tickets.c.seq))
        return [_ticket(row) for row in rows]

    def open_children(self, parent_id: str) -> int:
        return self.session.execute(
            select(func.count())
            .select_from(tickets)
            .where(tickets.c.parent_id == parent_id, tickets.c.status.in_(_OPEN))
        ).scalar_one()

    def page(self, where: TicketFilter, *, after: tuple[int, int] | None, limit: int) -> list[Ticket]:
        """Most urgent first, then oldest: the order a queue is worked in. ``after`` is (priority, seq)."""
        query = select(tickets).where(*_conditions(where))
        if after is not None:
            priority, seq = after
            # A row comparison the (priority, seq) index can seek to, unlike the equivalent OR.
            query = query.where(tuple_(tickets.c.priority, tickets.c.seq) > tuple_(priority, seq))
        rows = self.session.execute(query.order_by(tickets.c.priority, tickets.c.seq).limit(limit))
        return [_ticket(row) for row in rows]

    def counts(self, *, team: str = "") -> list[QueueCount]:
        at_risk = func.sum(case((tickets.c.sla_state.in_(AT_RISK), 1), else_=0))
        query = (
            select(tickets.c.team, tickets.c.status, func.count(), at_risk)
            .where(tickets.c.status.in_(_OPEN))
            .group_by(tickets.c.team, tickets.c.status)
            .order_by(tickets.c.team, tickets.c.status)
        )
        if team:
            query = query.where(tickets.c.team == team)
        return [QueueCount(t, Status(s), n, int(r or 0)) for t, s, n, r in self.session.execute(query)]


def _conditions(where: TicketFilter) -> list[Any]:
    conditions: list[Any] = []
    if where.statuses:
        conditions.append(tickets.c.status.in_([s.value for s in where.statuses]))
    if where.open_only:
        conditions.append(tickets.c.status.in_(_OPEN))
    for column, value in (
        (tickets.c.assignee, where.assignee),
        (tickets.c.team, where.team),
        (tickets.c.customer_id, where.customer_id),
        (tickets.c.sla_state, where.sla_state),
        (tickets.c.category, where.category),
    ):
        if value:
            conditions.append(column == value)
    if where.priority:
        conditions.append(tickets.c.priority == where.priority)
    text = func.lower(tickets.c.subject + " " + tickets.c.description)
    for word in where.words:
        escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(text.like(f"%{escaped}%", escape="\\"))
    return conditions
