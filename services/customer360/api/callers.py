"""What every customer-360 servicer needs from the call it serves: who is calling, and running a
mutating call once per idempotency key (the chassis's ``once``)."""

from __future__ import annotations

from switchboard import context
from switchboard.rpc.calls import once

__all__ = ["caller_id", "once"]


def caller_id() -> str:
    return context.current().caller.subject
