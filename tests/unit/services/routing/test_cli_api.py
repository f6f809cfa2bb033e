"""`switchboard worker|queue|task|offer` as supervisors and agents use them, against routing served
in-process over gRPC: what they print, with and without --json, and mistakes refused with the reason."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from services.routing.service.matcher import Matcher
from switchboard.cli import app
from switchboard.composition import Runtime
from switchboard.context import Caller
from switchboard.rpc import auth
from switchboard.settings import Settings, get_settings
from tests.support import wait_for
from tests.unit.builders import ROUTING_MIGRATIONS, OpenDb
from tests.unit.services.routing.api_calls import ALICE, PHONE_SYSTEM, SOFIA, served


@pytest.fixture
def runtime(open_db: OpenDb, settings: Settings) -> Runtime:
    return Runtime(settings=settings, db=open_db("routing", ROUTING_MIGRATIONS))


@pytest.fixture(autouse=True)
def server(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Routing served where the command looks for it: the settings it reads point at this server."""
    settings = runtime.settings
    assert settings.auth_secret is not None
    monkeypatch.setenv("SWITCHBOARD_BASE_PORT", str(settings.base_port))
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    with served(runtime):
        yield
    get_settings.cache_clear()


@pytest.fixture
def matching(runtime: Runtime) -> Iterator[None]:
    """The matcher's loop in the background, as in the running suite."""
    matcher, stop = Matcher(runtime), threading.Event()
    loop = threading.Thread(target=matcher.run, args=(stop,), name="test-matcher", daemon=True)
    loop.start()
    yield
    stop.set()
    matcher.stop()
    loop.join(5)


def _switchboard(runtime: Runtime, caller: Caller, *arguments: str) -> Result:
    token = auth.issue(runtime.settings, caller.subject, caller.roles)
    return CliRunner().invoke(app, list(arguments), env={"SWITCHBOARD_TOKEN": token})


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _alice(runtime: Runtime, *hours: str) -> Result:
    return _switchboard(
        runtime,
        SOFIA,
        "worker", "put", "alice",
        "--name", "Alice Martin",
        "--skill", "boiler=4",
        "--skill", "billing=2",
        "--language", "de",
        "--language", "en",
        "--team", "heating",
        "--capacity", "phone=1",
        "--capacity", "chat=3",
        *hours,
    )  # fmt: skip


def test_a_supervisor_adds_an_agent_and_reads_it_back(runtime: Runtime) -> None:
    added = _alice(runtime, "--time-zone", "Europe/Berlin", "--shift", "mon 08:00-16:00", "--shift", "6 10:00-14:00")
    shown = _json(_switchboard(runtime, SOFIA, "worker", "get", "alice", "--json"))["worker"]

    assert added.exit_code == 0, added.stderr
    assert added.stdout.split()[:4] == ["alice", "agent", "offline", "v1"]
    assert "skills billing=2,boiler=4" in added.stdout
    assert "load chat 0/3,phone 0/1" in added.stdout
    # Monday is weekday 0, the default the JSON form leaves out.
    assert shown["hours"] == {
        "time_zone": "Europe/Berlin",
        "shifts": [{"start": "08:00", "end": "16:00"}, {"weekday": 6, "start": "10:00", "end": "14:00"}],
    }
    assert shown["skills"] == [{"name": "billing", "level": 2}, {"name": "boiler", "level": 4}]


def test_an_agent_goes_on_a_break_for_a_quarter_of_an_hour_and_is_listed_by_it(runtime: Runtime) -> None:
    _alice(runtime)

    on_break = _switchboard(runtime, ALICE, "worker", "presence", "break", "--minutes", "15", "--reason", "lunch")
    listed = _json(_switchboard(runtime, SOFIA, "worker", "list", "--presence", "break", "--json"))

    assert on_break.exit_code == 0, on_break.stderr
    assert on_break.stdout.split()[:3] == ["alice", "agent", "break"]
    assert [w["worker_id"] for w in listed["workers"]] == ["alice"]
    assert "presence_until" in listed["workers"][0]


def test_an_agent_setting_a_colleagues_presence_is_refused_with_the_reason(runtime: Runtime) -> None:
    _alice(runtime)

    refused = _switchboard(
        runtime, Caller("bob", frozenset({"agent"})), "worker", "presence", "offline", "--worker", "alice"
    )

    assert refused.exit_code == 1
    assert refused.stderr.startswith("PERMISSION_DENIED: bob may not set the presence of alice")


