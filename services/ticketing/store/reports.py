"""The reports' queries. The database aggregates; what comes back is one row per group (or per
percentile rank), never the tickets themselves. The same SQL runs on SQLite and PostgreSQL and
gives the same answers: durations are whole seconds and means are computed from exact sums."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from services.ticketing.domain.reports import (
    FIRST_CONTACT_MAX_PUBLIC_REPLIES,
    MEDIAN,
    P90,
    AgentTally,
    Bucket,
    Compliance,
    Durations,
    FirstContact,
    HandlingTime,
    Period,
    Satisfaction,
    Scoring,
    durations,
)
from services.ticketing.domain.satisfaction import GOOD_SCORE
from services.ticketing.domain.sla import ClockState
from services.ticketing.domain.tickets import Status
from services.ticketing.store.ratings import ticket_ratings
from services.ticketing.store.sla import sla_clocks
from services.ticketing.store.tickets import tickets
from switchboard.db.types import UtcDateTime

_PERCENTS = (MEDIAN, P90)


class epoch_seconds(FunctionElement[int]):  # noqa: N801 - a SQL function, named like one
    """Whole seconds since 1970 of a stored UTC time (the fraction of a second is dropped)."""

    type = BigInteger()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC. The fraction is cut off first: strftime would
    # round it to milliseconds, and .9995 would become the next second.
    stamp = func.substr(*element.clauses, 1, 19)
    return compiler.process(cast(func.strftime(literal_column("'%s'"), stamp), BigInteger), **kw)


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(cast(func.floor(extract("epoch", *element.clauses)), BigInteger), **kw)


_handling_seconds = epoch_seconds(tickets.c.resolved_at) - epoch_seconds(tickets.c.created_at)


def _resolved_in(within: Period) -> ColumnElement[bool]:
    # Still resolved or closed (a reopened ticket has no resolved_at until it is resolved again);
    # a merged duplicate's work is counted on the ticket it was merged into.
    return and_(
        tickets.c.resolved_at >= within.start,
        tickets.c.resolved_at < within.end,
        tickets.c.status.in_([Status.RESOLVED.value, Status.CLOSED.value]),
        tickets.c.merged_into == "",
    )


def _rated_in(within: Period) -> ColumnElement[bool]:
    return and_(ticket_ratings.c.rated_at >= within.start, ticket_ratings.c.rated_at < within.end)


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True)
class VolumeRow:
    bucket: int
    category: str
    channel: str
    count: int


@dataclass(frozen=True)
class FirstContactRow:
    team: str
    channel: str
    tally: FirstContact


@dataclass(frozen=True)
class ComplianceRow:
    policy_id: str
    team: str
    # "first_response", "next_response" or "resolution"
    kind: str
    compliance: Compliance


class ReportQueries:
    def __init__(self, session: Session) -> None:
        self.session = session

    def volume(self, buckets: Sequence[Bucket]) -> list[VolumeRow]:
        """Tickets opened per bucket, category and channel; buckets with none have no rows."""
        # A small calendar table joined on the opening time: the database reads each bucket's
        # range off the created_at index instead of computing a local date for every ticket (which
        # SQLite cannot do for an IANA zone anyway). The buckets are clipped to the range, so the
        # join is the range filter; a separate one would tempt SQLite to scan the whole range per bucket.
        terms = [
            select(
                literal(index, Integer).label("bucket"),
                literal(bucket.start, UtcDateTime).label("starts"),
                literal(bucket.end, UtcDateTime).label("ends"),
            )
            for index, bucket in enumerate(buckets)
        ]
        calendar = (union_all(*terms) if len(terms) > 1 else terms[0]).subquery("calendar")
        query = (
            select(calendar.c.bucket, tickets.c.category, tickets.c.channel, func.count())
            .select_from(
                calendar.join(
                    tickets, and_(tickets.c.created_at >= calendar.c.starts, tickets.c.created_at < calendar.c.ends)
                )
            )
            .group_by(calendar.c.bucket, tickets.c.category, tickets.c.channel)
            .order_by(calendar.c.bucket, tickets.c.category, tickets.c.channel)
        )
        return [VolumeRow(int(b), c, ch, int(n)) for b, c, ch, n in self.session.execute(query)]

    def handling_times(self, within: Period) -> list[HandlingTime]:
        """Created -> resolved per category, in no particular order."""
        return [HandlingTime(key, figures) for key, figures in self._durations(within, per_category=True).items()]

    def overall_handling_time(self, within: Period) -> Durations | None:
        return self._durations(within, per_category=False).get("")

    def _durations(self, within: Period, *, per_category: bool) -> dict[str, Durations]:
        # Window functions number each group's durations in order and count and sum them; only the
        # rows at the ranks the median and p90 need leave the database (at most four per group).
        key = tickets.c.category if per_category else literal("")
        partition = [tickets.c.category] if per_category else None
        ranked = (
            select(
                key.label("key"),
                _handling_seconds.label("seconds"),
                func.row_number().over(partition_by=partition, order_by=_handling_seconds).label("ordinal"),
                func.count().over(partition_by=partition).label("n"),
                func.sum(_handling_seconds).over(partition_by=partition).label("total"),
            )
            .where(_resolved_in(within))
            .subquery("ranked")
        )
        wanted = []
        for percent in _PERCENTS:
            # The same integer arithmetic as domain.reports.rank_span: floor((n - 1) * p / 100) + 1.
            lower = (ranked.c.n - 1) * percent // 100 + 1
            wanted += [ranked.c.ordinal == lower, ranked.c.ordinal == lower + 1]
        query = select(ranked.c.key, ranked.c.n, ranked.c.total, ranked.c.ordinal, ranked.c.seconds).where(or_(*wanted))
        groups: dict[str, tuple[int, int, dict[int, float]]] = {}
        for key_value, n, total, ordinal, seconds in self.session.execute(query):
            groups.setdefault(key_value, (int(n), int(total), {}))[2][int(ordinal)] = float(seconds)
        return {k: durations(n, total, values) for k, (n, total, values) in groups.items()}

    def first_contact(self, within: Period) -> list[FirstContactRow]:
        """Resolved and first-contact tickets per team and channel."""
        first = and_(
            tickets.c.public_replies <= FIRST_CONTACT_MAX_PUBLIC_REPLIES,
            tickets.c.reopen_count == 0,
        )
        query = (
            select(tickets.c.team, tickets.c.channel, func.count(), _count_if(first))
            .where(_resolved_in(within))
            .group_by(tickets.c.team, tickets.c.channel)
            .order_by(tickets.c.team, tickets.c.channel)
        )
        return [FirstContactRow(t, c, FirstContact(int(n), int(f))) for t, c, n, f in self.session.execute(query)]

    def sla_compliance(self, within: Period) -> list[ComplianceRow]:
        """Clocks decided in the range per policy, team and kind: met when stopped, breached when breached."""
        met = and_(
            sla_clocks.c.state == ClockState.MET.value,
            sla_clocks.c.stopped_at >= within.start,
            sla_clocks.c.stopped_at < within.end,
        )
        breached = and_(
            sla_clocks.c.state == ClockState.BREACHED.value,
            sla_clocks.c.breached_at >= within.start,
            sla_clocks.c.breached_at < within.end,
        )
        query = (
            select(sla_clocks.c.policy_id, sla_clocks.c.team, sla_clocks.c.kind, _count_if(met), _count_if(breached))
            .where(or_(met, breached))
            .group_by(sla_clocks.c.policy_id, sla_clocks.c.team, sla_clocks.c.kind)
            .order_by(sla_clocks.c.policy_id, sla_clocks.c.team, sla_clocks.c.kind)
        )
        return [ComplianceRow(p, t, k, Compliance(int(m), int(b))) for p, t, k, m, b in self.session.execute(query)]

    def satisfaction(self, within: Period) -> Satisfaction:
        row = self.session.execute(_satisfaction_of(select(), within)).one()
        return Satisfaction(*(int(v) for v in row))

    def satisfaction_by_team(self, within: Period) -> list[tuple[str, Satisfaction]]:
        query = _satisfaction_of(select(ticket_ratings.c.team), within).group_by(ticket_ratings.c.team)
        return [(team, Satisfaction(int(n), int(s), int(g))) for team, n, s, g in self.session.execute(query)]

    def satisfaction_by_agent(self, within: Period, *, limit: int) -> list[tuple[str, Satisfaction]]:
        """The agents with the most ratings first (then by name), at most ``limit`` of them."""
        query = (
            _satisfaction_of(select(ticket_ratings.c.agent), within)
            .where(ticket_ratings.c.agent != "")
            .group_by(ticket_ratings.c.agent)
            .order_by(func.count().desc(), ticket_ratings.c.agent)
            .limit(limit)
        )
        return [(agent, Satisfaction(int(n), int(s), int(g))) for agent, n, s, g in self.session.execute(query)]

    def agent_tallies(self, within: Period, *, scoring: Scoring, team: str, limit: int) -> list[AgentTally]:
        """Resolved tickets and good ratings per agent, best first by the points table's order."""
        resolved = select(
            tickets.c.assignee.label("agent"), func.count().label("resolved"), literal(0, Integer).label("good")
        ).where(_resolved_in(within), tickets.c.assignee != "")
        good = select(
            ticket_ratings.c.agent.label("agent"), literal(0, Integer).label("resolved"), func.count().label("good")
        ).where(_rated_in(within), ticket_ratings.c.score >= GOOD_SCORE, ticket_ratings.c.agent != "")
        if team:
            resolved = resolved.where(tickets.c.team == team)
            good = good.where(ticket_ratings.c.team == team)
        resolved = resolved.group_by(tickets.c.assignee)
        good = good.group_by(ticket_ratings.c.agent)
        facts = union_all(resolved, good).subquery("facts")
        resolved_count, good_count = func.sum(facts.c.resolved), func.sum(facts.c.good)
        points = resolved_count * scoring.per_resolved + good_count * scoring.per_good_rating
        # The order of domain.reports.standing_order, so the first ``limit`` are the table's top.
        query = (
            select(facts.c.agent, resolved_count, good_count)
            .group_by(facts.c.agent)
            .order_by(points.desc(), good_count.desc(), resolved_count.desc(), facts.c.agent)
            .limit(limit)
        )
        return [AgentTally(agent, int(r), int(g)) for agent, r, g in self.session.execute(query)]


def _satisfaction_of(query: Select[Any], within: Period) -> Select[Any]:
    return query.add_columns(
        func.count(),
        func.coalesce(func.sum(ticket_ratings.c.score), 0),
        _count_if(ticket_ratings.c.score >= GOOD_SCORE),
    ).where(_rated_in(within))
