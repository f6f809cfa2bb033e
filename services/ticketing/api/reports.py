"""The reporting servicer: supervisors' and managers' figures, each report one call over a range."""

from __future__ import annotations

from datetime import UTC

import grpc

from services.ticketing.domain import reports
from services.ticketing.domain.reports import Compliance, Durations, FirstContact, Grain, Period, Satisfaction
from services.ticketing.service import reports as service
from switchboard.composition import Runtime
from switchboard.enums import channel_value
from switchboard.events.v1.ticketing_events_pb2 import SlaClockKind
from switchboard.rpc.auth import SUPERVISOR
from switchboard.rpc.server import ApiBinding
from switchboard.ticketing.v1 import reports_pb2 as pb
from switchboard.ticketing.v1 import reports_pb2_grpc
from switchboard.timestamps import timestamp

# Admins may call everything (the interceptor adds them); agents compete in the points table but
# see it through their supervisor's screens, not by querying colleagues' figures.
_SUPERVISORS = frozenset({SUPERVISOR})
PERMISSIONS = {
    "GetVolumeReport": _SUPERVISORS,
    "GetHandlingTimeReport": _SUPERVISORS,
    "GetFirstContactResolutionReport": _SUPERVISORS,
    "GetSlaComplianceReport": _SUPERVISORS,
    "GetSatisfactionReport": _SUPERVISORS,
    "GetPointsTable": _SUPERVISORS,
}

_GRAINS = {
    pb.REPORT_GRANULARITY_DAY: Grain.DAY,
    pb.REPORT_GRANULARITY_WEEK: Grain.WEEK,
    pb.REPORT_GRANULARITY_MONTH: Grain.MONTH,
}


def period_of(message: pb.ReportRange) -> Period:
    return reports.period(
        message.start_time.ToDatetime(tzinfo=UTC), message.end_time.ToDatetime(tzinfo=UTC), message.time_zone
    )


def _clock(kind: str) -> SlaClockKind.ValueType:
    return SlaClockKind.Value(f"SLA_CLOCK_KIND_{kind.upper()}")


def _handling(category: str, figures: Durations) -> pb.HandlingTime:
    return pb.HandlingTime(
        category=category,
        resolved=figures.count,
        mean_seconds=figures.mean,
        median_seconds=figures.median,
        p90_seconds=figures.p90,
    )


def _first_contact(tally: FirstContact) -> pb.FirstContactResolution:
    return pb.FirstContactResolution(resolved=tally.resolved, first_contact=tally.first_contact, rate=tally.rate)


def _compliance(tally: Compliance) -> pb.SlaCompliance:
    return pb.SlaCompliance(met=tally.met, breached=tally.breached, rate=tally.rate)


def _satisfaction(tally: Satisfaction) -> pb.SatisfactionSummary:
    return pb.SatisfactionSummary(ratings=tally.ratings, mean_score=tally.mean, good_share=tally.good_share)


class ReportingApi(reports_pb2_grpc.ReportingServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def GetVolumeReport(  # noqa: N802 - gRPC method names
        self, request: pb.GetVolumeReportRequest, ctx: grpc.ServicerContext
    ) -> pb.GetVolumeReportResponse:
        within = period_of(request.range)
        with self.runtime.reader() as uow:
            found = service.volume(uow, within, _GRAINS[request.granularity])
        buckets = [
            pb.VolumeBucket(
                label=b.bucket.label,
                start_time=timestamp(b.bucket.start),
                end_time=timestamp(b.bucket.end),
                total=b.total,
                cells=[
                    pb.VolumeCell(category=c.category, channel=channel_value(c.channel), count=c.count) for c in b.cells
                ],
            )
            for b in found
        ]
        return pb.GetVolumeReportResponse(buckets=buckets, total=sum(b.total for b in found))

    def GetHandlingTimeReport(  # noqa: N802 - gRPC method names
        self, request: pb.GetHandlingTimeReportRequest, ctx: grpc.ServicerContext
    ) -> pb.GetHandlingTimeReportResponse:
        within = period_of(request.range)
        with self.runtime.reader() as uow:
            found = service.handling_time(uow, within)
        return pb.GetHandlingTimeReportResponse(
            categories=[_handling(row.category, row.durations) for row in found.categories],
            overall=_handling("", found.overall) if found.overall else None,
        )

    def GetFirstContactResolutionReport(  # noqa: N802 - gRPC method names
        self, request: pb.GetFirstContactResolutionReportRequest, ctx: grpc.ServicerContext
    ) -> pb.GetFirstContactResolutionReportResponse:
        within = period_of(request.range)
        with self.runtime.reader() as uow:
            found = service.first_contact_resolution(uow, within)
        return pb.GetFirstContactResolutionReportResponse(
            overall=_first_contact(found.overall),
            teams=[pb.TeamFirstContactResolution(team=t, result=_first_contact(r)) for t, r in found.by_team],
            channels=[
                pb.ChannelFirstContactResolution(channel=channel_value(c), result=_first_contact(r))
                for c, r in found.by_channel
            ],
        )

    def GetSlaComplianceReport(  # noqa: N802 - gRPC method names
        self, request: pb.GetSlaComplianceReportRequest, ctx: grpc.ServicerContext
    ) -> pb.GetSlaComplianceReportResponse:
        within = period_of(request.range)
        with self.runtime.reader() as uow:
            found = service.sla_compliance(uow, within)
        return pb.GetSlaComplianceReportResponse(
            rows=[
                pb.SlaComplianceRow(
                    policy_id=row.policy_id,
                    team=row.team,
                    clock=_clock(row.kind),
                    compliance=_compliance(row.compliance),
                )
                for row in found.rows
            ],
            overall=_compliance(found.overall),
        )

    def GetSatisfactionReport(  # noqa: N802 - gRPC method names
        self, request: pb.GetSatisfactionReportRequest, ctx: grpc.ServicerContext
    ) -> pb.GetSatisfactionReportResponse:
        within = period_of(request.range)
        with self.runtime.reader() as uow:
            found = service.satisfaction(uow, within, agent_limit=request.agent_limit or service.DEFAULT_AGENT_LIMIT)
        return pb.GetSatisfactionReportResponse(
            overall=_satisfaction(found.overall),
            teams=[pb.TeamSatisfaction(team=t, summary=_satisfaction(s)) for t, s in found.by_team],
            agents=[pb.AgentSatisfaction(agent=a, summary=_satisfaction(s)) for a, s in found.by_agent],
            agents_truncated=found.agents_truncated,
        )

    def GetPointsTable(  # noqa: N802 - gRPC method names
        self, request: pb.GetPointsTableRequest, ctx: grpc.ServicerContext
    ) -> pb.GetPointsTableResponse:
        within = period_of(request.range)
        scoring = reports.DEFAULT_SCORING
        with self.runtime.reader() as uow:
            table = service.points_table(
                uow, within, team=request.team, limit=request.limit or service.DEFAULT_POINTS_LIMIT, scoring=scoring
            )
        return pb.GetPointsTableResponse(
            standings=[
                pb.Standing(
                    rank=s.rank, agent=s.agent, resolved=s.resolved, good_ratings=s.good_ratings, points=s.points
                )
                for s in table
            ],
            points_per_resolved=scoring.per_resolved,
            points_per_good_rating=scoring.per_good_rating,
        )


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=ReportingApi(runtime),
        add_to_server=reports_pb2_grpc.add_ReportingServiceServicer_to_server,
        service_name=pb.DESCRIPTOR.services_by_name["ReportingService"].full_name,
        permissions=PERMISSIONS,
    )
