"""Ticketing's gRPC servicers, one module per area, and the bindings the composition root serves."""

from __future__ import annotations

from services.ticketing.api import reports, satisfaction, sla, tickets, triage, work_orders
from switchboard.composition import Runtime
from switchboard.rpc.server import ApiBinding


def bindings(runtime: Runtime) -> list[ApiBinding]:
    return [
        tickets.bindings(runtime),
        triage.bindings(runtime),
        sla.bindings(runtime),
        satisfaction.bindings(runtime),
        reports.bindings(runtime),
        work_orders.bindings(runtime),
    ]
