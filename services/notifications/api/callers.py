"""The callers of notifications' servicers."""

from __future__ import annotations

from switchboard.rpc.auth import ADMIN, AGENT, INTEGRATION, SUPERVISOR, TECHNICIAN

STAFF = frozenset({AGENT, TECHNICIAN, SUPERVISOR, ADMIN})
SENDERS = frozenset({AGENT, SUPERVISOR, ADMIN, INTEGRATION})
