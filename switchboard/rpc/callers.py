"""Who is calling, as a servicer needs to know it: the caller the auth interceptor verified, and whether it
may act for someone else."""

from __future__ import annotations

from switchboard import context
from switchboard.errors import PermissionDenied
from switchboard.rpc.auth import ADMIN, SUPERVISOR

OVERSEERS = frozenset({SUPERVISOR, ADMIN})


def caller_id() -> str:
    return context.current().caller.subject


def oversees() -> bool:
    """Whether the caller may act for anyone (watch their feed, accept their offers, set their presence)."""
    return context.current().caller.has_any(OVERSEERS)


def acting_for(subject: str, doing: str) -> str:
    """Whom a call acts for: the caller itself when ``subject`` is empty; another only for a supervisor or an
    admin, else PERMISSION_DENIED saying what was refused."""
    me = caller_id()
    if not subject or subject == me:
        return me
    if not oversees():
        raise PermissionDenied(f"{me} may not {doing} {subject}: only a supervisor or an admin acts for another")
    return subject
