"""The triage servicer, called directly (no server): the rules in their protobuf form, the
example ruleset shipped in deploy/, and what it makes of real requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import json_format

from services.ticketing.api import triage as triage_api
from services.ticketing.api.triage import TriageApi
from services.ticketing.domain.triage import TriageRule
from services.ticketing.service import triage
from services.ticketing.store.triage import triage_rulesets
from switchboard import context, validation
from switchboard.common.v1 import common_pb2
from switchboard.composition import Runtime
from switchboard.context import Caller, WorkContext
from switchboard.db.engine import Database
from switchboard.db.uow import UnitOfWork
from switchboard.errors import Aborted, InvalidArgument, PermissionDenied
from switchboard.settings import Settings
from switchboard.ticketing.v1 import triage_pb2 as pb
from tests.unit.builders import ROOT, TICKETING_MIGRATIONS, OpenDb, count, new_ticket

EXAMPLE = ROOT / "deploy" / "triage" / "rules.example.json"
SOFIA = Caller(subject="sofia", roles=frozenset({"supervisor"}))
ALICE = Caller(subject="alice", roles=frozenset({"agent"}))

LEAK = pb.TriageRule(
    name="water-leak",
    any_keywords=["leak*", "water on the floor"],
    category="plumbing",
    team="plumbing",
    required_skills=["plumbing"],
    priority=common_pb2.PRIORITY_P2,
)
FAULTS = pb.TriageRule(
    name="device-fault-event",
    channels=[common_pb2.CHANNEL_SYSTEM_EVENT],
    tiers=[common_pb2.CUSTOMER_TIER_GOLD, common_pb2.CUSTOMER_TIER_PLATINUM],
    asset_patterns=["WM-*"],
    category="device_fault",
    raise_priority=1,
    stop=True,
)


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    return open_db("ticketing", TICKETING_MIGRATIONS)


@pytest.fixture
def api(db: Database, settings: Settings) -> TriageApi:
    return TriageApi(Runtime(settings=settings, db=db))


def _as(caller: Caller) -> Any:
    return context.working(WorkContext(correlation_id="corr-7f3a", causation_id="", caller=caller, deadline=None))


@pytest.fixture(autouse=True)
def _as_sofia() -> Iterator[None]:
    with _as(SOFIA):
        yield


def _replace(api: TriageApi, *rules: pb.TriageRule, version: int = 0, key: str = "key-triage-0001") -> pb.TriageRuleset:
    request = pb.ReplaceTriageRulesRequest(idempotency_key=key, version=version, rules=rules)
    return api.ReplaceTriageRules(request, None).ruleset  # type: ignore[arg-type]


def _get(api: TriageApi) -> pb.TriageRuleset:
    return api.GetTriageRules(pb.GetTriageRulesRequest(), None).ruleset  # type: ignore[arg-type]


def _example() -> pb.TriageRuleset:
    return json_format.ParseDict(json.loads(EXAMPLE.read_text()), pb.TriageRuleset())


def test_before_any_rules_are_set_the_rules_are_empty_at_version_zero(api: TriageApi) -> None:
    assert _get(api) == pb.TriageRuleset(version=0)


def test_replaced_rules_come_back_as_they_were_sent_with_the_new_version(api: TriageApi) -> None:
    replaced = _replace(api, LEAK, FAULTS)

    got = _get(api)
    assert list(got.rules) == [LEAK, FAULTS]
    assert (got.version, got.updated_by) == (1, "sofia")
    assert got.updated_at.seconds > 0
    assert got == replaced


def test_channels_and_tiers_are_sets_and_come_back_in_the_order_of_their_enum(api: TriageApi) -> None:
    sent = pb.TriageRule(
        name="premium",
        tiers=[common_pb2.CUSTOMER_TIER_PLATINUM, common_pb2.CUSTOMER_TIER_GOLD],
        channels=[common_pb2.CHANNEL_WEB, common_pb2.CHANNEL_PHONE],
        raise_priority=1,
    )

    (stored,) = _replace(api, sent).rules

    assert list(stored.tiers) == [common_pb2.CUSTOMER_TIER_GOLD, common_pb2.CUSTOMER_TIER_PLATINUM]
    assert list(stored.channels) == [common_pb2.CHANNEL_PHONE, common_pb2.CHANNEL_WEB]


def test_channels_tiers_and_priority_reach_the_domain_by_their_names() -> None:
    rule = triage_api.rule_from_proto(FAULTS)

    assert (rule.channels, rule.tiers, rule.asset_patterns) == (
        frozenset({"system_event"}),
        frozenset({"gold", "platinum"}),
        ("WM-*",),
    )
    assert (rule.priority, triage_api.rule_from_proto(LEAK).priority) == (None, 2)


def test_a_rule_survives_the_trip_to_the_domain_and_back() -> None:
    rule = TriageRule(
        name="premium",
        note="Gold contracts",
        tiers=frozenset({"gold"}),
        none_keywords=("invoice",),
        all_keywords=("boiler",),
        team="heating",
        priority=1,
        raise_priority=2,
    )

    assert triage_api.rule_from_proto(triage_api.rule_to_proto(rule)) == rule


def test_a_retry_with_the_same_key_answers_the_first_result_and_stores_one_version(
    api: TriageApi, db: Database
) -> None:
    first = _replace(api, LEAK)

    retried = _replace(api, LEAK)

    assert retried == first
    assert count(db, triage_rulesets) == 1


def test_a_replacement_of_a_stale_version_is_aborted(api: TriageApi) -> None:
    _replace(api, LEAK)

    with pytest.raises(Aborted, match="at version 1, not 0"):
        _replace(api, FAULTS, version=0, key="key-triage-0002")


def test_rules_the_domain_refuses_are_named_by_their_place_in_the_request(api: TriageApi, db: Database) -> None:
    no_conditions = pb.TriageRule(name="everything", category="general")
    stray_star = pb.TriageRule(name="leak-two", any_keywords=["leak", "*water"], team="plumbing")

    with pytest.raises(InvalidArgument) as refused:
        _replace(api, LEAK, no_conditions, stray_star)

    assert [v.field for v in refused.value.violations] == ["rules[1]", "rules[2].any_keywords[1]"]
    assert count(db, triage_rulesets) == 0


def test_the_declared_constraints_name_the_same_fields_before_any_work() -> None:
    request = pb.ReplaceTriageRulesRequest(
        idempotency_key="key-triage-0003",
        rules=[LEAK, pb.TriageRule(name="Bad Name", any_keywords=[""], raise_priority=9, required_skills=["Gas Safe"])],
    )

    fields = {v.field for v in validation.violations(request)}

    assert fields == {
        "rules[1].name",
        "rules[1].any_keywords[0]",
        "rules[1].raise_priority",
        "rules[1].required_skills[0]",
    }


def test_an_agent_may_read_but_not_replace_the_rules(api: TriageApi) -> None:
    _replace(api, LEAK)

    with _as(ALICE):
        assert _get(api).rules[0].name == "water-leak"
        with pytest.raises(PermissionDenied):
            _replace(api, FAULTS, version=1, key="key-triage-0004")


def test_agents_and_supervisors_may_read_and_only_supervisors_replace() -> None:
    who_may = dict(triage_api.PERMISSIONS)

    assert who_may == {
        "GetTriageRules": frozenset({"agent", "supervisor"}),
        "ReplaceTriageRules": frozenset({"supervisor"}),
    }


def test_the_binding_serves_every_method_the_proto_declares_with_a_permission() -> None:
    declared = {m.name for m in pb.DESCRIPTOR.services_by_name["TriageService"].methods}

    assert set(triage_api.PERMISSIONS) == declared


# -- The example ruleset in deploy/triage -----------------------------------------------------


def test_the_example_ruleset_passes_the_declared_constraints() -> None:
    request = pb.ReplaceTriageRulesRequest(idempotency_key="key-triage-0005", rules=_example().rules)

    assert validation.violations(request) == []


def test_the_example_ruleset_loads_as_the_first_version(api: TriageApi) -> None:
    example = _example()

    stored = _replace(api, *example.rules, version=example.version)

    assert (stored.version, len(stored.rules)) == (1, 16)
    assert stored.rules[0].name == "gas-or-co-emergency"


@pytest.fixture
def example_db(api: TriageApi, db: Database) -> Database:
    _replace(api, *_example().rules)
    return db


def _triaged(db: Database, tier: str = "", **ticket: Any) -> tuple[Any, str]:
    with UnitOfWork(db) as uow:
        return triage.classify(uow, new_ticket(**ticket), tier=tier)


def test_example_a_gold_customers_leaking_washer_goes_to_plumbing_with_laundry_skills_at_p1(
    example_db: Database,
) -> None:
    classified, rule = _triaged(example_db, "gold", subject="Washing machine is leaking", asset_id="WM-7781")

    assert rule == "water-leak,laundry-appliances,premium-customers-first"
    assert (classified.category, classified.team, classified.priority) == ("plumbing", "plumbing", 1)
    assert classified.required_skills == ("plumbing", "laundry")


def test_example_a_smell_of_gas_goes_to_the_emergency_team_at_p1_and_nothing_else_applies(
    example_db: Database,
) -> None:
    classified, rule = _triaged(
        example_db, "standard", subject="Smell of gas near the boiler", asset_id="BO-3310", channel="phone"
    )

    assert rule == "gas-or-co-emergency"
    assert (classified.category, classified.team, classified.required_skills, classified.priority) == (
        "safety",
        "emergency",
        ("gas-safe",),
        1,
    )


def test_example_a_washer_reporting_a_drain_fault_goes_to_remote_diagnostics_keeping_its_p2(
    example_db: Database,
) -> None:
    classified, rule = _triaged(
        example_db,
        "platinum",
        channel="system_event",
        subject="Fault E21 reported by WM-7781",
        description="Drain pump blocked; water on the floor",
        asset_id="WM-7781",
        priority=2,
    )

    assert rule == "device-fault-event,water-leak,washer-drain-codes,laundry-appliances,premium-customers-first"
    assert (classified.category, classified.team, classified.priority) == ("device_fault", "remote-diagnostics", 2)
    assert classified.required_skills == ("remote-diagnostics", "plumbing", "drain-pumps", "laundry")


def test_example_a_boiler_in_lockout_needs_a_gas_safe_engineer_at_p2(example_db: Database) -> None:
    classified, rule = _triaged(
        example_db, subject="Boiler shows F28 and there is no hot water", asset_id="BO-3310", channel="email"
    )

    assert rule == "no-heat-or-hot-water,boiler-lockout-codes,heating-products"
    assert (classified.category, classified.team, classified.priority) == ("heating", "heating", 2)
    assert classified.required_skills == ("heating", "boiler-diagnostics", "gas-safe")


def test_example_a_question_about_an_invoice_goes_to_accounts_at_p4(example_db: Database) -> None:
    classified, rule = _triaged(example_db, "silver", subject="Question about my last invoice", channel="email")

    assert rule == "billing-question"
    assert (classified.category, classified.team, classified.priority) == ("billing", "accounts", 4)


def test_example_an_invoice_mentioned_with_a_fault_is_sorted_by_the_fault(example_db: Database) -> None:
    classified, rule = _triaged(
        example_db, subject="Invoice paid but the dryer is broken again", asset_id="TD-0042", channel="web"
    )

    assert rule == "laundry-appliances"
    assert (classified.category, classified.priority) == ("appliance_repair", None)


def test_example_a_stranded_driver_of_one_of_our_vehicles_gets_roadside_help_at_p2(example_db: Database) -> None:
    classified, rule = _triaged(
        example_db, subject="Van won't start, I am stranded on the A3", asset_id="VH-2207", channel="phone"
    )

    assert rule == "vehicle-breakdown,vehicles"
    assert (classified.category, classified.team, classified.priority) == ("vehicle", "workshop", 2)
    assert classified.required_skills == ("roadside", "vehicle-mechanics")
