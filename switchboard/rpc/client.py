"""Client side: channels, metadata with token and correlation id, and deadlines passed on."""

from __future__ import annotations

import grpc

from switchboard import context
from switchboard.rpc.interceptor import CORRELATION_HEADER


def channel(target: str) -> grpc.Channel:
    return grpc.insecure_channel(target)


def metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    pairs = [(CORRELATION_HEADER, context.current().correlation_id)]
    if token:
        pairs.append(("authorization", f"Bearer {token}"))
    return tuple(pairs)


def timeout(default: float) -> float:
    """The deadline for an outgoing call: never later than the deadline of the call being served.

    Python's gRPC does not propagate deadlines by itself; servers that call other services use this.
    """
    left = context.current().time_left()
    return default if left is None else min(default, left)
