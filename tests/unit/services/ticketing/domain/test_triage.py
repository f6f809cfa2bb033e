"""Triage rules as specifications: which requests a rule matches, what the applied rules make of
a new ticket, and how a broken ruleset is refused field by field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ticketing.domain import triage
from services.ticketing.domain.tickets import NewTicket
from services.ticketing.domain.triage import TriageRule
from switchboard.errors import InvalidArgument
from tests.unit.builders import new_ticket

LEAK = TriageRule(
    name="water-leak",
    any_keywords=("leak*", "water on the floor", "dripping"),
    none_keywords=("no leak", "not leaking"),
    category="plumbing",
    team="plumbing",
    required_skills=("plumbing",),
    priority=2,
)
NO_HEAT = TriageRule(
    name="no-heat",
    any_keywords=("no heat", "no hot water"),
    category="heating",
    team="heating",
    required_skills=("heating",),
    priority=2,
)
WASHERS = TriageRule(
    name="laundry-appliances",
    asset_patterns=("WM-*", "TD-*"),
    category="appliance_repair",
    team="appliances",
    required_skills=("laundry",),
)
DEVICE_FAULTS = TriageRule(
    name="device-fault-event",
    channels=frozenset({"system_event"}),
    category="device_fault",
    team="remote-diagnostics",
)
PREMIUM = TriageRule(name="premium-customers-first", tiers=frozenset({"gold", "platinum"}), raise_priority=1)
BILLING = TriageRule(
    name="billing-question",
    any_keywords=("invoice", "refund"),
    category="billing",
    team="accounts",
    priority=4,
)
GAS = TriageRule(
    name="gas-emergency",
    any_keywords=("smell of gas", "gas leak"),
    category="safety",
    team="emergency",
    required_skills=("gas-safe",),
    priority=1,
    stop=True,
)


def _classify(rules: list[TriageRule], tier: str = "", **ticket: Any) -> tuple[NewTicket, str]:
    return triage.classify(rules, new_ticket(**ticket), tier)


def _fires(rule: TriageRule, tier: str = "", **ticket: Any) -> bool:
    return _classify([rule], tier, **ticket)[1] == rule.name


# -- Which requests a rule matches -------------------------------------------------------------


def test_a_keyword_matches_whatever_the_case() -> None:
    assert _fires(LEAK, subject="WATER ON THE FLOOR under the washer")


def test_a_keyword_matches_whole_words_only() -> None:
    heat = TriageRule(name="heat", any_keywords=("heat",), category="heating")

    assert not _fires(heat, subject="Heater makes a noise")
    assert not _fires(heat, subject="Preheat does not work")
    assert _fires(heat, subject="Not enough heat, again")


def test_a_keyword_ending_in_a_star_matches_every_word_it_begins() -> None:
    for subject in ("Washer leaks", "Washer is leaking", "A small leak", "Leakage at the door"):
        assert _fires(LEAK, subject=subject), subject
    assert not _fires(LEAK, subject="Bleak outlook for my dryer")


def test_a_phrase_matches_its_words_in_a_row_across_spaces_and_punctuation() -> None:
    assert _fires(NO_HEAT, subject="Boiler: NO   heat since Monday!")
    assert not _fires(NO_HEAT, subject="Heat comes, no more noise")
    assert not _fires(NO_HEAT, subject="No heater in the bathroom")


def test_a_phrase_with_an_apostrophe_matches_the_same_words_in_the_text() -> None:
    drain = TriageRule(name="drain", any_keywords=("won't drain",), required_skills=("drain-pumps",))

    assert _fires(drain, subject="Machine WON'T drain after the wash")
    assert not _fires(drain, subject="Machine won't start, drain is fine")


def test_keywords_are_looked_for_in_the_description_too() -> None:
    assert _fires(LEAK, subject="Washing machine", description="There is water on the floor every morning.")


def test_a_phrase_does_not_run_from_the_end_of_the_subject_into_the_description() -> None:
    assert not _fires(NO_HEAT, subject="Bathroom radiator says no", description="heat comes through")


def test_one_of_the_any_keywords_is_enough() -> None:
    assert _fires(LEAK, subject="Dishwasher dripping")


def test_every_one_of_the_all_keywords_is_needed() -> None:
    drum = TriageRule(name="drum-bearing", all_keywords=("drum", "noise*"), required_skills=("bearings",))

    assert _fires(drum, subject="Loud noises from the drum")
    assert not _fires(drum, subject="Drum does not turn")


def test_a_none_keyword_keeps_the_rule_from_matching() -> None:
    assert not _fires(LEAK, subject="Door seal replaced, no leak now but it squeaks")


def test_a_channel_list_matches_only_those_channels() -> None:
    assert _fires(DEVICE_FAULTS, channel="system_event", subject="Fault E21 reported by WM-7781")
    assert not _fires(DEVICE_FAULTS, channel="phone", subject="Fault E21 on my washer")


def test_a_tier_list_matches_only_customers_of_those_tiers() -> None:
    assert _fires(PREMIUM, "platinum")
    assert not _fires(PREMIUM, "silver")


def test_a_customer_whose_tier_is_not_known_matches_no_tier_list() -> None:
    assert not _fires(PREMIUM, "")


def test_an_asset_pattern_matches_asset_ids_whatever_the_case() -> None:
    assert _fires(WASHERS, asset_id="WM-7781")
    assert _fires(WASHERS, asset_id="td-0042")
    assert not _fires(WASHERS, asset_id="DWM-7781")
    assert not _fires(WASHERS, asset_id="FR-1200")


def test_a_ticket_without_an_asset_matches_no_asset_pattern_not_even_a_star() -> None:
    any_product = TriageRule(name="any-product", asset_patterns=("*",), required_skills=("products",))

    assert not _fires(any_product, asset_id="")
    assert _fires(any_product, asset_id="EVC-9")


def test_every_condition_of_a_rule_must_hold() -> None:
    boiler_codes = TriageRule(name="boiler-lockout", asset_patterns=("BO-*",), any_keywords=("F28", "E119"), priority=2)

    assert _fires(boiler_codes, asset_id="BO-3310", subject="Boiler shows f28")
    assert not _fires(boiler_codes, asset_id="WM-7781", subject="Display shows F28")
    assert not _fires(boiler_codes, asset_id="BO-3310", subject="Boiler makes a noise")


# -- What the applied rules make of a new ticket ----------------------------------------------


def test_when_no_rule_matches_the_ticket_is_unchanged_and_no_rule_is_recorded() -> None:
    new = new_ticket(subject="Question about opening hours")

    assert triage.classify([LEAK, NO_HEAT, BILLING], new, "gold") == (new, "")


def test_a_matching_rule_sets_category_team_skills_and_priority() -> None:
    classified, rule = _classify([NO_HEAT], subject="No heat in the flat", required_skills=())

    assert (classified.category, classified.team, classified.required_skills, classified.priority) == (
        "heating",
        "heating",
        ("heating",),
        2,
    )
    assert rule == "no-heat"


def test_every_matching_rule_applies_and_all_are_recorded_in_order() -> None:
    classified, rule = _classify([LEAK, WASHERS, PREMIUM], "gold", subject="Washing machine leaks", asset_id="WM-7781")

    assert rule == "water-leak,laundry-appliances,premium-customers-first"
    assert classified.required_skills == ("plumbing", "laundry")


def test_the_first_applied_rule_that_names_a_category_and_team_sets_them() -> None:
    classified, _ = _classify([LEAK, WASHERS], subject="Washing machine leaks", asset_id="WM-7781")

    assert (classified.category, classified.team) == ("plumbing", "plumbing")


def test_rule_skills_are_added_to_the_requesters_without_repeats() -> None:
    classified, _ = _classify(
        [LEAK, WASHERS], subject="Washer leaks", asset_id="WM-7781", required_skills=("laundry", "german")
    )

    assert classified.required_skills == ("laundry", "german", "plumbing")


def test_the_most_urgent_priority_wins_whatever_the_order_of_the_rules() -> None:
    invoice_and_leak = {"subject": "Invoice question, and the washer leaks again"}

    assert _classify([BILLING, LEAK], **invoice_and_leak)[0].priority == 2
    assert _classify([LEAK, BILLING], **invoice_and_leak)[0].priority == 2


def test_a_raise_makes_the_default_priority_one_step_more_urgent() -> None:
    classified, _ = _classify([PREMIUM], "gold", subject="Dryer is noisy")

    assert classified.priority == 2


def test_a_raise_applies_after_the_rules_priority() -> None:
    classified, _ = _classify([LEAK, PREMIUM], "platinum", subject="Washer leaks")

    assert classified.priority == 1


def test_p1_is_the_ceiling_of_a_raise() -> None:
    big_raise = TriageRule(name="escalate-twice", any_keywords=("ombudsman",), raise_priority=3)

    classified, _ = _classify([big_raise], subject="I will write to the ombudsman")

    assert classified.priority == 1


def test_the_largest_raise_applies_and_raises_are_not_summed() -> None:
    complaint = TriageRule(name="complaint", any_keywords=("complain*",), raise_priority=1)

    classified, _ = _classify([complaint, PREMIUM], "gold", subject="I want to complain about the engineer")

    assert classified.priority == 2


def test_without_a_priority_or_raise_from_any_rule_the_priority_is_left_to_the_default() -> None:
    classified, _ = _classify([WASHERS], asset_id="WM-7781")

    assert classified.priority is None


def test_what_the_requester_set_wins_over_every_rule() -> None:
    classified, rule = _classify(
        [LEAK, PREMIUM],
        "gold",
        subject="Washer leaks",
        category="warranty",
        team="field-north",
        priority=4,
    )

    assert (classified.category, classified.team, classified.priority) == ("warranty", "field-north", 4)
    assert classified.required_skills == ("plumbing",)
    assert rule == "water-leak,premium-customers-first"


def test_a_device_fault_keeps_the_priority_it_arrived_with() -> None:
    classified, _ = _classify(
        [DEVICE_FAULTS, PREMIUM], "gold", channel="system_event", subject="Fault E21 reported by WM-7781", priority=2
    )

    assert (classified.category, classified.priority) == ("device_fault", 2)


def test_a_rule_with_stop_ends_triage_when_it_applies() -> None:
    classified, rule = _classify([GAS, LEAK, PREMIUM], "gold", subject="Gas leak next to the boiler")

    assert rule == "gas-emergency"
    assert (classified.category, classified.team, classified.required_skills, classified.priority) == (
        "safety",
        "emergency",
        ("gas-safe",),
        1,
    )


def test_a_rule_with_stop_that_does_not_match_stops_nothing() -> None:
    _, rule = _classify([GAS, LEAK], subject="Washer leaks")

    assert rule == "water-leak"


def test_the_rest_of_the_ticket_is_left_as_the_requester_gave_it() -> None:
    new = new_ticket(subject="Washer leaks", language="de", tags=("warranty",), watchers=("bob",))

    classified, _ = triage.classify([LEAK], new, "")

    assert (classified.subject, classified.language, classified.tags, classified.watchers) == (
        "Washer leaks",
        "de",
        ("warranty",),
        ("bob",),
    )
    assert (classified.customer_id, classified.channel, classified.created_by) == ("C-1001", "phone", "alice")


def test_the_names_of_the_applied_rules_are_recorded_whole_while_they_fit_the_ticket() -> None:
    assert triage.recorded(["water-leak", "laundry-appliances"]) == "water-leak,laundry-appliances"


def test_when_the_names_do_not_fit_the_first_is_recorded_with_how_many_more_applied() -> None:
    names = ["device-fault-event"] + [f"washer-drain-code-{n:03d}" for n in range(12)]

    assert triage.recorded(names) == "device-fault-event+12"
    assert triage.recorded(names[:3]) == "device-fault-event,washer-drain-code-000,washer-drain-code-001"


words = st.sampled_from(["leak", "leak*", "no heat", "boiler", "invoice", "noise", "drum"])
rules = st.builds(
    TriageRule,
    name=st.from_regex(r"\A[a-z]{1,12}\Z"),
    any_keywords=st.lists(words, max_size=2).map(tuple),
    none_keywords=st.lists(st.sampled_from(["refund", "no leak"]), max_size=1).map(tuple),
    tiers=st.frozensets(st.sampled_from(triage.TIERS), max_size=2),
    category=st.sampled_from(["", "plumbing", "heating"]),
    team=st.sampled_from(["", "plumbing", "heating"]),
    required_skills=st.lists(st.sampled_from(["plumbing", "heating", "laundry"]), max_size=2, unique=True).map(tuple),
    priority=st.sampled_from([None, 1, 2, 3, 4]),
    raise_priority=st.integers(0, 3),
    stop=st.booleans(),
)


@given(
    ruleset=st.lists(rules, max_size=6),
    tier=st.sampled_from(["", *triage.TIERS]),
    subject=st.sampled_from(["Washer leaks", "No heat and a noise from the drum", "Boiler invoice refund"]),
)
def test_whatever_the_rules_the_requesters_own_choices_survive_triage(
    ruleset: list[TriageRule], tier: str, subject: str
) -> None:
    new = new_ticket(subject=subject, category="warranty", team="field-north", priority=3, required_skills=("german",))

    classified, rule = triage.classify(ruleset, new, tier)

    assert (classified.category, classified.team, classified.priority) == ("warranty", "field-north", 3)
    assert classified.required_skills[0] == "german"
    assert len(rule) <= triage.RECORD_MAX


@given(ruleset=st.lists(rules, max_size=6), tier=st.sampled_from(["", *triage.TIERS]))
def test_a_priority_triage_decides_is_always_p1_to_p4(ruleset: list[TriageRule], tier: str) -> None:
    classified, _ = triage.classify(ruleset, new_ticket(subject="No heat, and the boiler leaks"), tier)

    assert classified.priority is None or 1 <= classified.priority <= 4


# -- Refusing a broken ruleset, field by field -------------------------------------------------


def _violations(*rules: TriageRule) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as refused:
        triage.validate(list(rules))
    return {v.field: v.description for v in refused.value.violations}


def test_the_rules_of_these_specifications_are_valid() -> None:
    triage.validate([GAS, LEAK, NO_HEAT, WASHERS, DEVICE_FAULTS, BILLING, PREMIUM])


def test_an_empty_ruleset_is_valid_and_turns_triage_off() -> None:
    triage.validate([])

    assert triage.classify([], new_ticket(), "gold") == (new_ticket(), "")


def test_a_rule_without_conditions_is_refused() -> None:
    violations = _violations(LEAK, TriageRule(name="everything", category="general"))

    assert list(violations) == ["rules[1]"]
    assert "no conditions" in violations["rules[1]"]


def test_a_rule_that_changes_nothing_is_refused() -> None:
    violations = _violations(TriageRule(name="idle", any_keywords=("leak",)))

    assert "changes nothing" in violations["rules[0]"]


def test_a_rule_that_only_stops_triage_is_valid() -> None:
    triage.validate([TriageRule(name="spam", any_keywords=("unsubscribe",), stop=True)])


def test_two_rules_with_one_name_are_refused_at_the_second() -> None:
    violations = _violations(LEAK, NO_HEAT, TriageRule(name="water-leak", any_keywords=("flood",), team="plumbing"))

    assert violations == {"rules[2].name": "'water-leak' is already the name of rules[0]"}


@pytest.mark.parametrize("name", ["", "Water Leak", "-leak", "a" * 49])
def test_a_name_that_is_not_a_short_slug_is_refused(name: str) -> None:
    assert "rules[0].name" in _violations(TriageRule(name=name, any_keywords=("leak",), team="plumbing"))


@pytest.mark.parametrize(
    ("keyword", "complaint"),
    [
        ("le*ak", "a * may only end a word"),
        ("*leak", "a * may only end a word"),
        ("e*", "at least 3 letters before a *"),
        ("?!", "no letters or digits"),
        ("", "no letters or digits"),
        ("x" * 101, "at most 100 characters"),
    ],
)
def test_a_keyword_that_cannot_match_sensibly_is_named_with_its_index(keyword: str, complaint: str) -> None:
    violations = _violations(TriageRule(name="leak", any_keywords=("leak", keyword), team="plumbing"))

    assert complaint in violations["rules[0].any_keywords[1]"]


def test_a_keyword_repeated_in_another_case_is_refused() -> None:
    violations = _violations(TriageRule(name="leak", all_keywords=("No Heat", "no  heat"), team="heating"))

    assert violations == {"rules[0].all_keywords[1]": "'no  heat' repeats item [0]"}


def test_a_word_both_wanted_and_refused_is_refused_in_none_keywords() -> None:
    violations = _violations(
        TriageRule(name="leak", all_keywords=("leak",), none_keywords=("drum", "LEAK"), team="plumbing")
    )

    assert violations == {
        "rules[0].none_keywords[1]": "'LEAK' is also in all_keywords: a word cannot be both wanted and refused"
    }


def test_too_many_keywords_are_refused() -> None:
    keywords = tuple(f"code{n}" for n in range(51))

    violations = _violations(TriageRule(name="codes", any_keywords=keywords, team="appliances"))

    assert violations == {"rules[0].any_keywords": "at most 50 items; got 51"}


def test_an_unknown_channel_or_tier_is_refused_with_the_known_ones() -> None:
    violations = _violations(
        TriageRule(name="x", channels=frozenset({"fax"}), tiers=frozenset({"diamond"}), team="legacy")
    )

    assert violations["rules[0].channels"] == (
        "'fax' is not a channel; use one of phone, email, chat, web, field, system_event"
    )
    assert violations["rules[0].tiers"] == "'diamond' is not a tier; use one of standard, silver, gold, platinum"


@pytest.mark.parametrize("pattern", ["WM [1]", "", "WM-" + "9" * 62])
def test_an_asset_pattern_outside_the_glob_alphabet_is_refused(pattern: str) -> None:
    violations = _violations(TriageRule(name="washers", asset_patterns=("WM-*", pattern), team="appliances"))

    assert "rules[0].asset_patterns[1]" in violations


def test_bad_skills_category_and_team_names_are_refused() -> None:
    violations = _violations(
        TriageRule(
            name="leak",
            any_keywords=("leak",),
            required_skills=("plumbing", "Gas Safe"),
            category="Plumbing & Heating",
            team="team north",
        )
    )

    assert set(violations) == {"rules[0].required_skills[1]", "rules[0].category", "rules[0].team"}


@pytest.mark.parametrize(("priority", "lift"), [(0, 0), (5, 0), (2, 4), (2, -1)])
def test_a_priority_outside_p1_to_p4_or_a_raise_outside_0_to_3_is_refused(priority: int, lift: int) -> None:
    violations = _violations(
        TriageRule(name="leak", any_keywords=("leak",), team="plumbing", priority=priority, raise_priority=lift)
    )

    assert set(violations) <= {"rules[0].priority", "rules[0].raise_priority"}
    assert violations


def test_more_than_two_hundred_rules_are_refused() -> None:
    many = [TriageRule(name=f"rule-{n}", any_keywords=(f"code{n}",), team="appliances") for n in range(201)]

    assert _violations(*many) == {"rules": "at most 200 rules; got 201"}


def test_every_broken_field_is_named_at_once() -> None:
    violations = _violations(
        LEAK,
        TriageRule(name="Bad Name", any_keywords=("*x",), priority=7),
        TriageRule(name="nothing", team="x"),
    )

    assert set(violations) == {"rules[1].name", "rules[1].any_keywords[0]", "rules[1].priority", "rules[2]"}
