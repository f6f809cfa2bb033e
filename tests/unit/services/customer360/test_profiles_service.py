"""Profiles through their use cases on SQLite: create and update (compare-and-set), merge then unmerge
restores both exactly, and erasure leaves nothing personal and keeps the person from coming back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from services.customer360 import config
from services.customer360.domain.identity import Identifier
from services.customer360.domain.profiles import Consents, Details
from services.customer360.service import erasure, merging, profiles, views
from services.customer360.store.identifiers import identifiers
from services.customer360.store.products import products
from services.customer360.store.timeline import timeline
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.db.uow import UnitOfWork
from switchboard.errors import Aborted, AlreadyExists, FailedPrecondition
from switchboard.events.v1 import integration_events_pb2 as integration
from tests.unit.builders import CUSTOMER360_MIGRATIONS, OpenDb, rows
from tests.unit.services.customer360.events import T0, apply, call, contact, event, minutes, order

ADA = Details(
    display_name="Ada Lovelace",
    given_name="Ada",
    family_name="Lovelace",
    birth_date="1985-12-10",
    occupation="engineer",
    preferred_language="en",
    time_zone="Europe/London",
    consents=Consents(email=True, sms=True),
    account_owner="olga",
    attributes={"segment": "home"},
)


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    return open_db("customer360", CUSTOMER360_MIGRATIONS)


@pytest.fixture(autouse=True)
def _fresh_config() -> Iterator[None]:
    config.load.cache_clear()
    yield
    config.load.cache_clear()


def run(db: Database, act: Any) -> Any:
    with UnitOfWork(db) as uow:
        result = act(uow)
        uow.commit()
        return result


def view(db: Database, customer_id: str) -> views.View:
    with UnitOfWork(db, read_only=True) as uow:
        return views.customer_view(uow, customer_id)


def create(db: Database, customer_id: str, details: Details, *held: Identifier) -> Any:
    return run(db, lambda uow: profiles.create_customer(uow, customer_id, details, list(held), actor="alice"))


def test_a_created_profile_is_version_one_and_announced_with_its_contact_data(db: Database) -> None:
    made = create(db, "C-1001", ADA, Identifier("email", "ada@example.com"), Identifier("phone", "+491711234567"))

    assert (made.version, made.details, made.of_kind("phone")) == (1, ADA, ("+491711234567",))
    (changed,) = [
        json.loads(r.body)["payload"] for r in rows(db, outbox) if r.routing_key == "customer.profile_changed"
    ]
    assert (changed["customerId"], changed["emails"], changed["accountOwner"], changed["consents"]) == (
        "C-1001",
        ["ada@example.com"],
        "olga",
        {"email": True, "sms": True},
    )


def test_an_identifier_another_profile_holds_is_refused_naming_it(db: Database) -> None:
    create(db, "C-1001", ADA, Identifier("email", "ada@example.com"))

    with pytest.raises(AlreadyExists, match=r"email:ada@example.com \(customer C-1001\)"):
        create(db, "C-1002", Details(display_name="Someone else"), Identifier("email", "ada@example.com"))


def test_an_update_from_a_stale_version_is_aborted_and_a_current_one_replaces_the_masked_fields(db: Database) -> None:
    create(db, "C-1001", ADA)
    change = Details(occupation="mathematician", display_name="ignored: not in the mask")

    updated = run(
        db,
        lambda uow: profiles.update_customer(
            uow, "C-1001", version=1, details=change, held=None, mask=["occupation"], actor="alice"
        ),
    )

    assert (updated.version, updated.details.occupation, updated.details.display_name) == (
        2,
        "mathematician",
        "Ada Lovelace",
    )
    with pytest.raises(Aborted, match="at version 2, not 1"):
        run(
            db,
            lambda uow: profiles.update_customer(
                uow, "C-1001", version=1, details=change, held=None, mask=["occupation"], actor="bob"
            ),
        )


def test_an_api_create_fills_in_the_profile_an_event_made_first(db: Database) -> None:
    apply(db, event(call(), event_id="e-call-1", customer_id="C-1001"))

    made = create(db, "C-1001", ADA, Identifier("email", "ada@example.com"))

    assert not made.known_from_events
    assert made.of_kind("phone") == ("+491711234567",)
    assert made.of_kind("email") == ("ada@example.com",)


def _snapshot(db: Database, customer_id: str) -> tuple[Any, ...]:
    shown = view(db, customer_id)
    return (
        shown.customer.details,
        shown.customer.identifiers,
        [e.entry_id for e in shown.recent_timeline],
        [p.serial for p in shown.products],
        shown.value.ledger,
        shown.merged,
    )


def test_merge_then_unmerge_restores_both_profiles_exactly(db: Database) -> None:
    create(db, "C-1001", ADA, Identifier("email", "ada@example.com"))
    create(db, "C-2002", Details(display_name="A. Lovelace", income_band="high"), Identifier("phone", "+491711234567"))
    apply(
        db,
        event(order(customer_id="C-1001", contact=None), event_id="m-1"),
        event(call(at=T0 + minutes(1)), event_id="m-2", customer_id="C-2002"),
    )
    before = (_snapshot(db, "C-1001"), _snapshot(db, "C-2002"))

    run(db, lambda uow: merging.merge(uow, "C-1001", "C-2002", actor="sofia"))
    merged = view(db, "C-2002")
    assert merged.customer.customer_id == "C-1001"
    assert merged.customer.details.income_band == "high"  # a blank of the survivor filled from the merged one
    assert merged.customer.details.display_name == "Ada Lovelace"  # the survivor's field wins
    assert [e.entry_id for e in merged.recent_timeline] == ["m-2", "m-1"]
    with pytest.raises(FailedPrecondition, match="merged into C-1001"):
        run(
            db,
            lambda uow: profiles.update_customer(
                uow, "C-2002", version=2, details=Details(), held=None, mask=["occupation"], actor="alice"
            ),
        )

    run(db, lambda uow: merging.unmerge(uow, "C-2002", actor="sofia"))

    assert (_snapshot(db, "C-1001"), _snapshot(db, "C-2002")) == before


def test_an_event_for_a_merged_profiles_number_stays_with_it_through_an_unmerge(db: Database) -> None:
    create(db, "C-1001", ADA)
    create(db, "C-2002", Details(), Identifier("phone", "+491711234567"))
    run(db, lambda uow: merging.merge(uow, "C-1001", "C-2002", actor="sofia"))

    apply(db, event(call("CALL-7"), event_id="late-call"))
    assert [e.entry_id for e in view(db, "C-1001").recent_timeline] == ["late-call"]

    run(db, lambda uow: merging.unmerge(uow, "C-2002", actor="sofia"))
    assert [e.entry_id for e in view(db, "C-2002").recent_timeline] == ["late-call"]
    assert view(db, "C-1001").recent_timeline == []


def test_erasure_leaves_nothing_personal_and_a_replayed_event_does_not_bring_the_person_back(db: Database) -> None:
    create(db, "C-1001", ADA, Identifier("email", "ada.lovelace@example.com"))
    placed = event(order(customer_id="C-1001"), event_id="x-1")
    comment_like = integration.DeviceFaultReported(
        asset_id="SN-WM-0001", customer_id="C-1001", fault_code="E21", description="Ada says water on the floor"
    )
    apply(db, placed, event(comment_like, event_id="x-2", at=T0 + minutes(1)))

    erased = run(db, lambda uow: erasure.erase(uow, "C-1001", actor="sofia", reason="DSR-77"))

    assert erased == ["C-1001"]
    assert rows(db, identifiers) == []
    assert {r.summary for r in rows(db, timeline)} == {""}
    assert {r.title for r in rows(db, timeline)} == {"order.placed", "device.fault_reported"}
    shown = view(db, "C-1001")
    assert shown.customer.erased and shown.customer.details == Details()
    assert [r.routing_key for r in rows(db, outbox)].count("customer.erased") == 1

    # The shop re-imports its orders: the same event, and a new one naming her by email only.
    reimported = event(order("O-9", contact=contact(email="ada.lovelace@example.com")), event_id="x-3")
    apply(db, placed, reimported, event(call(), event_id="x-4", customer_id="C-1001"))

    assert rows(db, identifiers) == []
    assert [r.entry_id for r in rows(db, timeline)] == ["x-1", "x-2"]
    assert [r.site_address for r in rows(db, products)] == [""]
    with pytest.raises(FailedPrecondition, match="stays erased"):
        create(db, "C-1001", ADA)
