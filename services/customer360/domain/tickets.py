"""The customer's tickets as the view shows them, folded from ticket events in any order.

Each event carries the moment it happened; a status older than the one held is ignored, so a late
"assigned" never reopens a ticket a newer "closed" finished.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

FINISHED = frozenset({"resolved", "closed", "cancelled"})


@dataclass(frozen=True)
class TicketState:
    ticket_id: str
    customer_id: str
    number: str = ""
    subject: str = ""
    status: str = ""
    priority: int = 0
    status_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.status not in FINISHED


def folded(
    current: TicketState | None,
    *,
    ticket_id: str,
    customer_id: str,
    at: datetime,
    number: str = "",
    subject: str = "",
    status: str = "",
    priority: int = 0,
) -> TicketState:
    """The state after one event: descriptive fields fill in whenever they are known, the status
    only when this event is not older than the one that set it."""
    state = current or TicketState(ticket_id=ticket_id, customer_id=customer_id)
    state = replace(
        state,
        number=state.number or number,
        subject=subject or state.subject,
        priority=priority or state.priority,
        updated_at=max(at, state.updated_at) if state.updated_at else at,
    )
    if status and (state.status_at is None or at >= state.status_at):
        state = replace(state, status=status, status_at=at)
    return state
