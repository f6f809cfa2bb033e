"""The SLA servicer: everyone on the desk reads calendars, policies and a ticket's clocks; only
supervisors (and admins) change a calendar or policy."""

from __future__ import annotations

from datetime import date

import grpc

from services.ticketing.api.callers import current_actor, once
from services.ticketing.domain.calendars import MINUTES_PER_DAY, WEEKDAYS, BusinessCalendar, Span, minutes_of
from services.ticketing.domain.calendars import minutes_text as hhmm
from services.ticketing.domain.sla import ClockView, SlaPolicy
from services.ticketing.service import sla as service
from services.ticketing.service.sla import clock_kind_value
from services.ticketing.store.sla import Stamped
from switchboard import paging
from switchboard.composition import Runtime
from switchboard.enums import tier_name, tier_value
from switchboard.errors import FieldViolation, InvalidArgument
from switchboard.rpc.auth import AGENT, INTEGRATION, SUPERVISOR, TECHNICIAN
from switchboard.rpc.server import ApiBinding
from switchboard.ticketing.v1 import sla_pb2 as pb
from switchboard.ticketing.v1 import sla_pb2_grpc, ticketing_pb2
from switchboard.timestamps import timestamp

_READERS = frozenset({AGENT, SUPERVISOR, TECHNICIAN, INTEGRATION})
PERMISSIONS = {
    "PutCalendar": frozenset({SUPERVISOR}),
    "ListCalendars": _READERS,
    "PutPolicy": frozenset({SUPERVISOR}),
    "ListPolicies": _READERS,
    "GetSlaState": frozenset({AGENT, SUPERVISOR, TECHNICIAN}),
}
_MAX_PAGE = 200


def clock_message(clock: ClockView) -> ticketing_pb2.SlaClock:
    """A clock as GetTicket and GetSlaState show it."""
    message = ticketing_pb2.SlaClock(
        kind=clock_kind_value(clock.kind),
        policy_id=clock.policy_id,
        state=ticketing_pb2.SlaClockState.Value(f"SLA_CLOCK_STATE_{clock.state.value.upper()}"),
        target_seconds=clock.target_seconds,
        used_seconds=clock.used_seconds,
        warned=clock.warned,
    )
    if clock.due_at is not None:
        message.due_at.CopyFrom(timestamp(clock.due_at))
    if clock.stopped_at is not None:
        message.stopped_at.CopyFrom(timestamp(clock.stopped_at))
    elif clock.breached_at is not None:
        message.stopped_at.CopyFrom(timestamp(clock.breached_at))
    return message


def calendar_from_proto(message: pb.BusinessCalendar) -> BusinessCalendar:
    week: list[list[Span]] = [[] for _ in WEEKDAYS]
    for span in message.hours:
        week[span.weekday - 1].append(Span(minutes_of(span.opens), minutes_of(span.closes)))
    holidays = set()
    for index, text in enumerate(message.holidays):
        try:
            holidays.add(date.fromisoformat(text))
        except ValueError:
            raise InvalidArgument(
                [FieldViolation(f"calendar.holidays[{index}]", f"{text!r} is not a date (YYYY-MM-DD)")]
            ) from None
    return BusinessCalendar(
        calendar_id=message.calendar_id,
        name=message.name,
        time_zone=message.time_zone,
        week=tuple(tuple(sorted(day)) for day in week),
        holidays=frozenset(holidays),
        holiday_country=message.holiday_country,
        holiday_subdivision=message.holiday_subdivision,
    )


def calendar_to_proto(calendar: BusinessCalendar, stamped: Stamped) -> pb.BusinessCalendar:
    return pb.BusinessCalendar(
        calendar_id=calendar.calendar_id,
        name=calendar.name,
        time_zone=calendar.time_zone,
        hours=[
            pb.OpeningSpan(
                weekday=index + 1,
                opens=hhmm(span.opens),
                closes="24:00" if span.closes == MINUTES_PER_DAY else hhmm(span.closes),
            )
            for index, day in enumerate(calendar.week)
            for span in day
        ],
        holidays=sorted(d.isoformat() for d in calendar.holidays),
        holiday_country=calendar.holiday_country,
        holiday_subdivision=calendar.holiday_subdivision,
        revision=calendar.revision,
        updated_at=timestamp(stamped.updated_at),
        updated_by=stamped.updated_by,
    )


def policy_from_proto(message: pb.SlaPolicy) -> SlaPolicy:
    return SlaPolicy(
        policy_id=message.policy_id,
        name=message.name,
        priority=message.priority,
        customer_tier=tier_name(message.customer_tier),
        calendar_id=message.calendar_id,
        first_response_seconds=message.first_response_seconds,
        next_response_seconds=message.next_response_seconds,
        resolution_seconds=message.resolution_seconds,
        warn_percents=tuple(message.warn_percents),
        escalation_queue=message.escalation_queue,
        active=message.active,
    )


