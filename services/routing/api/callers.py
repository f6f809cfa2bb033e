"""Who is calling, as routing's servicers need to know it: the caller's id, and whether it may act for others."""

from __future__ import annotations

from switchboard import context
from switchboard.errors import PermissionDenied
from switchboard.rpc.auth import ADMIN, AGENT, SUPERVISOR, TECHNICIAN

_OVERSEERS = frozenset({SUPERVISOR, ADMIN})
# Everyone who works tasks: they read routing and act on their own offers and presence.
STAFF = frozenset({AGENT, TECHNICIAN, SUPERVISOR})


def caller_id() -> str:
    return context.current().caller.subject


def supervises() -> bool:
    """Whether the caller may act for any worker (accept their offers, set their presence, ...)."""
    return context.current().caller.has_any(_OVERSEERS)


def worker_acted_for(worker_id: str, doing: str) -> str:
    """The worker a call acts for: the caller itself when ``worker_id`` is empty; another only for a supervisor."""
    me = caller_id()
    if not worker_id or worker_id == me:
        return me
    if not supervises():
        raise PermissionDenied(f"{me} may not {doing} {worker_id}: only a supervisor acts for another worker")
    return worker_id
