"""A real nameko service and Switchboard interoperate on RabbitMQ, in both directions.

The nameko service (tests/interop/nameko/service.py) receives ``ticket.created`` with a plain
``@event_handler`` and dispatches ``device.fault_reported`` with nameko's EventDispatcher, which
ticketing applies by opening a second ticket. nameko runs in its own process from its own
virtualenv, .venv-nameko, built here from tests/interop/nameko/requirements.txt and kept between
runs (rebuilt when that file changes): eventlet monkey-patches whatever process it runs in, so
neither nameko nor eventlet may enter the product's .venv or this process.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from kombu import Connection

from switchboard.common.v1 import common_pb2
from switchboard.settings import Settings
from switchboard.ticketing.v1 import ticketing_pb2
from tests import support

ROOT = Path(__file__).resolve().parents[2]
NAMEKO_DIR = ROOT / "tests" / "interop" / "nameko"
REQUIREMENTS = NAMEKO_DIR / "requirements.txt"
VENV = ROOT / ".venv-nameko"
STAMP = VENV / ".requirements.sha256"
NAMEKO = VENV / "bin" / "nameko"

# nameko's queue for a SERVICE_POOL handler: evt-<source>-<event type>--<service>.<method>.
HANDLER_QUEUE = "evt-ticketing-ticket.created--integration.report_fault_for_ticket"
FAULT_TYPE_URL = "type.googleapis.com/switchboard.events.v1.DeviceFaultReported"
TICKET_TYPE_URL = "type.googleapis.com/switchboard.events.v1.TicketCreated"
FAULT_CODE = "E21"  # what service.py reports

# Variables of this process that would make the nameko process use the product's environment.
_FOREIGN_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_ENV}
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def _run(*command: str | Path, timeout: float) -> None:
    done = subprocess.run(
        [str(c) for c in command], env=_clean_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, command))} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )


def nameko_venv() -> Path:
    """.venv-nameko as requirements.txt pins it; built once, rebuilt when requirements.txt changes.

    The stamp inside it holds the sha256 of requirements.txt and the Python it was built with.
    """
    wanted = f"{hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()}\npython {platform.python_version()}"
    # Another test process may be building it too: the lock is on requirements.txt itself.
    with REQUIREMENTS.open("rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if NAMEKO.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
                return VENV
            shutil.rmtree(VENV, ignore_errors=True)
            # The interpreter running the tests (the product's Python, 3.11+), not its packages.
            _run(sys.executable, "-m", "venv", "--clear", VENV, timeout=120)
            python = VENV / "bin" / "python"
            # Every package is pinned in the file, so --no-deps; pip check proves nothing is missing.
            pip = (python, "-m", "pip", "--disable-pip-version-check", "--no-input")
            _run(*pip, "install", "--quiet", "--no-deps", "-r", REQUIREMENTS, timeout=480)
            _run(*pip, "check", timeout=60)
            STAMP.write_text(wanted + "\n")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return VENV


class NamekoService:
    """tests/interop/nameko/service.py run by ``nameko run`` from .venv-nameko, in its own process."""

    def __init__(self, amqp_url: str, workdir: Path) -> None:
        self.record = workdir / "nameko-record.jsonl"
        self.log = workdir / "nameko.log"
        self.config = workdir / "nameko.yaml"
        self.config.write_text(json.dumps({"AMQP_URI": amqp_url}))  # JSON is YAML
        self.amqp_url = amqp_url
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(NAMEKO), "run", "--config", str(self.config), "service"],
                cwd=NAMEKO_DIR,
                env=_clean_env(NAMEKO_INTEROP_RECORD=str(self.record)),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self, timeout: float = 10.0) -> int | None:
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # nameko run stops its containers gracefully on SIGTERM
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        return process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else "(no output)"

    def alive(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise AssertionError(f"the nameko service exited early:\n{self.output()}")
        return True

    def consumers(self) -> int:
        """Consumers on the handler's queue; 0 while nameko has not declared it."""
        self.alive()
        with Connection(self.amqp_url, connect_timeout=2) as connection:
            try:
                _, _, consumers = connection.default_channel.queue_declare(queue=HANDLER_QUEUE, passive=True)
            except connection.channel_errors + connection.connection_errors:  # not there yet (404), or a blink
                return 0
            return int(consumers)

    def entries(self, key: str) -> list[dict[str, Any]]:
        """The envelopes the service recorded under ``received`` or ``dispatched``, in order."""
        if not self.record.exists():
            return []
        lines = self.record.read_text().splitlines()
        return [entry[key] for entry in map(json.loads, lines) if key in entry]


