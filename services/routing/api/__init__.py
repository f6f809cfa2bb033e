"""Routing's gRPC servicers, one module per service, and the bindings the composition root serves."""

from __future__ import annotations

from services.routing.api import dispatch, queues, tasks, workers
from switchboard.composition import Runtime
from switchboard.rpc.server import ApiBinding


def bindings(runtime: Runtime) -> list[ApiBinding]:
    return [
        tasks.bindings(runtime),
        workers.bindings(runtime),
        queues.bindings(runtime),
        dispatch.bindings(runtime),
    ]
