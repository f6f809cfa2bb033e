"""Satisfaction: the customer rates a resolved ticket once; a low score opens a follow-up for the team."""

from __future__ import annotations

from dataclasses import replace

from services.ticketing.domain import satisfaction
from services.ticketing.domain.lifecycle import Actor
from services.ticketing.domain.satisfaction import DEFAULT_FOLLOW_UP_AT_OR_BELOW, Rating
from services.ticketing.service import tickets
from services.ticketing.store.ratings import RatingStore
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.errors import AlreadyExists
from switchboard.events.v1.ticketing_events_pb2 import TicketRated
from switchboard.timestamps import timestamp


def rate_ticket(
    uow: UnitOfWork,
    ticket_id: str,
    *,
    score: int,
    comment: str,
    actor: Actor,
    follow_up_at_or_below: int = DEFAULT_FOLLOW_UP_AT_OR_BELOW,
) -> Rating:
    """Record the customer's rating of a resolved ticket and emit ticket.rated; a score at or below
    ``follow_up_at_or_below`` also opens a follow-up ticket for the ticket's team.

    INVALID_ARGUMENT for a score outside 1-5, PERMISSION_DENIED for a caller who may not record it,
    FAILED_PRECONDITION before the ticket is resolved, ALREADY_EXISTS when it was rated before.
    """
    ticket = tickets.load(uow, ticket_id)
    store = RatingStore(uow.session)
    existing = store.get(ticket_id)
    if existing is not None:
        raise _already_rated(ticket.number, existing)
    rating = satisfaction.rate(ticket, score=score, comment=comment, actor=actor, now=utcnow())
    if not store.add(rating):
        # Another call rated it between our read and our insert; the key kept it to one.
        raise _already_rated(ticket.number, store.get(ticket_id))
    if satisfaction.needs_follow_up(rating, at_or_below=follow_up_at_or_below):
        follow_up = tickets.create_ticket(uow, satisfaction.follow_up(ticket, rating))
        rating = replace(rating, follow_up_ticket_id=follow_up.ticket_id)
        store.set_follow_up(ticket_id, follow_up.ticket_id)
    uow.emit(
        TicketRated(
            ticket_id=ticket.ticket_id,
            number=ticket.number,
            customer_id=ticket.customer_id,
            score=rating.score,
            comment=rating.comment,
            team=rating.team,
            assignee=rating.agent,
            rated_at=timestamp(rating.rated_at),
            follow_up_ticket_id=rating.follow_up_ticket_id,
        ),
        customer_id=ticket.customer_id,
    )
    return rating


def rating_of(uow: UnitOfWork, ticket_id: str) -> Rating | None:
    """The ticket's rating, for its detail view; None until it is rated."""
    return RatingStore(uow.session).get(ticket_id)


def _already_rated(number: str, existing: Rating | None) -> AlreadyExists:
    when = (
        f" {existing.score} of {satisfaction.MAX_SCORE} on {existing.rated_at:%Y-%m-%d %H:%M} UTC" if existing else ""
    )
    return AlreadyExists(f"ticket {number} was already rated{when}; a ticket is rated once")
