"""What every ticketing servicer needs from the call it serves: who is calling, and running a
mutating call once per idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from google.protobuf.message import Message

from services.ticketing.domain.lifecycle import Actor
from switchboard import context
from switchboard.composition import Runtime
from switchboard.db import idempotency
from switchboard.db.uow import UnitOfWork

R = TypeVar("R", bound=Message)


def current_actor() -> Actor:
    caller = context.current().caller
    return Actor(caller.subject, caller.roles)


def once(runtime: Runtime, method: str, request: Message, response_type: type[R], act: Callable[[UnitOfWork], R]) -> R:
    """Run a mutating call in one unit of work, or answer a retry with the first result (every mutating
    request of ticketing carries a required ``idempotency_key``)."""
    return idempotency.once(
        runtime.uow,
        scope=f"{current_actor().id}:{method}",
        key=request.idempotency_key,
        request=request,
        response_type=response_type,
        act=act,
    )
