"""The ``switchboard`` command. ``suite`` holds the app, its shared helpers and the commands of the suite, ticketing
and routing; each other area adds its commands to the same app from its own module."""

from switchboard.cli import (
    customers,  # noqa: F401  (registers its commands)
    notifications,  # noqa: F401  (registers its commands)
)
from switchboard.cli.suite import app, main

__all__ = ["app", "main"]
