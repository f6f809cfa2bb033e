"""What a servicer needs from the call it serves: running a mutating call once per idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from google.protobuf.message import Message

from switchboard import context
from switchboard.composition import Runtime
from switchboard.db import idempotency
from switchboard.db.uow import UnitOfWork

R = TypeVar("R", bound=Message)


def once(runtime: Runtime, method: str, request: Message, response_type: type[R], act: Callable[[UnitOfWork], R]) -> R:
    """Run a mutating call in one unit of work, or answer a retry with the first result.

    Every mutating request declares a required ``idempotency_key``. Keys are the caller's own: one
    caller's key never answers another caller's call, nor a call of another method.
    """
    return idempotency.once(
        runtime.uow,
        scope=f"{context.current().caller.subject}:{method}",
        key=request.idempotency_key,  # type: ignore[attr-defined]  # declared by each request message
        request=request,
        response_type=response_type,
        act=act,
    )
