"""Notifications' gRPC servicers, one module per service, and the bindings the composition root serves."""

from __future__ import annotations

from services.notifications.api import notifications, preferences, templates
from switchboard.composition import Runtime
from switchboard.rpc.server import ApiBinding


def bindings(runtime: Runtime) -> list[ApiBinding]:
    return [notifications.bindings(runtime), preferences.bindings(runtime), templates.bindings(runtime)]
