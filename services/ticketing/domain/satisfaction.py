"""A customer's rating of a resolved ticket, and the follow-up a low one opens.

A ticket is rated once, from 1 to 5, after it was resolved. The rating keeps the team and agent
the ticket had when it was rated, so a later reassignment never moves praise or blame.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.ticketing.domain.lifecycle import AGENT, INTEGRATION, SUPERVISOR, Actor
from services.ticketing.domain.tickets import NewTicket, Status, Ticket
from switchboard.errors import FailedPrecondition, FieldViolation, InvalidArgument, PermissionDenied

MIN_SCORE = 1
MAX_SCORE = 5
# 4 and 5 are the answers a survey counts as satisfied ("top two boxes").
GOOD_SCORE = 4
DEFAULT_FOLLOW_UP_AT_OR_BELOW = 2
COMMENT_MAX = 2000
# The customer's portal or survey system relays the rating; agents and supervisors record one
# given on the phone.
MAY_RATE = frozenset({INTEGRATION, AGENT, SUPERVISOR})

FOLLOW_UP_CATEGORY = "satisfaction_follow_up"
FOLLOW_UP_TAG = "satisfaction-follow-up"
# The custom field that links a follow-up to the ticket whose rating opened it.
FOLLOW_UP_OF = "follow_up_of"
FOLLOW_UP_CHANNEL = "system_event"
FOLLOW_UP_CREATED_BY = "system"
# The unhappiest customers are called back first.
_FOLLOW_UP_PRIORITY = {1: 2, 2: 3}
_FOLLOW_UP_DEFAULT_PRIORITY = 3

_RATEABLE = frozenset({Status.RESOLVED, Status.CLOSED})


@dataclass(frozen=True)
class Rating:
    ticket_id: str
    customer_id: str
    score: int
    comment: str
    # The ticket's team and assignee when it was rated: who the rating speaks about.
    team: str
    agent: str
    # Who recorded it: the survey system's or the agent's id.
    recorded_by: str
    rated_at: datetime
    follow_up_ticket_id: str = ""

    @property
    def good(self) -> bool:
        return self.score >= GOOD_SCORE


def rate(ticket: Ticket, *, score: int, comment: str, actor: Actor, now: datetime) -> Rating:
    """The rating ``actor`` records for ``ticket``, or why it may not (INVALID_ARGUMENT,
    PERMISSION_DENIED, FAILED_PRECONDITION). Whether the ticket was rated before is the store's to say."""
    _check_score(score, comment)
    _check_rater(ticket, actor)
    _check_resolved(ticket)
    return Rating(
        ticket_id=ticket.ticket_id,
        customer_id=ticket.customer_id,
        score=score,
        comment=comment.strip(),
        team=ticket.team,
        agent=ticket.assignee,
        recorded_by=actor.id,
        rated_at=now,
    )


def needs_follow_up(rating: Rating, *, at_or_below: int = DEFAULT_FOLLOW_UP_AT_OR_BELOW) -> bool:
    return rating.score <= at_or_below


def follow_up(ticket: Ticket, rating: Rating) -> NewTicket:
    """The task a low score opens for the ticket's team: call the customer back.

    Linked to the rated ticket by the ``follow_up_of`` custom field, not as its child: a parent
    closes only after its children, so a child would hold the rated ticket open until the call
    back is done, and the rated ticket is finished work.
    """
    return NewTicket(
        customer_id=ticket.customer_id,
        asset_id=ticket.asset_id,
        channel=FOLLOW_UP_CHANNEL,
        subject=f"Follow up: {ticket.number} was rated {rating.score} of {MAX_SCORE}",
        description=rating.comment or "The customer left no comment.",
        priority=_FOLLOW_UP_PRIORITY.get(rating.score, _FOLLOW_UP_DEFAULT_PRIORITY),
        language=ticket.language,
        tags=(FOLLOW_UP_TAG, f"rated:{rating.score}"),
        category=FOLLOW_UP_CATEGORY,
        team=ticket.team,
        custom_fields={FOLLOW_UP_OF: ticket.ticket_id},
        # The agent who handled it hears how it went, without having to own the call back.
        watchers=(ticket.assignee,) if ticket.assignee else (),
        created_by=FOLLOW_UP_CREATED_BY,
    )


def _check_score(score: int, comment: str) -> None:
    violations = []
    if not MIN_SCORE <= score <= MAX_SCORE:
        violations.append(FieldViolation("score", f"must be from {MIN_SCORE} to {MAX_SCORE}, not {score}"))
    if len(comment) > COMMENT_MAX:
        violations.append(FieldViolation("comment", f"must be at most {COMMENT_MAX} characters, not {len(comment)}"))
    if violations:
        raise InvalidArgument(violations)


def _check_rater(ticket: Ticket, actor: Actor) -> None:
    if not actor.may(MAY_RATE):
        raise PermissionDenied(f"recording a rating needs one of the roles {sorted(MAY_RATE)}")
    # The points table counts good ratings: nobody records the rating of their own work.
    if ticket.assignee and actor.id == ticket.assignee:
        raise PermissionDenied(
            f"{actor.id} handled {_name(ticket)} and may not record its rating; ask a colleague or a supervisor"
        )


def _check_resolved(ticket: Ticket) -> None:
    if ticket.merged_into:
        raise FailedPrecondition(
            f"{_name(ticket)} was merged into ticket {ticket.merged_into} as a duplicate; rate that ticket instead"
        )
    if ticket.status not in _RATEABLE or ticket.resolved_at is None:
        raise FailedPrecondition(
            f"{_name(ticket)} is {ticket.status.value}; a ticket can be rated once it is resolved"
            + (" (a cancelled ticket never is)" if ticket.status is Status.CANCELLED else "")
        )


def _name(ticket: Ticket) -> str:
    return ticket.number if ticket.seq else "the ticket"
