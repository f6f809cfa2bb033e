"""What every ticketing servicer needs from the call it serves: who is calling, and running a
mutating call once per idempotency key (the chassis's ``once``, shared with every service)."""

from __future__ import annotations

from services.ticketing.domain.lifecycle import Actor
from switchboard import context
from switchboard.rpc.calls import once

__all__ = ["current_actor", "once"]


def current_actor() -> Actor:
    caller = context.current().caller
    return Actor(caller.subject, caller.roles)