@contextlib.contextmanager
def nameko_service(amqp_url: str, workdir: Path) -> Iterator[NamekoService]:
    service = NamekoService(amqp_url, workdir)
    service.start()
    try:
        yield service
    except BaseException:
        service.stop()
        raise
    code = service.stop()
    assert code == 0, f"nameko exited {code} on SIGTERM instead of stopping cleanly:\n{service.output()}"


def ticket_by_number(api: support.Api, number: str) -> ticketing_pb2.Ticket | None:
    request = ticketing_pb2.GetTicketRequest(number=number)
    try:
        return api.ticketing.GetTicket(request, metadata=api.metadata, timeout=5).ticket
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def received_for(service: NamekoService, number: str) -> dict[str, Any] | None:
    service.alive()
    return next((e for e in service.entries("received") if e.get("payload", {}).get("number") == number), None)


@pytest.mark.timeout(600)  # the first run builds .venv-nameko (about half a minute); then about 10 s
def test_a_nameko_service_receives_ticket_created_and_ticketing_applies_its_event(
    pg_url: str,  # first, so the database and the vhost outlive the suite at teardown
    amqp_url: str,
    settings_factory: Callable[..., Settings],
    start_suite: Callable[..., object],
    api_factory: Callable[..., support.Api],
    tmp_path: Path,
) -> None:
    nameko_venv()
    settings = settings_factory(database_url=pg_url, broker_url=amqp_url)
    start_suite(settings)  # ticketing's consumer has declared integration.events and bound its queue
    api = api_factory(settings, "agent")

    with nameko_service(amqp_url, tmp_path) as nameko:
        # nameko declares ticketing.events and integration.events again, its own way: a mismatch
        # with Switchboard's declarations would be PRECONDITION_FAILED and end the process.
        support.wait_for(nameko.consumers, timeout=30, interval=0.2, what=f"nameko consuming {HANDLER_QUEUE}")

        created = api.ticketing.CreateTicket(
            ticketing_pb2.CreateTicketRequest(
                idempotency_key="nameko-interop-0001",
                customer_id="C-2002",
                asset_id="WM-4242",
                channel=common_pb2.CHANNEL_PHONE,
                subject="Dryer stops after five minutes",
                priority=common_pb2.PRIORITY_P3,
                language="en",
            ),
            metadata=api.metadata,
            timeout=5,
        ).ticket
        assert created.number == "T-000001"

        # (1) Switchboard -> nameko: a plain @event_handler got the envelope's JSON mapping.
        got = support.wait_for(
            lambda: received_for(nameko, "T-000001"), timeout=20, what="nameko's handler receiving ticket.created"
        )
        assert got is not None
        assert got["type"] == "ticket.created"
        assert got["source"] == "ticketing"
        assert got["eventId"] and got["correlationId"] and got["occurredAt"]
        assert got["customerId"] == "C-2002"
        assert got["payload"]["@type"] == TICKET_TYPE_URL
        assert got["payload"]["ticketId"] == created.ticket_id
        assert got["payload"]["customerId"] == "C-2002"
        assert got["payload"]["assetId"] == "WM-4242"
        assert got["payload"]["channel"] == "CHANNEL_PHONE"

        # (2) nameko -> Switchboard: ticketing applied device.fault_reported by opening T-000002.
        def second_ticket() -> ticketing_pb2.Ticket | None:
            nameko.alive()
            return ticket_by_number(api, "T-000002")

        second = support.wait_for(
            second_ticket, timeout=20, what="ticketing opening T-000002 from nameko's device.fault_reported"
        )
        assert second is not None
        [fault] = nameko.entries("dispatched")
        assert fault["type"] == "device.fault_reported"
        assert fault["payload"]["@type"] == FAULT_TYPE_URL
        assert fault["correlationId"] == got["correlationId"]
        assert fault["causationId"] == got["eventId"]
        assert second.ticket_id != created.ticket_id
        assert second.channel == common_pb2.CHANNEL_SYSTEM_EVENT
        assert FAULT_CODE in second.subject
        assert second.customer_id == "C-2002"
        assert second.asset_id == "WM-4242"
        assert second.created_by == f"event:{fault['eventId']}"

        # The second ticket's ticket.created reaches nameko too, in the same causal chain, and
        # nameko reports nothing for a ticket that came from a system event: no loop.
        echo = support.wait_for(
            lambda: received_for(nameko, "T-000002"), timeout=20, what="nameko receiving T-000002's ticket.created"
        )
        assert echo is not None
        assert echo["correlationId"] == got["correlationId"]
        assert echo["causationId"] == fault["eventId"]
        assert echo["payload"]["channel"] == "CHANNEL_SYSTEM_EVENT"
        assert len(nameko.entries("dispatched")) == 1
        assert ticket_by_number(api, "T-000003") is None