def policy_to_proto(policy: SlaPolicy, stamped: Stamped) -> pb.SlaPolicy:
    return pb.SlaPolicy(
        policy_id=policy.policy_id,
        name=policy.name,
        priority=policy.priority,  # type: ignore[arg-type]  # 1-4 are PRIORITY_P1..P4
        customer_tier=tier_value(policy.customer_tier),
        calendar_id=policy.calendar_id,
        first_response_seconds=policy.first_response_seconds,
        next_response_seconds=policy.next_response_seconds,
        resolution_seconds=policy.resolution_seconds,
        warn_percents=policy.warn_percents,
        escalation_queue=policy.escalation_queue,
        active=policy.active,
        revision=policy.revision,
        updated_at=timestamp(stamped.updated_at),
        updated_by=stamped.updated_by,
    )


class SlaApi(sla_pb2_grpc.SlaServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def PutCalendar(  # noqa: N802 - gRPC method names
        self, request: pb.PutCalendarRequest, ctx: grpc.ServicerContext
    ) -> pb.PutCalendarResponse:
        calendar = calendar_from_proto(request.calendar)
        by = current_actor().id
        return once(
            self.runtime,
            "PutCalendar",
            request,
            pb.PutCalendarResponse,
            lambda uow: pb.PutCalendarResponse(
                calendar=calendar_to_proto(
                    *service.put_calendar(uow, calendar, expected_revision=request.expected_revision, by=by)
                )
            ),
        )

    def ListCalendars(  # noqa: N802 - gRPC method names
        self, request: pb.ListCalendarsRequest, ctx: grpc.ServicerContext
    ) -> pb.ListCalendarsResponse:
        limit = paging.page_size(request.page_size, _MAX_PAGE)
        with self.runtime.reader() as uow:
            found = service.list_calendars(
                uow,
                after=paging.text_at(paging.decode(request.page_token, expected={"after"}), "after"),
                limit=limit + 1,
            )
        page, token = paging.next_page(found, limit, lambda last: {"after": last[0].calendar_id})
        return pb.ListCalendarsResponse(calendars=[calendar_to_proto(c, s) for c, s in page], next_page_token=token)

    def PutPolicy(  # noqa: N802 - gRPC method names
        self, request: pb.PutPolicyRequest, ctx: grpc.ServicerContext
    ) -> pb.PutPolicyResponse:
        policy = policy_from_proto(request.policy)
        by = current_actor().id
        return once(
            self.runtime,
            "PutPolicy",
            request,
            pb.PutPolicyResponse,
            lambda uow: pb.PutPolicyResponse(
                policy=policy_to_proto(
                    *service.put_policy(uow, policy, expected_revision=request.expected_revision, by=by)
                )
            ),
        )

    def ListPolicies(  # noqa: N802 - gRPC method names
        self, request: pb.ListPoliciesRequest, ctx: grpc.ServicerContext
    ) -> pb.ListPoliciesResponse:
        limit = paging.page_size(request.page_size, _MAX_PAGE)
        with self.runtime.reader() as uow:
            found = service.list_policies(
                uow,
                after=paging.text_at(paging.decode(request.page_token, expected={"after"}), "after"),
                limit=limit + 1,
            )
        page, token = paging.next_page(found, limit, lambda last: {"after": last[0].policy_id})
        return pb.ListPoliciesResponse(policies=[policy_to_proto(p, s) for p, s in page], next_page_token=token)

    def GetSlaState(  # noqa: N802 - gRPC method names
        self, request: pb.GetSlaStateRequest, ctx: grpc.ServicerContext
    ) -> pb.GetSlaStateResponse:
        with self.runtime.reader() as uow:
            state = service.sla_state(uow, request.ticket_id)
        return pb.GetSlaStateResponse(
            ticket_id=state.ticket_id,
            sla_state=state.summary,
            live=[clock_message(c) for c in state.live],
            recomputed=[clock_message(c) for c in state.recomputed],
            agree=state.agree,
            as_of=timestamp(state.as_of),
        )


def bindings(runtime: Runtime) -> ApiBinding:
    return ApiBinding(
        servicer=SlaApi(runtime),
        add_to_server=sla_pb2_grpc.add_SlaServiceServicer_to_server,
        service_name=pb.DESCRIPTOR.services_by_name["SlaService"].full_name,
        permissions=PERMISSIONS,
    )
