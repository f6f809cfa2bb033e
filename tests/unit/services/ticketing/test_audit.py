"""Audit completeness: whatever sequence of changes a ticket goes through, its history alone
rebuilds every field of the ticket as it is now."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ticketing.domain.lifecycle import Actor
from services.ticketing.domain.tickets import Status, Ticket, as_text
from services.ticketing.service import tickets as service
from services.ticketing.store.history import HistoryStore
from switchboard.db import migrate
from switchboard.db.engine import open_database
from switchboard.db.uow import UnitOfWork
from switchboard.errors import SwitchboardError
from switchboard.settings import Settings
from tests.unit.builders import TICKETING_MIGRATIONS, new_ticket

ALICE = Actor("alice", frozenset({"agent"}))
SAM = Actor("sam", frozenset({"supervisor"}))
_BOOKKEEPING = {"seq", "version", "updated_at", "sla_state", "public_replies"}

updates = st.fixed_dictionaries(
    {},
    optional={
        "priority": st.integers(1, 4),
        "category": st.sampled_from(["leak", "heating", "billing", ""]),
        "tags": st.lists(st.sampled_from(["vip", "warranty", "flooding"]), unique=True).map(tuple),
        "subject": st.sampled_from(["Washing machine leaks", "Dryer does not heat"]),
    },
)
operations = st.one_of(
    st.tuples(st.just("update"), updates),
    st.tuples(st.just("assign"), st.sampled_from([("laundry", "alice"), ("laundry", ""), ("heating", "bob")])),
    st.tuples(st.just("move"), st.sampled_from(list(Status))),
    st.tuples(st.just("reply"), st.booleans()),
)


def _apply(uow: UnitOfWork, ticket: Ticket, operation: tuple[str, Any]) -> None:
    kind, arg = operation
    if kind == "update":
        service.update_fields(uow, ticket.ticket_id, version=ticket.version, values=arg, actor=ALICE)
    elif kind == "assign":
        service.assign(uow, ticket.ticket_id, team=arg[0], assignee=arg[1], actor=SAM, version=ticket.version)
    elif kind == "move":
        service.transition(
            uow, ticket.ticket_id, to=arg, actor=SAM, version=ticket.version, resolution_code="repaired", reason="test"
        )
    else:
        service.add_comment(uow, ticket.ticket_id, public=True, body="On it", from_customer=arg, actor=ALICE)


def _rebuilt(created: Ticket, entries: list[Any]) -> dict[str, str]:
    state = {f.name: as_text(getattr(created, f.name)) for f in fields(Ticket) if f.name not in _BOOKKEEPING}
    for entry in entries:
        if entry.field in state:
            assert state[entry.field] == entry.old_value, f"history of {entry.field} skips a change"
            state[entry.field] = entry.new_value
    return state


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(operations, max_size=12))
def test_the_history_rebuilds_the_ticket_after_any_sequence_of_changes(
    steps: list[tuple[str, Any]], tmp_path_factory: Any
) -> None:
    settings_ = Settings(data_dir=Path(tmp_path_factory.mktemp("audit")))
    db = open_database(settings_, "ticketing")
    try:
        migrate.upgrade(db, TICKETING_MIGRATIONS)
        with UnitOfWork(db) as uow:
            created = service.create_ticket(uow, new_ticket(asset_id="WM-7781"))
            uow.commit()
        for step in steps:
            with UnitOfWork(db) as uow:
                current = service.load(uow, created.ticket_id)
                try:
                    _apply(uow, current, step)
                except SwitchboardError:
                    continue
                uow.commit()
        with UnitOfWork(db) as uow:
            final = service.load(uow, created.ticket_id)
            entries = HistoryStore(uow.session).of(created.ticket_id)
        now = {f.name: as_text(getattr(final, f.name)) for f in fields(Ticket) if f.name not in _BOOKKEEPING}
        assert _rebuilt(replace(created), entries) == now
        assert {e.version for e in entries} <= set(range(2, final.version + 1))
    finally:
        db.dispose()
