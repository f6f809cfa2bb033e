"""The callers of routing's servicers: everyone who works tasks."""

from __future__ import annotations

from switchboard.rpc.auth import AGENT, SUPERVISOR, TECHNICIAN

# Everyone who works tasks: they read routing and act on their own offers and presence.
STAFF = frozenset({AGENT, TECHNICIAN, SUPERVISOR})
