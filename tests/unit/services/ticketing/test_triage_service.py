"""Triage's use cases on a real SQLite database: the ruleset is a versioned document replaced by
compare-and-set, and a new ticket is classified by the rules in force."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.ticketing.domain.lifecycle import Actor
from services.ticketing.domain.tickets import NewTicket
from services.ticketing.domain.triage import Ruleset, TriageRule
from services.ticketing.service import triage
from services.ticketing.store.triage import triage_rulesets
from switchboard.db.engine import Database
from switchboard.db.uow import UnitOfWork
from switchboard.errors import Aborted, InvalidArgument, PermissionDenied
from tests.unit.builders import TICKETING_MIGRATIONS, OpenDb, count, new_ticket

SOFIA = Actor("sofia", frozenset({"supervisor"}))
ROOT = Actor("root", frozenset({"admin"}))
ALICE = Actor("alice", frozenset({"agent"}))

LEAK = TriageRule(
    name="water-leak",
    note="Water on the floor damages the home by the hour.",
    any_keywords=("leak*", "water on the floor"),
    none_keywords=("no leak",),
    category="plumbing",
    team="plumbing",
    required_skills=("plumbing",),
    priority=2,
)
WASHERS = TriageRule(
    name="laundry-appliances",
    asset_patterns=("WM-*", "TD-*"),
    channels=frozenset({"phone", "email"}),
    category="appliance_repair",
    team="appliances",
    required_skills=("laundry",),
)
PREMIUM = TriageRule(name="premium-customers-first", tiers=frozenset({"gold", "platinum"}), raise_priority=1)
GAS = TriageRule(
    name="gas-emergency", any_keywords=("gas leak",), category="safety", team="emergency", priority=1, stop=True
)


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    return open_db("ticketing", TICKETING_MIGRATIONS)


def _replace(db: Database, rules: list[TriageRule], *, version: int, actor: Actor = SOFIA) -> Ruleset:
    with UnitOfWork(db) as uow:
        ruleset = triage.replace_rules(uow, rules, expected_version=version, actor=actor)
        uow.commit()
    return ruleset


def _current(db: Database) -> Ruleset:
    with UnitOfWork(db) as uow:
        return triage.current_rules(uow)


def _classify(db: Database, new: NewTicket, tier: str = "") -> tuple[NewTicket, str]:
    with UnitOfWork(db) as uow:
        return triage.classify(uow, new, tier=tier)


def test_before_any_rules_are_set_there_are_none_at_version_zero(db: Database) -> None:
    assert _current(db) == Ruleset(version=0)


def test_stored_rules_come_back_exactly_as_they_were_given(db: Database) -> None:
    _replace(db, [GAS, LEAK, WASHERS, PREMIUM], version=0)

    assert _current(db).rules == (GAS, LEAK, WASHERS, PREMIUM)


def test_a_replacement_is_the_next_version_and_records_who_made_it_and_when(db: Database) -> None:
    before = datetime.now(UTC)

    stored = _replace(db, [LEAK], version=0)

    current = _current(db)
    assert (current.version, current.updated_by) == (1, "sofia")
    assert current.updated_at is not None and before <= current.updated_at <= datetime.now(UTC)
    assert stored == current


def test_every_version_is_kept_and_the_newest_is_in_force(db: Database) -> None:
    _replace(db, [LEAK], version=0)
    _replace(db, [LEAK, WASHERS], version=1)

    assert (_current(db).version, _current(db).rules) == (2, (LEAK, WASHERS))
    assert count(db, triage_rulesets) == 2


def test_a_replacement_of_a_version_that_is_no_longer_in_force_is_aborted_and_changes_nothing(db: Database) -> None:
    _replace(db, [LEAK], version=0)
    _replace(db, [LEAK, WASHERS], version=1)

    with pytest.raises(Aborted, match="the triage rules are at version 2, not 1"):
        _replace(db, [PREMIUM], version=1, actor=ROOT)

    assert (_current(db).version, _current(db).rules) == (2, (LEAK, WASHERS))


def test_a_replacement_naming_a_version_that_never_existed_is_aborted(db: Database) -> None:
    with pytest.raises(Aborted, match="at version 0, not 5"):
        _replace(db, [LEAK], version=5)

    assert count(db, triage_rulesets) == 0


def test_an_empty_ruleset_replaces_the_rules_and_turns_triage_off(db: Database) -> None:
    _replace(db, [LEAK], version=0)

    _replace(db, [], version=1)

    assert _classify(db, new_ticket(subject="Washer leaks")) == (new_ticket(subject="Washer leaks"), "")


def test_invalid_rules_are_refused_by_field_and_nothing_is_stored(db: Database) -> None:
    with pytest.raises(InvalidArgument) as refused:
        _replace(db, [LEAK, TriageRule(name="everything", category="general")], version=0)

    assert [v.field for v in refused.value.violations] == ["rules[1]"]
    assert count(db, triage_rulesets) == 0


def test_an_agent_may_not_replace_the_rules(db: Database) -> None:
    with pytest.raises(PermissionDenied, match="alice may not change the triage rules"):
        _replace(db, [LEAK], version=0, actor=ALICE)

    assert count(db, triage_rulesets) == 0


def test_an_admin_may_replace_the_rules(db: Database) -> None:
    assert _replace(db, [LEAK], version=0, actor=ROOT).updated_by == "root"


def test_a_replacement_not_committed_leaves_the_rules_as_they_were(db: Database) -> None:
    _replace(db, [LEAK], version=0)

    with UnitOfWork(db) as uow:
        triage.replace_rules(uow, [WASHERS], expected_version=1, actor=SOFIA)

    assert _current(db).rules == (LEAK,)


def test_without_rules_a_new_ticket_is_classified_as_nothing(db: Database) -> None:
    new = new_ticket(subject="Washer leaks", asset_id="WM-7781")

    assert _classify(db, new, "gold") == (new, "")


def test_a_new_ticket_is_classified_by_the_rules_in_force(db: Database) -> None:
    _replace(db, [GAS, LEAK, WASHERS, PREMIUM], version=0)

    classified, rule = _classify(
        db, new_ticket(subject="Washing machine leaks", asset_id="WM-7781", required_skills=("german",)), "gold"
    )

    assert rule == "water-leak,laundry-appliances,premium-customers-first"
    assert (classified.category, classified.team, classified.priority) == ("plumbing", "plumbing", 1)
    assert classified.required_skills == ("german", "plumbing", "laundry")


def test_a_rule_taken_out_of_the_rules_no_longer_classifies(db: Database) -> None:
    _replace(db, [LEAK, WASHERS], version=0)
    _replace(db, [WASHERS], version=1)

    classified, rule = _classify(db, new_ticket(subject="Washing machine leaks", asset_id="WM-7781"))

    assert (rule, classified.category) == ("laundry-appliances", "appliance_repair")


def test_classifying_reads_the_rules_and_changes_nothing(db: Database) -> None:
    _replace(db, [LEAK], version=0)

    with UnitOfWork(db) as uow:
        triage.classify(uow, new_ticket(subject="Washer leaks"), tier="")
        uow.commit()

    assert (_current(db).version, count(db, triage_rulesets)) == (1, 1)
