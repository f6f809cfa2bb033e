"""SLA tables: calendars and policies (current and every revision, so history can be replayed under the
rules then in force) and the clocks of each ticket."""

from __future__ import annotations

import json
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    Row,
    SmallInteger,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from services.ticketing.domain.calendars import BusinessCalendar, Span, minutes_of, minutes_text
from services.ticketing.domain.sla import Clock, ClockKind, ClockState, SlaPolicy
from services.ticketing.store.schema import metadata
from services.ticketing.store.tickets import tickets
from switchboard.db.types import UtcDateTime
from switchboard.errors import Aborted, AlreadyExists

sla_calendars = Table(
    "sla_calendars",
    metadata,
    Column("calendar_id", String(64), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(255), nullable=False),
)

sla_calendar_revisions = Table(
    "sla_calendar_revisions",
    metadata,
    Column("calendar_id", String(64), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("body", JSON, nullable=False),
)

sla_policies = Table(
    "sla_policies",
    metadata,
    Column("policy_id", String(64), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("customer_tier", String(16), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("body", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(255), nullable=False),
    Index("sla_policies_priority", "priority", "customer_tier"),
)

sla_policy_revisions = Table(
    "sla_policy_revisions",
    metadata,
    Column("policy_id", String(64), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("body", JSON, nullable=False),
)

CLOCK_KINDS = tuple(k.value for k in ClockKind)
CLOCK_STATES = tuple(s.value for s in ClockState)

sla_clocks = Table(
    "sla_clocks",
    metadata,
    Column("clock_id", String(36), primary_key=True),
    Column("ticket_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("policy_id", String(64), nullable=False),
    Column("calendar_id", String(64), nullable=False),
    Column("calendar_revision", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("target_seconds", BigInteger, nullable=False),
    Column("used_seconds", BigInteger, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("warn_percents", JSON, nullable=False),
    Column("running_since", UtcDateTime),
    Column("due_at", UtcDateTime),
    Column("warned", SmallInteger, nullable=False),
    Column("stopped_at", UtcDateTime),
    Column("breached_at", UtcDateTime),
    Column("team", String(64), nullable=False),
    Column("announced_warning", SmallInteger, nullable=False),
    Column("breach_announced", Boolean, nullable=False),
    CheckConstraint(f"kind IN {CLOCK_KINDS}", name="sla_clocks_kind"),
    CheckConstraint(f"state IN {CLOCK_STATES}", name="sla_clocks_state"),
    Index("sla_clocks_ticket", "ticket_id"),
    Index("sla_clocks_started", "started_at"),
)


@dataclass(frozen=True)
class Stamped:
    """Who last changed a calendar or policy, and when."""

    updated_at: datetime
    updated_by: str


# Bodies: the JSON stored for a calendar or policy; a revision's body never changes.


def calendar_body(calendar: BusinessCalendar) -> dict[str, Any]:
    return {
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "week": [[[minutes_text(s.opens), minutes_text(s.closes)] for s in day] for day in calendar.week],
        "holidays": sorted(d.isoformat() for d in calendar.holidays),
        "holiday_country": calendar.holiday_country,
        "holiday_subdivision": calendar.holiday_subdivision,
    }


@lru_cache(maxsize=512)
def _parsed_calendar(calendar_id: str, revision: int, body: str) -> BusinessCalendar:
    # Content-addressed: a calendar keeps its per-day cache across units of work.
    values = json.loads(body)
    return BusinessCalendar(
        calendar_id=calendar_id,
        revision=revision,
        name=values["name"],
        time_zone=values["time_zone"],
        week=tuple(tuple(Span(minutes_of(a), minutes_of(b)) for a, b in day) for day in values["week"]),
        holidays=frozenset(date.fromisoformat(d) for d in values["holidays"]),
        holiday_country=values["holiday_country"],
        holiday_subdivision=values["holiday_subdivision"],
    )


def calendar_from(calendar_id: str, revision: int, body: dict[str, Any]) -> BusinessCalendar:
    return _parsed_calendar(calendar_id, revision, json.dumps(body, sort_keys=True))


_POLICY_FIELDS = tuple(f.name for f in fields(SlaPolicy) if f.name not in ("policy_id", "revision"))


def policy_body(policy: SlaPolicy) -> dict[str, Any]:
    body = {name: getattr(policy, name) for name in _POLICY_FIELDS}
    body["warn_percents"] = list(policy.warn_percents)
    return body


def policy_from(policy_id: str, revision: int, body: dict[str, Any]) -> SlaPolicy:
    values = {name: body[name] for name in _POLICY_FIELDS if name in body}
    values["warn_percents"] = tuple(values.get("warn_percents", ()))
    return SlaPolicy(policy_id=policy_id, revision=revision, **values)


@dataclass(frozen=True)
class CalendarRevision:
    calendar: BusinessCalendar
    valid_from: datetime


@dataclass(frozen=True)
class PolicyRevision:
    policy: SlaPolicy
    valid_from: datetime


def _clock(row: Row[Any]) -> Clock:
    values = row._asdict()
    values["kind"] = ClockKind(values["kind"])
    values["state"] = ClockState(values["state"])
    values["warn_percents"] = tuple(values["warn_percents"])
    return Clock(**values)


def _clock_values(clock: Clock) -> dict[str, Any]:
    values = {f.name: getattr(clock, f.name) for f in fields(Clock)}
    values["kind"] = clock.kind.value
    values["state"] = clock.state.value
    values["warn_percents"] = list(clock.warn_percents)
    return values


_revisions: weakref.WeakKeyDictionary[Any, dict[tuple[str, int], BusinessCalendar]] = weakref.WeakKeyDictionary()


class SlaStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    # Calendars

    def put_calendar(
        self, calendar: BusinessCalendar, *, expected_revision: int, at: datetime, by: str
    ) -> BusinessCalendar:
        """Store a new revision; ``expected_revision`` 0 creates. ABORTED if someone else changed it first."""
        body = calendar_body(calendar)
        revision = self._put_revision(
            "calendar",
            sla_calendars.c.calendar_id,
            sla_calendar_revisions,
            calendar.calendar_id,
            {"body": body},
            expected_revision=expected_revision,
            at=at,
            by=by,
        )
        return calendar_from(calendar.calendar_id, revision, body)

    def _put_revision(
        self,
        kind: str,
        key: Column[str],
        revisions: Table,
        key_value: str,
        values: dict[str, Any],
        *,
        expected_revision: int,
        at: datetime,
        by: str,
    ) -> int:
        """Write the head row of a revisioned document (compare-and-set on its revision) and keep the
        revision's body, valid from ``at``, for recomputing history under the rules then in force."""
        head = key.table
        revision = expected_revision + 1
        stamp = {**values, "revision": revision, "updated_at": at, "updated_by": by}
        if expected_revision == 0:
            if self.session.execute(select(key).where(key == key_value)).first() is not None:
                raise AlreadyExists(f"{kind} {key_value!r} exists; send its revision as expected_revision to change it")
            self.session.execute(head.insert().values({key.name: key_value, **stamp}))
        else:
            changed = self.session.execute(
                update(head)
                .where(key == key_value, head.c.revision == expected_revision)
                .values(**stamp)
                .returning(head.c.revision)
            ).first()
            if changed is None:
                raise Aborted(
                    f"{kind} {key_value!r} is not at revision {expected_revision} "
                    "(missing, or changed meanwhile); read it again and retry"
                )
        try:
            self.session.execute(
                revisions.insert().values(
                    {key.name: key_value, "revision": revision, "valid_from": at, "body": values["body"]}
                )
            )
        except IntegrityError as exc:
            raise Aborted(f"{kind} {key_value!r} changed meanwhile; read it again and retry") from exc
        return revision

    def calendar(self, calendar_id: str) -> tuple[BusinessCalendar, Stamped] | None:
        row = self.session.execute(select(sla_calendars).where(sla_calendars.c.calendar_id == calendar_id)).first()
        if row is None:
            return None
        return calendar_from(row.calendar_id, row.revision, row.body), Stamped(row.updated_at, row.updated_by)

    def calendar_revision(self, calendar_id: str, revision: int) -> BusinessCalendar | None:
        # A revision never changes: read each once per database (every timer and change needs one).
        known = _revisions.setdefault(self.session.get_bind(), {})
        found = known.get((calendar_id, revision))
        if found is None:
            found = self._read_calendar_revision(calendar_id, revision)
            if found is not None:
                known[(calendar_id, revision)] = found
        return found

    def _read_calendar_revision(self, calendar_id: str, revision: int) -> BusinessCalendar | None:
        body = self.session.execute(
            select(sla_calendar_revisions.c.body).where(
                sla_calendar_revisions.c.calendar_id == calendar_id, sla_calendar_revisions.c.revision == revision
            )
        ).scalar()
        return None if body is None else calendar_from(calendar_id, revision, body)

    def calendar_revisions(self) -> list[CalendarRevision]:
        rows = self.session.execute(
            select(sla_calendar_revisions).order_by(
                sla_calendar_revisions.c.calendar_id, sla_calendar_revisions.c.revision
            )
        )
        return [CalendarRevision(calendar_from(r.calendar_id, r.revision, r.body), r.valid_from) for r in rows]

    def calendars(self, *, after: str, limit: int) -> list[tuple[BusinessCalendar, Stamped]]:
        rows = self.session.execute(
            select(sla_calendars)
            .where(sla_calendars.c.calendar_id > after)
            .order_by(sla_calendars.c.calendar_id)
            .limit(limit)
        )
        return [(calendar_from(r.calendar_id, r.revision, r.body), Stamped(r.updated_at, r.updated_by)) for r in rows]

    # Policies

    def put_policy(self, policy: SlaPolicy, *, expected_revision: int, at: datetime, by: str) -> SlaPolicy:
        body = policy_body(policy)
        revision = self._put_revision(
            "policy",
            sla_policies.c.policy_id,
            sla_policy_revisions,
            policy.policy_id,
            {"body": body, "priority": policy.priority, "customer_tier": policy.customer_tier, "active": policy.active},
            expected_revision=expected_revision,
            at=at,
            by=by,
        )
        return policy_from(policy.policy_id, revision, body)

    def policy(self, policy_id: str) -> tuple[SlaPolicy, Stamped] | None:
        row = self.session.execute(select(sla_policies).where(sla_policies.c.policy_id == policy_id)).first()
        if row is None:
            return None
        return policy_from(row.policy_id, row.revision, row.body), Stamped(row.updated_at, row.updated_by)

    def active_policies(self, priority: int) -> list[SlaPolicy]:
        rows = self.session.execute(
            select(sla_policies.c.policy_id, sla_policies.c.revision, sla_policies.c.body).where(
                sla_policies.c.priority == priority, sla_policies.c.active.is_(True)
            )
        )
        return [policy_from(r.policy_id, r.revision, r.body) for r in rows]

    def policy_revisions(self) -> list[PolicyRevision]:
        rows = self.session.execute(
            select(sla_policy_revisions).order_by(sla_policy_revisions.c.policy_id, sla_policy_revisions.c.revision)
        )
        return [PolicyRevision(policy_from(r.policy_id, r.revision, r.body), r.valid_from) for r in rows]

    def policies(self, *, after: str, limit: int) -> list[tuple[SlaPolicy, Stamped]]:
        rows = self.session.execute(
            select(sla_policies).where(sla_policies.c.policy_id > after).order_by(sla_policies.c.policy_id).limit(limit)
        )
        return [(policy_from(r.policy_id, r.revision, r.body), Stamped(r.updated_at, r.updated_by)) for r in rows]

    # Clocks

    def lock_ticket_now(self, ticket_id: str) -> bool:
        """Lock the ticket's row unless a change in progress holds it: then False at once, and the
        transaction is spoiled (roll it back).

        A timer that waited for the ticket while holding its own timer row could deadlock with that
        change, which reschedules the same timer after locking the ticket. SQLite serializes writers
        anyway (always True there).
        """
        try:
            self.session.execute(
                select(tickets.c.seq).where(tickets.c.ticket_id == ticket_id).with_for_update(nowait=True)
            )
        except OperationalError as exc:
            if isinstance(exc.orig, psycopg.errors.LockNotAvailable):
                return False
            raise
        return True

    def clocks(self, ticket_id: str, *, for_update: bool = False) -> list[Clock]:
        query = (
            select(sla_clocks)
            .where(sla_clocks.c.ticket_id == ticket_id)
            .order_by(sla_clocks.c.started_at, sla_clocks.c.clock_id)
        )
        if for_update:
            query = query.with_for_update()
        return [_clock(row) for row in self.session.execute(query)]

    def clock(self, clock_id: str, *, for_update: bool = False) -> Clock | None:
        query = select(sla_clocks).where(sla_clocks.c.clock_id == clock_id)
        if for_update:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return _clock(row) if row else None

    def save_clocks(self, before: Sequence[Clock], after: Sequence[Clock]) -> list[Clock]:
        """Write the clocks that are new or changed; return those."""
        known = {c.clock_id: c for c in before}
        new = [c for c in after if c.clock_id not in known]
        changed = [c for c in after if c.clock_id in known and known[c.clock_id] != c]
        if new:
            self.session.execute(sla_clocks.insert(), [_clock_values(c) for c in new])
        for clock in changed:
            values = _clock_values(clock)
            del values["clock_id"]
            self.session.execute(update(sla_clocks).where(sla_clocks.c.clock_id == clock.clock_id).values(**values))
        return new + changed
