"""Customer-360's gRPC servicer and the bindings the composition root serves."""

from __future__ import annotations

from services.customer360 import config
from services.customer360.api import customers
from services.customer360.service import value
from switchboard.composition import Runtime
from switchboard.rpc.server import ApiBinding


def bindings(runtime: Runtime) -> list[ApiBinding]:
    # Fail at start, not at the first event, when a setting is wrong.
    config.load()
    value.pricing()
    return [customers.bindings(runtime)]
