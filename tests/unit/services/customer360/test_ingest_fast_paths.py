"""The shortcuts that keep the consumer fast give the answers the long way would: configuration parsed
once per configuration, the window timer left alone when its item is not the oldest, a merge group's
value read in one statement, merge pointers remembered within a unit of work, and anomaly baselines
written back only if no one changed them since they were read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from services.customer360 import config
from services.customer360.domain import anomaly as detectors
from services.customer360.domain.value import parse_thresholds
from services.customer360.service import anomalies, merging, value
from services.customer360.service.groups import MAX_DEPTH, group_of, root_of
from services.customer360.store.profiles import ProfileStore
from services.customer360.store.value import ValueStore
from switchboard import timers
from switchboard.db.engine import Database
from switchboard.db.uow import UnitOfWork
from switchboard.events.v1 import integration_events_pb2 as integration
from switchboard.timestamps import timestamp
from tests.unit.builders import CUSTOMER360_MIGRATIONS, OpenDb
from tests.unit.services.customer360.events import T0, apply, event, order


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    return open_db("customer360", CUSTOMER360_MIGRATIONS)


@pytest.fixture(autouse=True)
def _fresh_config() -> Iterator[None]:
    config.load.cache_clear()
    yield
    config.load.cache_clear()


def _order(order_id: str, at: Any, total: int = 10_000) -> integration.OrderPlaced:
    return order(order_id, customer_id="C-1001", at=at, total=total, lines=[])


def _due(db: Database, key: str = "C-1001") -> Any:
    with UnitOfWork(db, read_only=True) as uow:
        found = timers.pending(uow.session, "customer360", value.WINDOW_TIMER, key)
    return found.due_at if found else None


def test_pricing_is_parsed_once_per_configuration_and_sees_a_changed_setting(monkeypatch: Any) -> None:
    monkeypatch.setenv("SWITCHBOARD_CUSTOMER360_TIER_THRESHOLDS", "silver=50000,gold=100000,platinum=1000000")
    monkeypatch.setenv("SWITCHBOARD_CUSTOMER360_VISIT_MINOR", "4500")
    first = value.pricing()
    assert value.pricing() is first  # the same configuration: not parsed again

    monkeypatch.setenv("SWITCHBOARD_CUSTOMER360_TIER_THRESHOLDS", "silver=1,gold=2,platinum=3")
    monkeypatch.setenv("SWITCHBOARD_CUSTOMER360_VISIT_MINOR", "9900")
    assert value.pricing() is first  # still the loaded configuration
    config.load.cache_clear()

    thresholds, rates = value.pricing()
    assert thresholds == parse_thresholds("silver=1,gold=2,platinum=3")
    assert rates.visit_minor == 9900


def test_the_window_timer_follows_the_oldest_item_whatever_order_the_orders_arrive_in(db: Database) -> None:
    window = timedelta(days=config.load().value_window_days, seconds=1)

    apply(db, event(_order("O-1", T0), event_id="o-1"))
    assert _due(db) == T0 + window
    apply(db, event(_order("O-2", T0 + timedelta(hours=5)), event_id="o-2"))  # newer: the oldest stays
    assert _due(db) == T0 + window
    apply(db, event(_order("O-3", T0 - timedelta(days=3)), event_id="o-3"))  # arrives late, is the oldest
    assert _due(db) == T0 - timedelta(days=3) + window

    with UnitOfWork(db) as uow:  # the oldest leaves the window: the next one is due
        value.reevaluate(uow, "C-1001", now=T0 - timedelta(days=3) + window)
        uow.commit()
    assert _due(db) == T0 + window


def test_a_merge_groups_value_read_in_one_statement_equals_the_sum_over_its_members(db: Database) -> None:
    apply(
        db,
        event(_order("O-1", T0, total=1_000), event_id="g-1"),
        event(order("O-2", customer_id="C-2002", at=T0, total=20_000, lines=[], contact=None), event_id="g-2"),
        event(order("O-3", customer_id="K-1", at=T0, total=300_000, lines=[], contact=None), event_id="g-3"),
    )
    with UnitOfWork(db) as uow:  # a chain two deep: K-1 into C-2002 into C-1001
        merging.merge(uow, "C-2002", "K-1", actor="sam")
        merging.merge(uow, "C-1001", "C-2002", actor="sam")
        uow.commit()

    with UnitOfWork(db, read_only=True) as uow:
        since = T0 - timedelta(days=1)
        totals, uncounted, oldest, tier = ValueStore(uow.session).standing("C-1001", since, max_depth=MAX_DEPTH)
        expected = ValueStore(uow.session).ledger(group_of(uow, "C-1001"), since)
        stored_tier, _, _ = ProfileStore(uow.session).value_of("C-1001")
    assert (totals, uncounted, oldest) == expected
    assert totals.revenue_minor == 321_000
    assert tier == stored_tier


def test_a_merge_pointer_changed_in_a_unit_of_work_is_what_that_unit_of_work_reads(db: Database) -> None:
    apply(
        db,
        event(order("O-1", customer_id="C-1001", lines=[], contact=None), event_id="p-1"),
        event(order("O-2", customer_id="K-2", lines=[], contact=None), event_id="p-2"),
    )
    with UnitOfWork(db) as uow:
        assert root_of(uow, "K-2") == "K-2"  # read, and remembered
        merging.merge(uow, "C-1001", "K-2", actor="sam")
        assert root_of(uow, "K-2") == "C-1001"
        merging.unmerge(uow, "K-2", actor="sam")
        assert root_of(uow, "K-2") == "K-2"


def _withdrawal(n: int, amount: int) -> integration.AccountTransaction:
    return integration.AccountTransaction(
        transaction_id=f"X-{n}",
        customer_id="C-1001",
        kind="withdrawal",
        amount_minor=amount,
        currency="EUR",
        occurred_at=timestamp(T0 + timedelta(hours=n)),
    )


def test_baselines_changed_since_they_were_read_are_read_again_and_learnt_once(db: Database) -> None:
    apply(db, *(event(_withdrawal(n, 5_000 + n), event_id=f"w-{n}") for n in range(6)))
    with UnitOfWork(db, read_only=True) as uow:
        before = ProfileStore(uow.session).baselines_of("C-1001", lock=False)
    late = _withdrawal(7, 5_100)
    at = T0 + timedelta(hours=7)
    stale = detectors.Baselines.empty().to_json()
    assert before not in ("", stale)

    with UnitOfWork(db) as uow:  # another consumer learnt something after this one read the baselines
        store = ProfileStore(uow.session)
        store.remember_baselines("C-1001", stale)
        anomalies.observe(uow, "C-1001", "account.transaction", late, at=at, event_id="w-7")
        after = store.baselines_of("C-1001", lock=False)
        uow.commit()

    learnt = detectors.Baselines.from_json(before)
    for observation in detectors.observations_of("account.transaction", late, at, "w-7"):
        learnt, _ = detectors.observe(learnt, observation, anomalies.DETECTORS)
    assert after == learnt.to_json()  # from the stored baselines, not the stale ones
