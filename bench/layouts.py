"""The two ways the suite runs, each started in this process on throwaway storage and removed after."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kombu.connection import Connection
from pydantic import SecretStr

from switchboard import logs
from switchboard.composition import load_services
from switchboard.runner import Suite
from switchboard.settings import Settings
from tests import support

TITLES = {"embedded": "embedded (SQLite, in-process)", "broker": "PostgreSQL + RabbitMQ"}

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
def running(layout: str) -> Iterator[Suite]:
    """A started Suite of every service; stopped, and its database, vhost and files removed, on exit."""
    with contextlib.ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="switchboard-bench-")))
        # Passed explicitly even when None, so a SWITCHBOARD_* variable in the environment cannot
        # turn the embedded run into a broker run (or point the broker run at a shared database).
        database_url: str | None = None
        broker_url: str | None = None
        if layout == "broker":
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
        suite = Suite(settings, load_services())
        stack.callback(suite.stop)  # registered before start, so a half-started suite is stopped too
        suite.start()
        yield suite
