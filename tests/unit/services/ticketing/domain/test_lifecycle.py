"""The ticket lifecycle as a table: every pair of statuses, allowed or refused, and what a move needs."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.ticketing.domain import lifecycle
from services.ticketing.domain.lifecycle import Actor
from services.ticketing.domain.tickets import Status, Ticket, open_ticket
from switchboard.errors import FailedPrecondition, PermissionDenied
from tests.unit.builders import new_ticket

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
AGENT = Actor("alice", frozenset({"agent"}))
SUPERVISOR = Actor("sam", frozenset({"supervisor"}))
TECHNICIAN = Actor("tom", frozenset({"technician"}))
INTEGRATION = Actor("portal", frozenset({"integration"}))
ADMIN = Actor("root", frozenset({"admin"}))

# The whole lifecycle, written out by hand: (from, to) -> roles that may make the move.
STAFF = {"agent", "supervisor"}
FIELD = STAFF | {"technician"}
CUSTOMER_SIDE = STAFF | {"integration"}
OPEN = ["new", "triaged", "assigned", "in_progress", "pending_customer", "pending_parts"]
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("new", "triaged"): STAFF,
    ("new", "assigned"): STAFF,
    ("triaged", "assigned"): STAFF,
    ("assigned", "in_progress"): FIELD,
    ("in_progress", "pending_customer"): FIELD,
    ("in_progress", "pending_parts"): FIELD,
    ("pending_customer", "in_progress"): FIELD | {"integration"},
    ("pending_parts", "in_progress"): FIELD,
    **{(source, "resolved"): FIELD for source in OPEN},
    ("resolved", "closed"): CUSTOMER_SIDE,
    ("resolved", "in_progress"): CUSTOMER_SIDE,
    ("resolved", "triaged"): CUSTOMER_SIDE,
    ("closed", "in_progress"): CUSTOMER_SIDE,
    ("closed", "triaged"): CUSTOMER_SIDE,
    **{(source, "cancelled"): STAFF for source in OPEN},
}
ACTORS = [AGENT, SUPERVISOR, TECHNICIAN, INTEGRATION]


def ticket_in(status: Status, **overrides: object) -> Ticket:
    ticket = replace(open_ticket(new_ticket(), ticket_id="t-1", now=NOW - timedelta(days=1)), seq=42)
    values: dict[str, object] = {"status": status, "assignee": "alice", "resolved_at": NOW - timedelta(hours=1)}
    values.update(overrides)
    return replace(ticket, **values)  # type: ignore[arg-type]


def _attempt(source: Status, target: Status, actor: Actor) -> None:
    lifecycle.check(ticket_in(source), target, actor, resolution_code="repaired", reason="customer asked", now=NOW)


@pytest.mark.parametrize(("source", "target"), list(itertools.product(Status, Status)), ids=str)
def test_every_pair_of_statuses_is_allowed_exactly_for_the_roles_the_table_names(
    source: Status, target: Status
) -> None:
    allowed_roles = EXPECTED.get((source.value, target.value), set())
    for actor in ACTORS:
        (role,) = actor.roles
        if role in allowed_roles:
            _attempt(source, target, actor)
        elif allowed_roles:
            with pytest.raises(PermissionDenied):
                _attempt(source, target, actor)
        else:
            with pytest.raises(FailedPrecondition, match=f"cannot go from {source.value} to {target.value}"):
                _attempt(source, target, actor)


def test_the_table_in_the_code_is_the_table_in_this_specification() -> None:
    in_code = {(s.value, t.value): set(rule.roles - {"system"}) for (s, t), rule in lifecycle.TRANSITIONS.items()}
    assert in_code == EXPECTED


def test_an_admin_may_make_any_move_the_table_allows() -> None:
    for source, target in lifecycle.TRANSITIONS:
        lifecycle.check(
            ticket_in(source), target, ADMIN, resolution_code="repaired", reason="support escalation", now=NOW
        )


def test_a_refused_move_says_where_the_ticket_can_go() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        lifecycle.check(ticket_in(Status.NEW), Status.CLOSED, SUPERVISOR, now=NOW)
    assert str(refused.value) == (
        "a ticket cannot go from new to closed; from new it can go to assigned, cancelled, resolved, triaged"
    )


def test_resolving_needs_a_resolution_code() -> None:
    with pytest.raises(FailedPrecondition, match="resolving T-000042 needs a resolution code"):
        lifecycle.check(ticket_in(Status.IN_PROGRESS), Status.RESOLVED, AGENT, now=NOW)


@pytest.mark.parametrize("target", [Status.CANCELLED, Status.IN_PROGRESS])
def test_cancelling_and_reopening_need_a_reason(target: Status) -> None:
    source = Status.RESOLVED if target is Status.IN_PROGRESS else Status.TRIAGED
    with pytest.raises(FailedPrecondition, match=f"moving T-000042 to {target.value} needs a reason"):
        lifecycle.check(ticket_in(source), target, SUPERVISOR, now=NOW)


def test_work_starts_only_on_an_assigned_ticket_with_a_person() -> None:
    with pytest.raises(FailedPrecondition, match="T-000042 has no assignee"):
        lifecycle.check(ticket_in(Status.ASSIGNED, assignee=""), Status.IN_PROGRESS, AGENT, now=NOW)


def test_a_ticket_reopens_within_the_window_and_not_after() -> None:
    resolved = ticket_in(Status.RESOLVED, resolved_at=NOW - timedelta(days=14))
    lifecycle.check(resolved, Status.TRIAGED, INTEGRATION, reason="still leaking", now=NOW)

    too_late = ticket_in(Status.CLOSED, resolved_at=NOW - timedelta(days=14, seconds=1))
    with pytest.raises(FailedPrecondition, match="resolved more than 14 days ago; open a new ticket"):
        lifecycle.check(too_late, Status.TRIAGED, INTEGRATION, reason="still leaking", now=NOW)

    lifecycle.check(
        too_late, Status.TRIAGED, INTEGRATION, reason="still leaking", now=NOW, reopen_window=timedelta(days=30)
    )


def test_a_parent_closes_only_after_its_children() -> None:
    with pytest.raises(FailedPrecondition, match="T-000042 has 2 open child ticket"):
        lifecycle.check(ticket_in(Status.RESOLVED), Status.CLOSED, AGENT, now=NOW, open_children=2)
    lifecycle.check(ticket_in(Status.RESOLVED), Status.CLOSED, AGENT, now=NOW, open_children=0)


def test_a_move_sets_the_times_and_counters_it_means() -> None:
    working = ticket_in(Status.IN_PROGRESS, resolved_at=None)

    resolved = lifecycle.moved(working, Status.RESOLVED, resolution_code="repaired", now=NOW)
    assert (resolved.status, resolved.resolution_code, resolved.resolved_at) == (Status.RESOLVED, "repaired", NOW)

    closed = lifecycle.moved(resolved, Status.CLOSED, now=NOW + timedelta(days=1))
    assert (closed.closed_at, closed.resolved_at) == (NOW + timedelta(days=1), NOW)

    reopened = lifecycle.moved(closed, Status.IN_PROGRESS, now=NOW + timedelta(days=2))
    assert (reopened.status, reopened.resolution_code, reopened.resolved_at, reopened.closed_at) == (
        Status.IN_PROGRESS,
        "",
        None,
        None,
    )
    assert reopened.reopen_count == 1
