"""Helpers shared by the tests: real servers, free ports, waiting for eventual effects."""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from kombu import Connection

from switchboard.ids import new_id

T = TypeVar("T")

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
AMQP_ROOT = "amqp://guest:guest@127.0.0.1:5672"


def wait_for(probe: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = "condition") -> T:
    """Poll until probe() returns something truthy; fail the test with what it waited for."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {value!r})")
        time.sleep(interval)


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_base_port(count: int = 4) -> int:
    """A run of ``count`` consecutive free TCP ports on loopback, below the kernel's ephemeral range: a
    port from that range can be handed to some outgoing connection (to PostgreSQL, to RabbitMQ) between
    this check and the server's bind."""
    low = _ephemeral_low()
    for _ in range(200):
        base = random.randrange(10_000, low - count)
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no run of free ports found")


def require_postgres() -> None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        raise RuntimeError(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc}); start it (see .ci/run)") from exc


def require_rabbitmq() -> None:
    try:
        with Connection(f"{AMQP_ROOT}//", connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        raise RuntimeError(f"RabbitMQ is not reachable at 127.0.0.1:5672 ({exc}); start it (see .ci/run)") from exc


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database; dropped afterwards. Yields its SQLAlchemy URL."""
    name = f"sb_test_{new_id().replace('-', '')[-16:]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=60).stdout


@contextlib.contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A new vhost that guest may use; deleted afterwards. Yields its AMQP URL."""
    name = f"sb-test-{new_id()[-12:]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"{AMQP_ROOT}/{name}"
    finally:
        rabbitmqctl("delete_vhost", name)


def queue_depth(url: str, queue: str) -> int:
    with Connection(url) as connection:
        _, count, _ = connection.default_channel.queue_declare(queue=queue, passive=True)
        return int(count)


@dataclass(frozen=True)
class Taken:
    headers: dict[str, Any]
    body: bytes
    content_type: str


def get_message(url: str, queue: str) -> Taken | None:
    """Take one message off an existing queue (acknowledged), or None; never redeclares the queue."""
    with Connection(url) as connection:
        channel = connection.channel()
        raw = channel.basic_get(queue, no_ack=True)
        if raw is None:
            return None
        message = channel.message_to_python(raw)
        body = message.body if isinstance(message.body, bytes) else message.body.encode()
        return Taken(headers=dict(message.headers or {}), body=body, content_type=message.content_type)


class Api:
    """gRPC stubs for a running suite, calling as one user."""

    def __init__(self, host: str, base_port: int, token: str) -> None:
        import grpc

        from switchboard.routing.v1 import routing_pb2_grpc
        from switchboard.ticketing.v1 import ticketing_pb2_grpc

        self._channels = [grpc.insecure_channel(f"{host}:{base_port + i}") for i in range(4)]
        self.ticketing = ticketing_pb2_grpc.TicketingServiceStub(self._channels[0])
        self.routing = routing_pb2_grpc.RoutingServiceStub(self._channels[1])
        self.token = token

    def channel(self, offset: int) -> Any:
        return self._channels[offset]

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)

    def close(self) -> None:
        for channel in self._channels:
            channel.close()


def publish_raw(url: str, exchange: str, routing_key: str, body: bytes, content_type: str = "application/json") -> None:
    """Publish bytes as another system would, declaring the exchange as Switchboard does."""
    from kombu import Exchange, Producer

    with Connection(url, transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        target = Exchange(exchange, type="topic", durable=True)
        target(channel).declare()
        Producer(channel).publish(
            body, exchange=exchange, routing_key=routing_key, content_type=content_type, content_encoding="utf-8"
        )


def create_ticket_request(key: str = "slice-key-0001", customer_id: str = "C-1001") -> Any:
    """A valid CreateTicketRequest: a leaking washing machine reported by phone."""
    from switchboard.common.v1 import common_pb2
    from switchboard.ticketing.v1 import ticketing_pb2

    return ticketing_pb2.CreateTicketRequest(
        idempotency_key=key,
        customer_id=customer_id,
        asset_id="WM-7781",
        channel=common_pb2.CHANNEL_PHONE,
        subject="Washing machine leaks from the door",
        priority=common_pb2.PRIORITY_P2,
        required_skills=["washers", "plumbing"],
        language="en",
    )
