"""The two ways the suite runs, each started in this process on throwaway storage and removed after."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kombu.connection import Connection
from pydantic import SecretStr

from switchboard import logs
from switchboard.composition import Runtime, load_services
from switchboard.db.engine import open_database
from switchboard.runner import Suite
from switchboard.settings import Settings
from tests import support

TITLES = {
    "embedded": "embedded (SQLite, in-process)",
    "broker": "PostgreSQL + RabbitMQ, 1 process",
    "processes": "PostgreSQL + RabbitMQ, per role",
}
LAYOUTS = tuple(TITLES)


class Running(Protocol):
    """What a measurement needs of a running suite: its settings and routing's database."""

    settings: Settings
    runtimes: dict[str, Runtime]


@dataclass
class _Processes:
    settings: Settings
    runtimes: dict[str, Runtime]


# Both the suite and the bench's client live in this process, so any fixed key will do.
_SECRET = SecretStr("bench-secret-not-for-production-0123456789")
# Production's broker definitions; their vhost-scoped parts are applied to the bench's vhost.
_DEFINITIONS = Path(__file__).parents[1] / "deploy" / "rabbitmq" / "definitions.json"


def _apply_broker_definitions(broker_url: str) -> None:
    """Policies, exchanges, queues and bindings from deploy/, so the bench runs production's topology.

    Among them the alternate exchange that keeps events no service subscribes to yet (task.created):
    without it the relay logs each one as unroutable, a WARNING per event that would flood the run.
    """
    definitions = json.loads(_DEFINITIONS.read_text())
    vhost = unquote(urlsplit(broker_url).path.lstrip("/"))
    for p in definitions.get("policies", []):
        options = ["-p", vhost, "--apply-to", p["apply-to"], "--priority", str(p["priority"])]
        support.rabbitmqctl("set_policy", *options, p["name"], p["pattern"], json.dumps(p["definition"]))
    with Connection(broker_url) as connection:  # type: ignore[no-untyped-call]
        channel = connection.channel()
        for e in definitions.get("exchanges", []):
            channel.exchange_declare(
                e["name"], e["type"], durable=e["durable"], auto_delete=e["auto_delete"], arguments=e["arguments"]
            )
        for q in definitions.get("queues", []):
            channel.queue_declare(
                q["name"], durable=q["durable"], auto_delete=q["auto_delete"], arguments=q["arguments"]
            )
        for b in definitions.get("bindings", []):
            bind = channel.queue_bind if b["destination_type"] == "queue" else channel.exchange_bind
            bind(b["destination"], b["source"], b["routing_key"], arguments=b["arguments"])


@contextlib.contextmanager
def running(layout: str) -> Iterator[Running]:
    """A started suite of every service; stopped, and its database, vhost and files removed, on exit.

    "broker" runs every role in this process, beside the client, as the tests do; "processes" is
    the production layout (`switchboard up`: one process per service and role), so the client,
    the APIs, the relays and the consumers do not share one interpreter.
    """
    with contextlib.ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="switchboard-bench-")))
        # Passed explicitly even when None, so a SWITCHBOARD_* variable in the environment cannot
        # turn the embedded run into a broker run (or point the broker run at a shared database).
        database_url: str | None = None
        broker_url: str | None = None
        if layout in ("broker", "processes"):
            support.require_postgres()
            support.require_rabbitmq()
            database_url = stack.enter_context(support.postgres_database())
            broker_url = stack.enter_context(support.rabbitmq_vhost())
            _apply_broker_definitions(broker_url)
        settings = Settings(
            data_dir=data_dir / "var",
            database_url=database_url,
            broker_url=broker_url,
            base_port=support.free_base_port(),
            auth_secret=_SECRET,
            log_level="WARNING",  # one line per call would cost more than the work being measured
            shutdown_grace=0.5,
        )
        logs.configure(settings)
        if layout == "processes":
            yield stack.enter_context(_production_layout(settings))
            return
        suite = Suite(settings, load_services())
        stack.callback(suite.stop)  # registered before start, so a half-started suite is stopped too
        suite.start()
        yield suite


@contextlib.contextmanager
def _production_layout(settings: Settings) -> Iterator[Running]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(
        {
            f"SWITCHBOARD_{name.upper()}": str(value.get_secret_value() if isinstance(value, SecretStr) else value)
            for name, value in settings.model_dump().items()
            if value is not None
        }
    )
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "switchboard", "up"], env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )
    routing = Runtime(settings=settings, db=open_database(settings, "routing"))
    try:
        _wait_until_serving(settings, supervisor)
        yield _Processes(settings=settings, runtimes={"routing": routing})
    finally:
        os.killpg(supervisor.pid, signal.SIGINT)  # Ctrl-C, as a person stops it
        try:
            supervisor.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(supervisor.pid, signal.SIGKILL)
            supervisor.wait()
        routing.db.dispose()


def _wait_until_serving(settings: Settings, supervisor: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    for offset in range(4):
        with grpc.insecure_channel(f"{settings.host}:{settings.port_of(offset)}") as channel:
            while True:
                if supervisor.poll() is not None:
                    raise RuntimeError(f"switchboard up exited with status {supervisor.returncode}")
                try:
                    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the production layout did not answer health within {timeout:.0f}s")
                time.sleep(0.5)
