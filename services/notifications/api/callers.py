"""Who is calling, as notifications' servicers need to know it."""

from __future__ import annotations

from switchboard import context
from switchboard.errors import PermissionDenied
from switchboard.rpc.auth import ADMIN, AGENT, INTEGRATION, SUPERVISOR, TECHNICIAN

OVERSEERS = frozenset({SUPERVISOR, ADMIN})
STAFF = frozenset({AGENT, TECHNICIAN, SUPERVISOR, ADMIN})
SENDERS = frozenset({AGENT, SUPERVISOR, ADMIN, INTEGRATION})


def caller_id() -> str:
    return context.current().caller.subject


def oversees() -> bool:
    return context.current().caller.has_any(OVERSEERS)


def acting_for(recipient_id: str, doing: str) -> str:
    """The recipient a call concerns: the caller when empty; another only for a supervisor or an admin."""
    me = caller_id()
    if not recipient_id or recipient_id == me:
        return me
    if not oversees():
        raise PermissionDenied(f"{me} may not {doing} {recipient_id}: only a supervisor or an admin may")
    return recipient_id
