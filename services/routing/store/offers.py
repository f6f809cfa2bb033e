"""Offers, and the decisions that made them with their reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.orm import Session

from services.routing.domain.offers import Candidate, Offer, OfferMade, OfferStatus, Reason
from services.routing.store.schema import decisions, offers


def _offer(row: Row[Any]) -> Offer:
    return Offer(
        offer_id=row.offer_id,
        task_id=row.task_id,
        worker_id=row.worker_id,
        channel=row.channel,
        created_at=row.created_at,
        expires_at=row.expires_at,
        status=OfferStatus(row.status),
        decision_id=row.decision_id,
    )


class OfferStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, offer: Offer) -> None:
        self.session.execute(
            insert(offers).values(
                offer_id=offer.offer_id,
                task_id=offer.task_id,
                worker_id=offer.worker_id,
                channel=offer.channel,
                status=offer.status.value,
                created_at=offer.created_at,
                expires_at=offer.expires_at,
                decision_id=offer.decision_id,
                reason="",
            )
        )

    def get(self, offer_id: str) -> Offer | None:
        row = self.session.execute(select(offers).where(offers.c.offer_id == offer_id)).first()
        return _offer(row) if row else None

    def close(
        self, offer_id: str, status: OfferStatus, *, at: datetime, reason: str = "", unexpired: bool = False
    ) -> Offer | None:
        """Move a pending offer to ``status``; None when it was no longer pending (someone else closed it).
        ``unexpired``: only while it has not run out (an acceptance after the deadline loses)."""
        query = update(offers).where(offers.c.offer_id == offer_id, offers.c.status == OfferStatus.PENDING.value)
        if unexpired:
            query = query.where(offers.c.expires_at > at)
        row = self.session.execute(
            query.values(status=status.value, closed_at=at, reason=reason[:200]).returning(*offers.c)
        ).first()
        return _offer(row) if row else None

    def of_task(self, task_id: str, *, pending_only: bool = False) -> list[Offer]:
        query = select(offers).where(offers.c.task_id == task_id).order_by(offers.c.created_at, offers.c.offer_id)
        if pending_only:
            query = query.where(offers.c.status == OfferStatus.PENDING.value)
        return [_offer(row) for row in self.session.execute(query)]

    def of_worker(self, worker_id: str, *, pending_only: bool) -> list[Offer]:
        query = select(offers).where(offers.c.worker_id == worker_id)
        if pending_only:
            query = query.where(offers.c.status == OfferStatus.PENDING.value)
        else:
            # The latest few, enough for a console to show what just happened.
            query = query.order_by(offers.c.created_at.desc()).limit(50)
        return sorted((_offer(row) for row in self.session.execute(query)), key=lambda o: (o.created_at, o.offer_id))

    def pending(self) -> list[Offer]:
        query = select(offers).where(offers.c.status == OfferStatus.PENDING.value).order_by(offers.c.created_at)
        return [_offer(row) for row in self.session.execute(query)]


class DecisionStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, made: OfferMade, at: datetime) -> None:
        reason = made.reason
        self.session.execute(
            insert(decisions).values(
                decision_id=made.decision_id,
                task_id=made.task_id,
                decided_at=at,
                queue_id=reason.queue_id,
                step=reason.step,
                rule=reason.rule,
                candidates=[[c.worker_id, c.score, c.note] for c in reason.candidates],
                qualified=reason.qualified,
                explanation=reason.explanation[:2000],
                offered_to=[o.worker_id for o in made.offers],
            )
        )

    def of_task(self, task_id: str) -> list[tuple[str, datetime, Reason, tuple[str, ...]]]:
        rows = self.session.execute(
            select(decisions).where(decisions.c.task_id == task_id).order_by(decisions.c.decided_at)
        )
        return [
            (
                row.decision_id,
                row.decided_at,
                Reason(
                    queue_id=row.queue_id,
                    step=row.step,
                    rule=row.rule,
                    candidates=tuple(Candidate(w, s, n) for w, s, n in row.candidates),
                    qualified=row.qualified,
                    explanation=row.explanation,
                ),
                tuple(row.offered_to),
            )
            for row in rows
        ]