def test_malformed_options_are_refused_before_any_call(runtime: Runtime) -> None:
    no_level = _switchboard(runtime, SOFIA, "worker", "put", "bob", "--name", "Bob", "--skill", "boiler")
    no_zone = _switchboard(runtime, SOFIA, "worker", "put", "bob", "--name", "Bob", "--shift", "mon 08:00-16:00")
    robot = _switchboard(runtime, SOFIA, "worker", "put", "bob", "--name", "Bob", "--kind", "robot")

    assert (no_level.exit_code, no_zone.exit_code, robot.exit_code) == (2, 2, 2)
    assert "--skill takes KEY=VALUE; got 'boiler'" in no_level.stderr
    assert "--shift needs --time-zone" in no_zone.stderr
    assert "--kind must be one of agent, technician" in robot.stderr


def test_a_supervisor_sets_up_a_queue_with_a_relaxation_step_and_agents_see_it_in_order(runtime: Runtime) -> None:
    put = _switchboard(
        runtime,
        SOFIA,
        "queue", "put", "heating",
        "--name", "Heating desk",
        "--filter", '"boiler" in task.skills',
        "--order", "10",
        "--strategy", "best_skill",
        "--step", '{"after_seconds": 60, "lower_levels_by": 1, "widen_to_teams": ["general"]}',
    )  # fmt: skip
    listed = _switchboard(runtime, ALICE, "queue", "list")
    as_json = _json(_switchboard(runtime, ALICE, "queue", "list", "--json"))

    assert put.exit_code == 0, put.stderr
    assert [line.split()[1] for line in listed.stdout.splitlines()] == ["heating", "default"]
    assert as_json["queues"][0]["steps"] == [{"after_seconds": 60, "lower_levels_by": 1, "widen_to_teams": ["general"]}]
    assert as_json["queues"][0]["strategy"] == "STRATEGY_BEST_SKILL"


def test_a_queue_with_a_bad_target_is_refused_naming_the_field(runtime: Runtime) -> None:
    refused = _switchboard(
        runtime, SOFIA, "queue", "put", "heating", "--name", "Heating", "--target", "worker.salary > 3"
    )

    assert refused.exit_code == 1
    assert refused.stderr.startswith("INVALID_ARGUMENT")
    assert "\n  queue.target: " in refused.stderr


def test_queue_statistics_before_the_matcher_published_any_are_empty(runtime: Runtime) -> None:
    shown = _switchboard(runtime, ALICE, "queue", "stats")

    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.startswith("as of ")


def test_the_phone_system_routes_a_call_and_an_agent_lists_it_by_status(runtime: Runtime) -> None:
    created = _switchboard(
        runtime,
        PHONE_SYSTEM,
        "task", "create",
        "--customer", "C-1001",
        "--priority", "2",
        "--tier", "gold",
        "--skill", "boiler=3",
        "--language", "de",
        "--attribute", "fault=F28",
    )  # fmt: skip
    queued = _switchboard(runtime, ALICE, "task", "list", "--status", "queued")
    task_id = created.stdout.split()[0]
    shown = _json(_switchboard(runtime, ALICE, "task", "get", task_id, "--json"))["task"]

    assert created.exit_code == 0, created.stderr
    assert created.stdout.split()[1:4] == ["queued", "P2", "phone"]
    assert "skills boiler>=3" in created.stdout
    assert queued.stdout.split()[0] == task_id
    assert (shown["tier"], shown["language"], shown["attributes"]) == ("CUSTOMER_TIER_GOLD", "de", {"fault": "F28"})


def test_an_agent_accepts_the_offer_the_matcher_made(runtime: Runtime, matching: None) -> None:
    _alice(runtime)
    _switchboard(runtime, ALICE, "worker", "presence", "available")
    created = _switchboard(runtime, PHONE_SYSTEM, "task", "create", "--customer", "C-1001", "--skill", "boiler=3")
    task_id = created.stdout.split()[0]
    offers = wait_for(
        lambda: _json(_switchboard(runtime, ALICE, "task", "get", task_id, "--json")).get("offers"),
        timeout=5,
        what="the matcher's offer to alice",
    )

    accepted = _switchboard(runtime, ALICE, "offer", "accept", offers[0]["offer_id"])

    assert accepted.exit_code == 0, accepted.stderr
    assert accepted.stdout.split()[:2] == [task_id, "assigned"]
    assert accepted.stdout.rstrip().endswith("by alice")
