"""Errors a use case raises; the gRPC layer maps each to its status, the bus to a dead letter."""

from __future__ import annotations

from dataclasses import dataclass, field


class SwitchboardError(Exception):
    """Base of the errors that carry a message meant for the caller."""


@dataclass
class FieldViolation:
    field: str
    description: str


class InvalidArgument(SwitchboardError):
    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))


class NotFound(SwitchboardError):
    def __init__(self, kind: str, key: str) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"{kind} {key!r} does not exist")


class FailedPrecondition(SwitchboardError):
    """The request is valid but the current state refuses it (a disallowed transition, say)."""


class Aborted(SwitchboardError):
    """A concurrent change won: the caller read a stale version and should re-read and retry."""


class AlreadyExists(SwitchboardError):
    pass


class PermissionDenied(SwitchboardError):
    pass


class Unauthenticated(SwitchboardError):
    pass


@dataclass
class MalformedEvent(Exception):
    """A message that can never be applied: it is dead-lettered at once with this reason."""

    reason: str
    details: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.reason
