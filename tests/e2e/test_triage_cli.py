"""`switchboard triage` as a supervisor uses it: load the example rules, read them back, edit them
through `show --json`, and see a new ticket sorted by them; mistakes are refused with the reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from switchboard.runner import Suite
from switchboard.settings import Settings
from tests.conftest import TEST_SECRET, token_for
from tests.e2e.running import ROOT, environment, switchboard

EXAMPLE = str(ROOT / "deploy" / "triage" / "rules.example.json")


@pytest.fixture
def suite(settings_factory: Callable[..., Settings], start_suite: Callable[..., Suite]) -> Suite:
    return start_suite(settings_factory(), services=["ticketing"])


@pytest.fixture
def env(suite: Suite, tmp_path: Path) -> dict[str, str]:
    return environment(data_dir=str(tmp_path / "cli"), base_port=str(suite.settings.base_port), auth_secret=TEST_SECRET)


@pytest.fixture
def sofia(suite: Suite, env: dict[str, str]) -> dict[str, str]:
    """The command's environment for Sofia, a supervisor."""
    return {**env, "SWITCHBOARD_TOKEN": token_for(suite.settings, "supervisor", subject="sofia")}


@pytest.fixture
def alice(suite: Suite, env: dict[str, str]) -> dict[str, str]:
    """The command's environment for Alice, an agent."""
    return {**env, "SWITCHBOARD_TOKEN": token_for(suite.settings, "agent", subject="alice")}


def test_a_supervisor_loads_the_example_rules_and_a_new_ticket_is_sorted_by_them(
    sofia: dict[str, str], alice: dict[str, str]
) -> None:
    empty = switchboard(sofia, "triage", "show")
    loaded = switchboard(sofia, "triage", "load", EXAMPLE)
    shown = switchboard(sofia, "triage", "show")

    assert empty.stdout.startswith("no triage rules (version 0)"), empty.stderr
    assert loaded.stdout.strip() == "triage rules version 1 in force: 16 rule(s)", loaded.stderr
    assert shown.stdout.startswith("triage rules version 1, set by sofia at "), shown.stderr
    assert "  1  gas-or-co-emergency\n" in shown.stdout
    assert "then category safety; team emergency; skills gas-safe; priority P1; stop" in shown.stdout
    assert 'when any of "leak*", "water on the floor"' in shown.stdout

    created = switchboard(
        alice, "ticket", "create", "--customer", "C-42", "--subject", "Washing machine leaks", "--asset", "WM-7781"
    )
    assert created.returncode == 0, created.stderr
    ticket = json.loads(switchboard(alice, "ticket", "get", "T-000001", "--json").stdout)["ticket"]
    assert (ticket["triage_rule"], ticket["category"], ticket["team"]) == (
        "water-leak,laundry-appliances",
        "plumbing",
        "plumbing",
    )
    assert ticket["required_skills"] == ["plumbing", "laundry"]


def test_rules_saved_with_show_json_load_back_and_a_stale_file_is_refused(
    sofia: dict[str, str], tmp_path: Path
) -> None:
    assert switchboard(sofia, "triage", "load", EXAMPLE).returncode == 0
    saved = tmp_path / "rules.json"
    saved.write_text(switchboard(sofia, "triage", "show", "--json").stdout)

    reloaded = switchboard(sofia, "triage", "load", str(saved))
    stale = switchboard(sofia, "triage", "load", str(saved))

    assert reloaded.stdout.strip() == "triage rules version 2 in force: 16 rule(s)", reloaded.stderr
    assert stale.returncode == 1
    assert stale.stderr.startswith("ABORTED: the triage rules are at version 2, not 1")
    assert switchboard(sofia, "triage", "show").stdout.startswith("triage rules version 2,")


def test_an_agent_may_read_the_rules_but_not_load_them(alice: dict[str, str]) -> None:
    shown = switchboard(alice, "triage", "show", "--json")
    refused = switchboard(alice, "triage", "load", EXAMPLE)

    assert json.loads(shown.stdout) == {"version": "0", "rules": []}
    assert refused.returncode == 1
    assert refused.stderr.startswith("PERMISSION_DENIED")


def test_a_rule_without_conditions_is_refused_naming_its_place(sofia: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {
                "version": "0",
                "rules": [
                    {"name": "water-leak", "any_keywords": ["leak*"], "team": "plumbing"},
                    {"name": "everything-else", "category": "general"},
                ],
            }
        )
    )

    refused = switchboard(sofia, "triage", "load", str(broken))

    assert refused.returncode == 1
    assert refused.stderr.startswith("INVALID_ARGUMENT")
    assert "rules[1]" in refused.stderr
    assert "no conditions" in refused.stderr


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"version": "0", "rules": [{"name": "leak", "any_keyword": ["leak"]}]}, 'no field named "any_keyword"'),
        ({"version": "0"}, 'must hold a JSON object with "rules"'),
        ({"rules": []}, "does not say which version it replaces; pass --version"),
    ],
)
def test_a_file_that_is_not_a_ruleset_is_refused_before_anything_is_sent(
    sofia: dict[str, str], tmp_path: Path, document: dict[str, object], complaint: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))

    refused = switchboard(sofia, "triage", "load", str(bad))

    assert refused.returncode == 2
    assert complaint in refused.stderr
    assert switchboard(sofia, "triage", "show").stdout.startswith("no triage rules (version 0)")
