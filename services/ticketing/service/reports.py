"""The supervisors' reports, one function per report, each over a range [start, end). They only read;
what the figures mean is defined in domain/reports.py."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from services.ticketing.domain import reports
from services.ticketing.domain.reports import (
    DEFAULT_SCORING,
    Bucket,
    Compliance,
    Durations,
    FirstContact,
    Grain,
    HandlingTime,
    Period,
    Satisfaction,
    Scoring,
    Standing,
)
from services.ticketing.store.reports import ComplianceRow, ReportQueries
from switchboard.db.uow import UnitOfWork

DEFAULT_AGENT_LIMIT = 100
DEFAULT_POINTS_LIMIT = 50


@dataclass(frozen=True)
class VolumeCell:
    category: str
    channel: str
    count: int


@dataclass(frozen=True)
class VolumeBucket:
    bucket: Bucket
    # Per category and channel, by category then channel; combinations with no tickets are left out.
    cells: list[VolumeCell]

    @property
    def total(self) -> int:
        return sum(cell.count for cell in self.cells)


def volume(uow: UnitOfWork, within: Period, grain: Grain) -> list[VolumeBucket]:
    """Tickets opened per calendar bucket, category and channel; every bucket of the range, empty ones too."""
    calendar = reports.buckets(within, grain)
    cells: dict[int, list[VolumeCell]] = defaultdict(list)
    for row in ReportQueries(uow.session).volume(calendar):
        cells[row.bucket].append(VolumeCell(row.category, row.channel, row.count))
    return [VolumeBucket(bucket, cells[index]) for index, bucket in enumerate(calendar)]


@dataclass(frozen=True)
class HandlingTimeReport:
    # Longest first (domain.reports.longest_first).
    categories: list[HandlingTime]
    # Over every resolved ticket; None when none was resolved in the range.
    overall: Durations | None


def handling_time(uow: UnitOfWork, within: Period) -> HandlingTimeReport:
    queries = ReportQueries(uow.session)
    return HandlingTimeReport(
        categories=reports.longest_first(queries.handling_times(within)),
        overall=queries.overall_handling_time(within),
    )


@dataclass(frozen=True)
class FirstContactReport:
    overall: FirstContact
    # By team name and by channel name, in name order.
    by_team: list[tuple[str, FirstContact]]
    by_channel: list[tuple[str, FirstContact]]


def first_contact_resolution(uow: UnitOfWork, within: Period) -> FirstContactReport:
    by_team: dict[str, FirstContact] = defaultdict(lambda: FirstContact(0, 0))
    by_channel: dict[str, FirstContact] = defaultdict(lambda: FirstContact(0, 0))
    for row in ReportQueries(uow.session).first_contact(within):
        by_team[row.team] += row.tally
        by_channel[row.channel] += row.tally
    return FirstContactReport(
        overall=sum(by_team.values(), FirstContact(0, 0)),
        by_team=sorted(by_team.items()),
        by_channel=sorted(by_channel.items()),
    )


@dataclass(frozen=True)
class SlaComplianceReport:
    # Per policy, team and clock kind, in that order.
    rows: list[ComplianceRow]
    overall: Compliance


def sla_compliance(uow: UnitOfWork, within: Period) -> SlaComplianceReport:
    rows = ReportQueries(uow.session).sla_compliance(within)
    return SlaComplianceReport(rows, sum((row.compliance for row in rows), Compliance(0, 0)))


@dataclass(frozen=True)
class SatisfactionReport:
    overall: Satisfaction
    # In team name order.
    by_team: list[tuple[str, Satisfaction]]
    # The agents with the most ratings first; at most the limit asked for.
    by_agent: list[tuple[str, Satisfaction]]
    # More agents had ratings than the limit let through.
    agents_truncated: bool


def satisfaction(uow: UnitOfWork, within: Period, *, agent_limit: int = DEFAULT_AGENT_LIMIT) -> SatisfactionReport:
    queries = ReportQueries(uow.session)
    # One more than asked for tells whether there were more.
    agents = queries.satisfaction_by_agent(within, limit=agent_limit + 1)
    return SatisfactionReport(
        overall=queries.satisfaction(within),
        by_team=sorted(queries.satisfaction_by_team(within)),
        by_agent=agents[:agent_limit],
        agents_truncated=len(agents) > agent_limit,
    )


def points_table(
    uow: UnitOfWork,
    within: Period,
    *,
    team: str = "",
    limit: int = DEFAULT_POINTS_LIMIT,
    scoring: Scoring = DEFAULT_SCORING,
) -> list[Standing]:
    """The top ``limit`` agents by points (of ``team``'s tickets and ratings when given)."""
    tallies = ReportQueries(uow.session).agent_tallies(within, scoring=scoring, team=team, limit=limit)
    return reports.standings(tallies, scoring)
