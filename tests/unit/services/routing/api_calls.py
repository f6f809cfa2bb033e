"""What routing's API tests share: callers, real-looking requests, and routing served in-process over gRPC."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Generic, TypeVar

import grpc

from services.routing import api
from switchboard import context
from switchboard.common.v1 import common_pb2
from switchboard.composition import Runtime
from switchboard.context import Caller, WorkContext
from switchboard.routing.v1 import queues_pb2, routing_pb2, workers_pb2
from switchboard.rpc import auth
from switchboard.rpc.server import build_server

M = TypeVar("M")

ALICE = Caller(subject="alice", roles=frozenset({"agent"}))
BOB = Caller(subject="bob", roles=frozenset({"agent"}))
TOM = Caller(subject="tom", roles=frozenset({"technician"}))
SOFIA = Caller(subject="sofia", roles=frozenset({"supervisor"}))
PHONE_SYSTEM = Caller(subject="phone-system", roles=frozenset({"integration"}))


def acting_as(caller: Caller) -> AbstractContextManager[WorkContext]:
    """Call a servicer directly as this caller, as the interceptor would have set it up."""
    return context.working(WorkContext(correlation_id="corr-7f3a", causation_id="", caller=caller, deadline=None))


def agent(worker_id: str = "alice", **overrides: Any) -> workers_pb2.Worker:
    """A phone and chat agent for boilers, speaking German and English, in the heating team."""
    values: dict[str, Any] = {
        "worker_id": worker_id,
        "name": worker_id.title(),
        "kind": workers_pb2.WORKER_KIND_AGENT,
        "skills": [workers_pb2.Skill(name="boiler", level=4), workers_pb2.Skill(name="billing", level=2)],
        "languages": ["de", "en"],
        "teams": ["heating"],
        "capacity": [
            workers_pb2.ChannelCapacity(channel="phone", capacity=1),
            workers_pb2.ChannelCapacity(channel="chat", capacity=3),
        ],
    }
    values.update(overrides)
    return workers_pb2.Worker(**values)


def put_worker_request(worker: workers_pb2.Worker, key: str = "key-worker-0001", version: int = 0) -> Any:
    return workers_pb2.PutWorkerRequest(idempotency_key=key, worker=worker, expected_version=version)


def queue(queue_id: str = "heating", **overrides: Any) -> queues_pb2.Queue:
    """The heating desk: boiler work in German first, widened to any team after a minute."""
    values: dict[str, Any] = {
        "queue_id": queue_id,
        "name": "Heating desk",
        "filter": '"boiler" in task.skills',
        "order": 10,
        "strategy": queues_pb2.STRATEGY_LONGEST_IDLE,
        "offer_to": 1,
        "offer_timeout_seconds": 30,
        "missed_offer_pause_seconds": 60,
        "aging_seconds_per_level": 300,
        "vip_tiers": ["platinum"],
        "sticky_seconds": 60,
        "wrap_up_seconds": 30,
        "service_level_seconds": 20,
        "steps": [queues_pb2.Step(after_seconds=60, lower_levels_by=1, widen_to_teams=["general"])],
    }
    values.update(overrides)
    return queues_pb2.Queue(**values)


def call_request(key: str = "key-task-0001", **overrides: Any) -> routing_pb2.CreateTaskRequest:
    """An inbound call from a gold customer whose boiler is in lockout, in German."""
    values: dict[str, Any] = {
        "idempotency_key": key,
        "customer_id": "C-1001",
        "channel": common_pb2.CHANNEL_PHONE,
        "priority": common_pb2.PRIORITY_P2,
        "tier": common_pb2.CUSTOMER_TIER_GOLD,
        "requirements": [routing_pb2.Requirement(skill="boiler", min_level=3)],
        "language": "de",
        "team": "heating",
        "attributes": {"fault": "F28"},
    }
    values.update(overrides)
    return routing_pb2.CreateTaskRequest(**values)


class Served:
    """Routing's four services on a real localhost port, with the chassis's interceptor in front."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._server = build_server(runtime.settings, "routing", api.bindings(runtime), runtime.settings.port_of(1))
        self._server.start()
        self.channel = grpc.insecure_channel(self._server.address)

    def stop(self) -> None:
        self.channel.close()
        self._server.stop()

    def as_(self, caller: Caller) -> tuple[tuple[str, str], ...]:
        """The metadata of a call made by ``caller``: a bearer token with its id and roles."""
        token = auth.issue(self.runtime.settings, caller.subject, caller.roles)
        return (("authorization", f"Bearer {token}"),)


@contextmanager
def served(runtime: Runtime) -> Iterator[Served]:
    server = Served(runtime)
    try:
        yield server
    finally:
        server.stop()


class Listening(Generic[M]):
    """A server stream read in the background, as a console or a wallboard reads it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.received: list[M] = []
        # time.monotonic() when each message arrived.
        self.arrived: list[float] = []
        self.error: grpc.RpcError | None = None
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="test-stream-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for message in self._stream:
                with self._changed:
                    self.received.append(message)
                    self.arrived.append(time.monotonic())
                    self._changed.notify_all()
        except grpc.RpcError as error:
            if error.code() is not grpc.StatusCode.CANCELLED:
                self.error = error
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[M]:
        """The first ``count`` messages, once they are there."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.received) >= count or not self._reader.is_alive(), timeout):
                raise AssertionError(f"{count} message(s) expected within {timeout} s, got {len(self.received)}")
            if len(self.received) < count:
                raise AssertionError(f"the stream ended after {len(self.received)} message(s): {self.error}")
            return self.received[:count]

    def close(self) -> None:
        self._stream.cancel()
        self._reader.join(5)
