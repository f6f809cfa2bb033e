"""Changing tickets through the use cases on a real SQLite database: every change is audited in its
transaction, stale versions are ABORTED, and each change announces itself with the right events."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.ticketing.domain.lifecycle import THE_DESK, Actor
from services.ticketing.domain.tickets import NewTicket, Status, Ticket
from services.ticketing.service import satisfaction, sla, views
from services.ticketing.service import tickets as service
from services.ticketing.store.history import ticket_history
from switchboard import envelope
from switchboard.common.v1 import common_pb2
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.db.uow import UnitOfWork
from switchboard.errors import Aborted, FailedPrecondition, InvalidArgument, PermissionDenied
from switchboard.events.v1.customer_events_pb2 import CustomerTierChanged
from switchboard.events.v1.routing_events_pb2 import OfferAccepted
from switchboard.events.v1.ticketing_events_pb2 import TicketAssigned, TicketUpdated, TicketWorkLogged
from tests.unit.builders import TICKETING_MIGRATIONS, OpenDb, as_event, new_ticket, rows

ALICE = Actor("alice", frozenset({"agent"}))
SAM = Actor("sam", frozenset({"supervisor"}))
PORTAL = Actor("portal", frozenset({"integration"}))


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    return open_db("ticketing", TICKETING_MIGRATIONS)


def _create(db: Database, new: NewTicket | None = None) -> Ticket:
    with UnitOfWork(db) as uow:
        ticket = service.create_ticket(uow, new or new_ticket(asset_id="WM-7781"))
        uow.commit()
    return ticket


def _do(db: Database, act: object) -> object:
    with UnitOfWork(db) as uow:
        result = act(uow)  # type: ignore[operator]
        uow.commit()
    return result


def _events(db: Database, *types: str) -> list[object]:
    decoded = [envelope.decode(row.body, row.content_type) for row in rows(db, outbox)]
    return [e.payload for e in decoded if not types or e.type in types]


def _history(db: Database, ticket: Ticket) -> list[tuple[str, str, str, str, str, int]]:
    return [
        (r.field, r.old_value, r.new_value, r.actor, r.reason, r.version)
        for r in rows(db, ticket_history, ticket_history.c.ticket_id == ticket.ticket_id)
    ]


def test_an_update_records_each_changed_field_in_the_history_with_actor_and_reason(db: Database) -> None:
    ticket = _create(db)

    updated = _do(
        db,
        lambda uow: service.update_fields(
            uow,
            ticket.ticket_id,
            version=1,
            values={"priority": 1, "tags": ("flooding",), "subject": "Washing machine leaks"},
            actor=ALICE,
            reason="water reaching the neighbours",
        ),
    )

    assert isinstance(updated, Ticket) and (updated.version, updated.priority) == (2, 1)
    assert _history(db, ticket) == [
        ("priority", "3", "1", "alice", "water reaching the neighbours", 2),
        ("tags", "", "flooding", "alice", "water reaching the neighbours", 2),
    ]
    (event,) = _events(db, "ticket.updated")
    assert isinstance(event, TicketUpdated)
    assert [(c.field, c.old_value, c.new_value) for c in event.changes] == [
        ("priority", "3", "1"),
        ("tags", "", "flooding"),
    ]


def test_an_update_from_a_stale_version_is_aborted_and_changes_nothing(db: Database) -> None:
    ticket = _create(db)
    _do(db, lambda uow: service.update_fields(uow, ticket.ticket_id, version=1, values={"priority": 2}, actor=ALICE))

    with pytest.raises(Aborted, match="T-000001 is at version 2, not 1; read it again"):
        _do(db, lambda uow: service.update_fields(uow, ticket.ticket_id, version=1, values={"priority": 4}, actor=SAM))

    with UnitOfWork(db) as uow:
        assert service.load(uow, ticket.ticket_id).priority == 2
    assert [h[0] for h in _history(db, ticket)] == ["priority"]


def test_two_writers_from_the_same_read_one_wins_and_the_other_is_aborted(db: Database) -> None:
    ticket = _create(db)
    with UnitOfWork(db) as uow:
        read = service.load(uow, ticket.ticket_id)

    _do(db, lambda uow: service.save(uow, read, replace(read, priority=1), actor=ALICE))
    with pytest.raises(Aborted):
        _do(db, lambda uow: service.save(uow, read, replace(read, priority=4), actor=SAM))


def test_fields_outside_the_updatable_set_and_bad_values_are_invalid(db: Database) -> None:
    ticket = _create(db)

    with pytest.raises(InvalidArgument) as invalid:
        _do(
            db,
            lambda uow: service.update_fields(
                uow, ticket.ticket_id, version=1, values={"status": "closed"}, actor=ALICE
            ),
        )
    assert invalid.value.violations[0].field == "update_mask"

    with pytest.raises(InvalidArgument) as invalid:
        _do(
            db, lambda uow: service.update_fields(uow, ticket.ticket_id, version=1, values={"priority": 7}, actor=ALICE)
        )
    assert [(v.field, v.description) for v in invalid.value.violations] == [("ticket.priority", "must be P1 to P4")]


def test_assigning_a_person_moves_the_ticket_to_assigned_and_announces_it(db: Database) -> None:
    ticket = _create(db)

    assigned = _do(db, lambda uow: service.assign(uow, ticket.ticket_id, team="laundry", assignee="alice", actor=ALICE))

    assert isinstance(assigned, Ticket)
    assert (assigned.team, assigned.assignee, assigned.status) == ("laundry", "alice", Status.ASSIGNED)
    (event,) = _events(db, "ticket.assigned")
    assert isinstance(event, TicketAssigned)
    assert (event.team, event.assignee, event.previous_team, event.previous_assignee) == ("laundry", "alice", "", "")
    assert ("status", "new", "assigned", "alice", "", 2) in _history(db, ticket)


def test_only_a_supervisor_moves_a_ticket_to_another_team(db: Database) -> None:
    ticket = _create(db)
    _do(db, lambda uow: service.assign(uow, ticket.ticket_id, team="laundry", assignee="", actor=ALICE))

    with pytest.raises(PermissionDenied, match="only a supervisor may move ticket T-000001 from team 'laundry'"):
        _do(db, lambda uow: service.assign(uow, ticket.ticket_id, team="heating", assignee="", actor=ALICE))

    moved = _do(db, lambda uow: service.assign(uow, ticket.ticket_id, team="heating", assignee="", actor=SAM))
    assert isinstance(moved, Ticket) and moved.team == "heating"


def test_resolving_without_a_code_is_refused_with_the_reason(db: Database) -> None:
    ticket = _create(db)

    with pytest.raises(FailedPrecondition, match="needs a resolution code"):
        _do(db, lambda uow: service.transition(uow, ticket.ticket_id, to=Status.RESOLVED, actor=ALICE, version=1))


def test_resolving_emits_status_changed_and_resolved(db: Database) -> None:
    ticket = _create(db)

    _do(
        db,
        lambda uow: service.transition(
            uow, ticket.ticket_id, to=Status.RESOLVED, actor=ALICE, version=1, resolution_code="advice_given"
        ),
    )

    types = [e.type for e in (envelope.decode(r.body, r.content_type) for r in rows(db, outbox))]
    assert types[-3:] == ["ticket.updated", "ticket.status_changed", "ticket.resolved"]


def test_a_staff_reply_is_the_first_response_and_a_note_is_not(db: Database) -> None:
    ticket = _create(db)

    _do(
        db,
        lambda uow: service.add_comment(
            uow, ticket.ticket_id, public=False, body="Checked history", from_customer=False, actor=ALICE
        ),
    )
    with UnitOfWork(db) as uow:
        assert service.load(uow, ticket.ticket_id).first_response_at is None

    _, replied = _do(  # type: ignore[misc]
        db,
        lambda uow: service.add_comment(
            uow, ticket.ticket_id, public=True, body="A technician will call you", from_customer=False, actor=ALICE
        ),
    )
    assert replied.first_response_at is not None and replied.public_replies == 1


def test_the_customers_answer_puts_a_waiting_ticket_back_to_work(db: Database) -> None:
    ticket = _create(db)
    _do(db, lambda uow: service.assign(uow, ticket.ticket_id, team="laundry", assignee="alice", actor=ALICE))
    _do(db, lambda uow: service.transition(uow, ticket.ticket_id, to=Status.IN_PROGRESS, actor=ALICE))
    _do(db, lambda uow: service.transition(uow, ticket.ticket_id, to=Status.PENDING_CUSTOMER, actor=ALICE))

    _, after = _do(  # type: ignore[misc]
        db,
        lambda uow: service.add_comment(
            uow, ticket.ticket_id, public=True, body="Serial is 4411", from_customer=True, actor=PORTAL
        ),
    )

    assert after.status is Status.IN_PROGRESS
    assert len(_events(db, "ticket.commented")) == 1


def test_replying_on_a_closed_ticket_is_refused(db: Database) -> None:
    ticket = _create(db)
    _do(db, lambda uow: service.transition(uow, ticket.ticket_id, to=Status.CANCELLED, actor=ALICE, reason="spam"))

    with pytest.raises(FailedPrecondition, match="T-000001 is cancelled; reopen it before replying"):
        _do(
            db,
            lambda uow: service.add_comment(
                uow, ticket.ticket_id, public=True, body="Hello", from_customer=False, actor=ALICE
            ),
        )


def test_merging_closes_the_duplicate_and_moves_its_conversation_and_watchers(db: Database) -> None:
    first = _create(db)
    duplicate = _create(db, new_ticket(subject="Leak again", watchers=("bob",)))
    _do(
        db,
        lambda uow: service.add_comment(
            uow, duplicate.ticket_id, public=True, body="Photo attached", from_customer=True, actor=PORTAL
        ),
    )

    closed, kept = _do(  # type: ignore[misc]
        db, lambda uow: service.merge(uow, duplicate.ticket_id, first.ticket_id, source_version=1, actor=ALICE)
    )

    assert (closed.status, closed.resolution_code, closed.merged_into) == (Status.CLOSED, "duplicate", first.ticket_id)
    assert kept.watchers == ("bob",)
    with UnitOfWork(db) as uow:
        assert [c.body for c in views.detail(uow, ticket_id=first.ticket_id).comments] == ["Photo attached"]
    assert ("status", "new", "closed", "alice", "duplicate of T-000001", 2) in _history(db, duplicate)


def test_tickets_of_different_customers_do_not_merge(db: Database) -> None:
    first = _create(db)
    other = _create(db, new_ticket(customer_id="C-2002"))

    with pytest.raises(FailedPrecondition, match="belong to different customers"):
        _do(db, lambda uow: service.merge(uow, other.ticket_id, first.ticket_id, source_version=1, actor=ALICE))


def test_a_split_opens_a_child_and_the_parent_closes_only_after_it(db: Database) -> None:
    parent = _create(db)
    _, child = _do(  # type: ignore[misc]
        db,
        lambda uow: service.split(
            uow, parent.ticket_id, subject="Replace door seal", description="", as_child=True, actor=ALICE
        ),
    )
    assert (child.parent_id, child.customer_id, child.asset_id) == (parent.ticket_id, "C-1001", "WM-7781")
    _do(
        db,
        lambda uow: service.transition(
            uow, parent.ticket_id, to=Status.RESOLVED, actor=ALICE, resolution_code="repaired"
        ),
    )

    with pytest.raises(FailedPrecondition, match="T-000001 has 1 open child ticket"):
        _do(db, lambda uow: service.transition(uow, parent.ticket_id, to=Status.CLOSED, actor=ALICE))

    _do(db, lambda uow: service.transition(uow, child.ticket_id, to=Status.CANCELLED, actor=ALICE, reason="not needed"))
    closed = _do(db, lambda uow: service.transition(uow, parent.ticket_id, to=Status.CLOSED, actor=ALICE))
    assert isinstance(closed, Ticket) and closed.status is Status.CLOSED
    assert ("split_into", "", "T-000002", "alice", "split", 1) in _history(db, parent)


def test_a_ticket_cannot_become_its_own_ancestor(db: Database) -> None:
    grandparent = _create(db)
    parent = _create(db, new_ticket(parent_id=grandparent.ticket_id))

    with pytest.raises(FailedPrecondition, match="ancestor of the proposed parent"):
        _do(db, lambda uow: service.set_parent(uow, grandparent.ticket_id, parent.ticket_id, version=1, actor=ALICE))


def test_an_accepted_offer_assigns_the_ticket_to_whoever_accepted(db: Database) -> None:
    ticket = _create(db)
    offer = OfferAccepted(offer_id="o-1", task_id="task-1", ticket_id=ticket.ticket_id, assignee="bob", team="laundry")

    _do(db, lambda uow: service.assign_from_offer(uow, as_event(offer)))

    with UnitOfWork(db) as uow:
        assigned = service.load(uow, ticket.ticket_id)
    assert (assigned.assignee, assigned.team, assigned.status) == ("bob", "laundry", Status.ASSIGNED)
    assert ("assignee", "", "bob", "system", "accepted offer o-1", 2) in _history(db, ticket)


def test_a_tier_change_follows_the_customers_open_tickets_and_new_ones_start_with_it(db: Database) -> None:
    ticket = _create(db)
    change = CustomerTierChanged(customer_id="C-1001", tier=common_pb2.CUSTOMER_TIER_GOLD)

    _do(db, lambda uow: service.change_tier(uow, as_event(change)))

    with UnitOfWork(db) as uow:
        assert service.load(uow, ticket.ticket_id).customer_tier == "gold"
    assert _create(db).customer_tier == "gold"


def test_an_older_tier_event_arriving_late_does_not_overwrite_a_newer_tier(db: Database) -> None:
    from datetime import UTC, datetime

    from switchboard.timestamps import timestamp

    newer = CustomerTierChanged(
        customer_id="C-1001",
        tier=common_pb2.CUSTOMER_TIER_PLATINUM,
        changed_at=timestamp(datetime(2025, 5, 2, tzinfo=UTC)),
    )
    older = CustomerTierChanged(
        customer_id="C-1001",
        tier=common_pb2.CUSTOMER_TIER_SILVER,
        changed_at=timestamp(datetime(2025, 5, 1, tzinfo=UTC)),
    )

    _do(db, lambda uow: service.change_tier(uow, as_event(newer)))
    _do(db, lambda uow: service.change_tier(uow, as_event(older)))

    assert _create(db).customer_tier == "platinum"


def test_the_desk_acts_as_the_system_in_the_history(db: Database) -> None:
    ticket = _create(db)

    _do(db, lambda uow: service.assign(uow, ticket.ticket_id, team="laundry", assignee="", actor=THE_DESK))

    assert _history(db, ticket)[0][3] == "system"


def test_the_detail_shows_the_rating_once_the_customer_rated(db: Database) -> None:
    ticket = _create(db)
    _do(
        db,
        lambda uow: service.transition(
            uow, ticket.ticket_id, to=Status.RESOLVED, actor=ALICE, resolution_code="repaired"
        ),
    )
    _do(
        db, lambda uow: satisfaction.rate_ticket(uow, ticket.ticket_id, score=5, comment="Quick and tidy", actor=PORTAL)
    )

    with UnitOfWork(db) as uow:
        shown = views.detail(uow, ticket_id=ticket.ticket_id)

    assert shown.rating is not None and (shown.rating.score, shown.rating.comment) == (5, "Quick and tidy")
    assert shown.work_orders == []


def test_after_a_merge_the_clocks_rebuilt_from_history_still_agree_with_the_live_ones(db: Database) -> None:
    first = _create(db)
    duplicate = _create(db, new_ticket(subject="Leak again"))
    _do(
        db,
        lambda uow: service.add_comment(
            uow, duplicate.ticket_id, public=True, body="Any news?", from_customer=True, actor=PORTAL
        ),
    )
    _do(
        db,
        lambda uow: service.add_comment(
            uow, duplicate.ticket_id, public=True, body="Tomorrow", from_customer=False, actor=ALICE
        ),
    )

    _do(db, lambda uow: service.merge(uow, duplicate.ticket_id, first.ticket_id, source_version=2, actor=ALICE))

    third = _create(db, new_ticket(subject="Leak, third call"))
    with UnitOfWork(db) as uow:
        version = service.load(uow, first.ticket_id).version
    _do(db, lambda uow: service.merge(uow, first.ticket_id, third.ticket_id, source_version=version, actor=ALICE))

    with UnitOfWork(db) as uow:
        for ticket in (first, duplicate, third):
            assert sla.sla_state(uow, ticket.ticket_id).agree
        assert [c.body for c in views.detail(uow, ticket_id=third.ticket_id).comments] == ["Any news?", "Tomorrow"]


def test_a_tier_change_reaches_every_open_ticket_of_the_customer_however_many_pages_they_fill(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "_TIER_BATCH", 2)
    opened = [_create(db, new_ticket(priority=p)) for p in (1, 3, 2, 3, 4)]
    change = CustomerTierChanged(customer_id="C-1001", tier=common_pb2.CUSTOMER_TIER_SILVER)

    _do(db, lambda uow: service.change_tier(uow, as_event(change)))

    with UnitOfWork(db) as uow:
        assert [service.load(uow, t.ticket_id).customer_tier for t in opened] == ["silver"] * 5


def test_logged_work_is_kept_and_announced_for_the_customers_cost_to_serve(db: Database) -> None:
    ticket = _create(db)

    record = _do(
        db,
        lambda uow: service.add_service_record(
            uow,
            ticket.ticket_id,
            description="Talked the customer through a reset",
            minutes_spent=25,
            performed_at=None,
            actor=ALICE,
        ),
    )

    (logged,) = _events(db, "ticket.work_logged")
    assert isinstance(logged, TicketWorkLogged)
    assert (logged.ticket_id, logged.customer_id, logged.record_id) == (
        ticket.ticket_id,
        ticket.customer_id,
        record.record_id,  # type: ignore[attr-defined]
    )
    assert (logged.performed_by, logged.minutes_spent, logged.description) == (
        "alice",
        25,
        "Talked the customer through a reset",
    )
