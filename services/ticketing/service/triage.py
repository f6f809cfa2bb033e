"""Triage use cases: classify a ticket as it is created, and read or replace the rules."""

from __future__ import annotations

from collections.abc import Sequence

from services.ticketing.domain import triage
from services.ticketing.domain.lifecycle import SUPERVISOR, Actor
from services.ticketing.domain.tickets import NewTicket
from services.ticketing.domain.triage import Ruleset, TriageRule
from services.ticketing.store.triage import TriageStore
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.errors import PermissionDenied

# Who may change how every new ticket is sorted (admins always may).
EDITORS = frozenset({SUPERVISOR})


def classify(uow: UnitOfWork, new: NewTicket, *, tier: str) -> tuple[NewTicket, str]:
    """The new ticket as the rules in force classify it, and the rule(s) to record ("" if none applied).

    Called by create_ticket in its own unit of work, so a ticket is classified by the rules that
    were in force when it was created.
    """
    return triage.classify(TriageStore(uow.session).current().rules, new, tier)


def current_rules(uow: UnitOfWork) -> Ruleset:
    return TriageStore(uow.session).current()


def replace_rules(uow: UnitOfWork, rules: Sequence[TriageRule], *, expected_version: int, actor: Actor) -> Ruleset:
    """Put a new ruleset in force if the one in force is still ``expected_version`` (ABORTED if not)."""
    if not actor.may(EDITORS):
        raise PermissionDenied(f"{actor.id} may not change the triage rules; a supervisor or an admin may")
    triage.validate(rules)
    return TriageStore(uow.session).replace(rules, expected_version=expected_version, by=actor.id, at=utcnow())
