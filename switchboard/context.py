"""What a piece of work runs on behalf of: caller, correlation, causation and deadline.

Set by the gRPC interceptor and by the consumer runtime; read by the unit of work (to stamp
outgoing events) and by clients (to pass the remaining deadline on).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import structlog

from switchboard.ids import new_id


@dataclass(frozen=True)
class Caller:
    subject: str
    roles: frozenset[str]

    def has_any(self, roles: frozenset[str]) -> bool:
        return bool(self.roles & roles)


SYSTEM = Caller(subject="system", roles=frozenset({"system"}))


@dataclass(frozen=True)
class WorkContext:
    correlation_id: str
    causation_id: str
    caller: Caller
    deadline: float | None  # time.monotonic() value, or None for no deadline

    def time_left(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())


_current: ContextVar[WorkContext | None] = ContextVar("switchboard_work", default=None)


def current() -> WorkContext:
    """The context of the work in progress; outside any, a fresh system context."""
    ctx = _current.get()
    if ctx is None:
        return WorkContext(correlation_id=new_id(), causation_id="", caller=SYSTEM, deadline=None)
    return ctx


@contextmanager
def working(ctx: WorkContext) -> Iterator[WorkContext]:
    token = _current.set(ctx)
    with structlog.contextvars.bound_contextvars(correlation_id=ctx.correlation_id):
        try:
            yield ctx
        finally:
            _current.reset(token)
