"""Notifications, as the composition root sees it.

Its process, database (with the chassis tables) and health-checked gRPC server run today; its API
and the events it applies arrive with the notifications issue.
"""

from __future__ import annotations

from switchboard.composition import ServiceDefinition

SERVICE = ServiceDefinition(name="notifications", port_offset=3, migrations=None, api=lambda runtime: [])
