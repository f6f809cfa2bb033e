"""`make run` as a user runs it: every server answers health, the slice works from the command line (a
ticket reaches routing and the customer's view), and Ctrl-C stops everything with no process left behind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import support
from tests.conftest import TEST_SECRET
from tests.e2e.running import READY_LINE, Running, alive, environment, switchboard

SERVICES = ("ticketing", "routing", "customer360", "notifications")


def use_the_slice(env: dict[str, str]) -> None:
    token = switchboard(env, "token", "--role", "agent", "--subject", "alice")
    assert token.returncode == 0, token.stderr
    env = {**env, "SWITCHBOARD_TOKEN": token.stdout.strip()}

    created = switchboard(
        env,
        "ticket",
        "create",
        "--customer",
        "C-42",
        "--subject",
        "Washing machine leaks",
        "--skill",
        "washers",
        "--priority",
        "2",
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("T-000001  P2  Washing machine leaks")

    listed = support.wait_for(
        lambda: (r := switchboard(env, "task", "list")).returncode == 0 and "queued" in r.stdout and r.stdout,
        timeout=30,
        what="routing's task in 'switchboard task list'",
    )
    assert "skills washers" in listed

    shown = switchboard(env, "ticket", "get", "T-000001")
    assert shown.stdout.startswith("T-000001  new  P2"), shown.stderr

    # customer360 learnt of the ticket from its event: it is on the customer's one-call view.
    view = support.wait_for(
        lambda: (
            (r := switchboard(env, "customer", "get", "C-42")).returncode == 0 and "T-000001" in r.stdout and r.stdout
        ),
        timeout=30,
        what="the ticket on customer C-42's view",
    )
    assert "ticket T-000001 new: Washing machine leaks" in view


def assert_healthy(env: dict[str, str]) -> None:
    health = support.wait_for(
        lambda: (r := switchboard(env, "health")).returncode == 0 and r.stdout, timeout=180, what="every server SERVING"
    )
    for service in SERVICES:
        assert re.search(rf"^{service}\s+\S+\s+SERVING$", health, re.MULTILINE), health


def test_make_run_starts_the_embedded_suite_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    env = environment(data_dir=str(tmp_path / "var"), base_port=str(support.free_base_port()))
    suite = Running(["make", "--no-print-directory", "run"], env)
    try:
        suite.wait_for_line(READY_LINE, timeout=120)
        assert_healthy(env)
        use_the_slice(env)
        assert suite.interrupt() in (0, 2, -2), suite.output  # make reports the interrupt of its child
    finally:
        suite.kill()
    assert "Switchboard stopped." in suite.output
    assert (tmp_path / "var" / "ticketing.db").exists()


@pytest.mark.integration
def test_the_production_layout_runs_one_process_per_role_and_stops_them_all(
    tmp_path: Path, pg_url: str, amqp_url: str
) -> None:
    env = environment(
        data_dir=str(tmp_path / "var"),
        base_port=str(support.free_base_port()),
        database_url=pg_url,
        broker_url=amqp_url,
        auth_secret=TEST_SECRET,
    )
    suite = Running(["python", "-m", "switchboard", "up"], env)
    try:
        suite.wait_for_line(READY_LINE, timeout=120)
        pids = [int(p) for p in re.findall(r"pid (\d+)", suite.output)]
        assert len(pids) == 4 * 3  # api, consumer and relay of each service
        assert_healthy(env)
        use_the_slice(env)
        assert suite.interrupt() == 0, suite.output
    finally:
        suite.kill()
    assert not [pid for pid in pids if alive(pid)], "processes left behind"


def test_a_served_process_stops_promptly_on_ctrl_c_followed_by_sigterm(tmp_path: Path) -> None:
    import os
    import signal
    import time

    env = environment(data_dir=str(tmp_path / "var"), base_port=str(support.free_base_port()))
    served = Running(["python", "-m", "switchboard", "serve", "customer360"], env)
    try:
        support.wait_for(lambda: switchboard(env, "health").stdout.count("SERVING") >= 1, timeout=60, what="serving")
        started = time.monotonic()
        os.kill(served.process.pid, signal.SIGINT)
        os.kill(served.process.pid, signal.SIGTERM)  # what the supervisor sends next
        assert served.process.wait(timeout=15) == 0, served.output
        assert time.monotonic() - started < 10
    finally:
        served.kill()
