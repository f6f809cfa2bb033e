"""`switchboard recipient|prefs|notify|template` against notifications served in-process over gRPC: what
they print, and mistakes refused with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from switchboard.cli import app
from switchboard.composition import Runtime
from switchboard.context import Caller
from switchboard.rpc import auth
from switchboard.settings import get_settings
from tests.unit.services.notifications.test_api import SOFIA, Served

TOM = Caller(subject="tom", roles=frozenset({"technician"}))


@pytest.fixture(autouse=True)
def server(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Notifications served where the command looks for it."""
    settings = runtime.settings
    monkeypatch.setenv("SWITCHBOARD_BASE_PORT", str(settings.base_port))
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    served = Served(runtime)
    yield
    served.stop()
    get_settings.cache_clear()


def _switchboard(runtime: Runtime, caller: Caller, *arguments: str) -> Result:
    token = auth.issue(runtime.settings, caller.subject, caller.roles)
    return CliRunner().invoke(app, list(arguments), env={"SWITCHBOARD_TOKEN": token})


def test_a_supervisor_describes_a_technician_and_sends_him_a_message(runtime: Runtime) -> None:
    put = _switchboard(
        runtime, SOFIA, "recipient", "put", "tom", "--name", "Tom Becker", "--email", "tom@example.com",
        "--time-zone", "Europe/Berlin",
    )  # fmt: skip
    sent = _switchboard(
        runtime, SOFIA, "notify", "send", "tom", "--subject", "Van inspection", "--body", "Friday 08:00",
        "--priority", "high",
    )  # fmt: skip
    listed = _switchboard(runtime, TOM, "notify", "list")

    assert put.exit_code == 0, put.output
    assert "tom  Tom Becker  tom@example.com" in put.output
    assert sent.exit_code == 0, sent.output
    assert sorted(line.split()[2] for line in sent.output.splitlines()) == ["console", "email"]
    assert "Van inspection" in listed.output


def test_technicians_set_their_own_quiet_hours(runtime: Runtime) -> None:
    result = _switchboard(
        runtime, TOM, "prefs", "set", "--channels", "dispatch=console,sms", "--quiet", "22:00-07:00",
        "--time-zone", "Europe/Berlin", "--cap", "*=5/3600",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "quiet hours: 22:00-07:00 Europe/Berlin" in result.output
    assert "dispatch: console,sms" in result.output


def test_a_template_with_an_unknown_variable_is_refused_with_the_reason(runtime: Runtime, tmp_path: Path) -> None:
    body = tmp_path / "survey.j2"
    body.write_text("Hello {{ customer.email }}, rate ticket {{ number }}: {{ link }}")

    result = _switchboard(runtime, SOFIA, "template", "put", "ticket.resolved", "de", "--body-file", str(body))

    assert result.exit_code == 1
    assert "template.body" in result.output and "email" in result.output
