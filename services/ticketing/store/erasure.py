"""Removing a customer's personal data from every ticketing table that can hold it.

Ids, statuses, times and counts stay, so reports and SLA figures are unchanged; what a person wrote or
what identifies them (text, addresses, places, signatures) goes.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.ticketing.store.conversation import service_records, ticket_comments
from services.ticketing.store.history import ticket_history
from services.ticketing.store.ratings import ticket_ratings
from services.ticketing.store.tickets import tickets
from services.ticketing.store.work_orders import work_orders

ERASED = "[erased]"
# History rows of these fields repeat what the customer wrote.
_TEXT_FIELDS = ("subject", "description", "custom_fields")


def erase_customer_data(session: Session, customer_id: str) -> int:
    """Scrub the customer's tickets, their conversation, history, ratings and work orders; the tickets touched."""
    theirs = select(tickets.c.ticket_id).where(tickets.c.customer_id == customer_id).scalar_subquery()
    touched = session.execute(
        update(tickets)
        .where(tickets.c.customer_id == customer_id)
        .values(subject=ERASED, description="", custom_fields={})
    ).rowcount
    session.execute(update(ticket_comments).where(ticket_comments.c.ticket_id.in_(theirs)).values(body=ERASED))
    session.execute(update(service_records).where(service_records.c.ticket_id.in_(theirs)).values(description=ERASED))
    session.execute(
        update(ticket_history)
        .where(ticket_history.c.ticket_id.in_(theirs), ticket_history.c.field.in_(_TEXT_FIELDS))
        .values(old_value=ERASED, new_value=ERASED)
    )
    session.execute(update(ticket_ratings).where(ticket_ratings.c.customer_id == customer_id).values(comment=""))
    session.execute(
        update(work_orders)
        .where(work_orders.c.customer_id == customer_id)
        .values(site_address=ERASED, latitude=0.0, longitude=0.0, signed_off_by="", note="")
    )
    return int(touched)
