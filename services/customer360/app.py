"""Customer-360, as the composition root sees it.

Its process, database (with the chassis tables) and health-checked gRPC server run today; its API
and the events it applies arrive with the customer-360 issue.
"""

from __future__ import annotations

from switchboard.composition import ServiceDefinition

SERVICE = ServiceDefinition(name="customer360", port_offset=2, migrations=None, api=lambda runtime: [])
