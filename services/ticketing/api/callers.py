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
    """Run a mutating call in one unit of work, or answer a retry with the first result.

    A call without a key still runs in one transaction; it just cannot be recognised when retried.
    """
    key = getattr(request, "idempotency_key", "")
    if not key:
        with runtime.uow() as uow:
            response = act(uow)
            uow.commit()
        return response
    return idempotency.once(
        runtime.uow,
        scope=f"{current_actor().id}:{method}",
        key=key,
        request=request,
        response_type=response_type,
        act=act,
    )
