"""`switchboard customer ...` against customer-360 served in-process over gRPC: what an agent and a
supervisor see, and a forbidden call refused with the reason."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner, Result

from services.customer360 import config
from switchboard.cli import app
from switchboard.composition import Runtime
from switchboard.context import Caller
from switchboard.rpc import auth
from switchboard.settings import Settings, get_settings
from tests.unit.builders import CUSTOMER360_MIGRATIONS, OpenDb
from tests.unit.services.customer360.events import apply, call, event, order
from tests.unit.services.customer360.test_customers_api import ALICE, SOFIA, Client


@pytest.fixture
def runtime(open_db: OpenDb, settings: Settings) -> Runtime:
    config.load.cache_clear()
    return Runtime(settings=settings, db=open_db("customer360", CUSTOMER360_MIGRATIONS))


@pytest.fixture(autouse=True)
def server(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    settings = runtime.settings
    monkeypatch.setenv("SWITCHBOARD_BASE_PORT", str(settings.base_port))
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    served = Client(runtime)
    yield
    served.channel.close()
    served.server.stop()
    get_settings.cache_clear()


def _switchboard(runtime: Runtime, caller: Caller, *arguments: str) -> Result:
    token = auth.issue(runtime.settings, caller.subject, caller.roles)
    return CliRunner().invoke(app, list(arguments), env={"SWITCHBOARD_TOKEN": token})


def test_an_agent_creates_finds_and_reads_a_customer(runtime: Runtime) -> None:
    made = _switchboard(
        runtime, ALICE, "customer", "create", "C-1001", "--name", "Ada Lovelace", "--phone", "0171 1234567"
    )
    apply(
        runtime.db,
        event(order(customer_id="C-1001"), event_id="cli-1"),
        event(call("CALL-2"), event_id="cli-2", customer_id="C-1001"),
    )

    found = _switchboard(runtime, ALICE, "customer", "find", "--phone", "+49 171 1234567")
    shown = _switchboard(runtime, ALICE, "customer", "get", "C-1001")
    calls = _switchboard(runtime, ALICE, "customer", "timeline", "C-1001", "--kind", "call", "--json")

    assert made.exit_code == 0, made.output
    assert made.output.startswith("C-1001  v1  Ada Lovelace  -  +491711234567")
    assert found.output.splitlines()[0].startswith("C-1001  ")
    assert "product SN-WM-0001 WM800 Washer 800" in shown.output
    assert "Order O-5001 placed (1 line)  1299.00 EUR" in shown.output
    assert [e["entry_id"] for e in json.loads(calls.output)["entries"]] == ["cli-2"]


def test_an_agent_may_not_merge_and_a_supervisor_may(runtime: Runtime) -> None:
    for customer_id in ("C-1001", "C-2002"):
        _switchboard(runtime, ALICE, "customer", "create", customer_id)

    refused = _switchboard(runtime, ALICE, "customer", "merge", "C-1001", "C-2002")
    merged = _switchboard(runtime, SOFIA, "customer", "merge", "C-1001", "C-2002")

    assert refused.exit_code == 1
    assert "PERMISSION_DENIED" in refused.output
    assert merged.exit_code == 0 and merged.output.startswith("merged C-2002 into C-1001")
