"""Running the suite: every role of some services in one process, or one process per role.

Roles: ``api`` (the gRPC server), ``consumer`` (applies subscribed events from RabbitMQ) and
``relay`` (publishes the outbox, runs the service's due timers and its background loops, such as
routing's matcher). The embedded default runs all of
them in one process with the in-process bus; the production layout runs each as its own process, any
number of replicas.
"""

from __future__ import annotations

import ctypes
import faulthandler
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from kombu.connection import Connection

from switchboard.bus.broker import BrokerConsumer, BrokerPublisher, ServiceQueues
from switchboard.bus.embedded import EmbeddedBus
from switchboard.bus.handling import Applier
from switchboard.bus.relay import Publisher, Relay
from switchboard.composition import Loop, Runtime, ServiceDefinition
from switchboard.rpc.server import GrpcServer, build_server
from switchboard.settings import Settings
from switchboard.timers import TimerLoop

log = structlog.get_logger("switchboard.runner")

ROLES = ("api", "consumer", "relay")


@dataclass
class Suite:
    """Some roles of some services, in this process, on threads."""

    settings: Settings
    definitions: list[ServiceDefinition]
    roles: tuple[str, ...] = ROLES
    stopping: threading.Event = field(default_factory=threading.Event)
    runtimes: dict[str, Runtime] = field(default_factory=dict)
    servers: dict[str, GrpcServer] = field(default_factory=dict)
    consumers: dict[str, BrokerConsumer] = field(default_factory=dict)
    relays: dict[str, Relay] = field(default_factory=dict)
    timer_loops: dict[str, TimerLoop] = field(default_factory=dict)
    loops: dict[str, Loop] = field(default_factory=dict)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self, ready_timeout: float = 30.0) -> None:
        if self.settings.embedded and set(self.roles) != set(ROLES):
            raise ValueError(
                "the embedded bus runs every role in one process; set SWITCHBOARD_BROKER_URL to split them"
            )
        for definition in self.definitions:
            self.runtimes[definition.name] = definition.open(self.settings)
        if self.settings.embedded:
            self._start_embedded_bus()
        else:
            self._start_broker_roles()
        if "relay" in self.roles:
            for definition in self.definitions:
                if definition.timers:
                    self._start_timers(definition)
                for name, factory in definition.loops.items():
                    loop = factory(self.runtimes[definition.name])
                    self.loops[f"{definition.name}-{name}"] = loop
                    self._spawn(f"{definition.name}-{name}", loop.run)
        if "api" in self.roles:
            for definition in self.definitions:
                runtime = self.runtimes[definition.name]
                server = build_server(
                    self.settings,
                    definition.name,
                    definition.api(runtime),
                    self.settings.port_of(definition.port_offset),
                )
                server.start()
                self.servers[definition.name] = server
                log.info("api.listening", service=definition.name, address=server.address)
        for name, consumer in self.consumers.items():
            if not consumer.ready.wait(ready_timeout):
                raise TimeoutError(f"{name}'s consumer did not connect to the broker within {ready_timeout}s")

    def _start_embedded_bus(self) -> None:
        bus = EmbeddedBus()
        for definition in self.definitions:
            runtime = self.runtimes[definition.name]
            bus.subscribe(Applier(definition.name, runtime.uow, self.settings), runtime.db, definition.subscriptions)
        for definition in self.definitions:
            self._start_relay(definition.name, bus)

    def _start_broker_roles(self) -> None:
        url = self.settings.broker_url
        assert url is not None
        for definition in self.definitions:
            runtime = self.runtimes[definition.name]
            if "consumer" in self.roles and definition.subscriptions:
                consumer = BrokerConsumer(
                    self.settings,
                    Applier(definition.name, runtime.uow, self.settings),
                    definition.subscriptions,
                    definition.screens,
                )
                self.consumers[definition.name] = consumer
                self._spawn(f"{definition.name}-consumer", consumer.run)
            if "relay" in self.roles:
                self._start_relay(definition.name, BrokerPublisher(url))

    def _start_relay(self, name: str, publisher: Publisher) -> None:
        runtime = self.runtimes[name]
        relay = Relay(
            runtime.db,
            publisher,
            batch=self.settings.relay_batch,
            poll=self.settings.relay_poll,
            wake=runtime.relay_wake,
        )
        self.relays[name] = relay
        self._spawn(f"{name}-relay", relay.run)

    def _start_timers(self, definition: ServiceDefinition) -> None:
        runtime = self.runtimes[definition.name]
        loop = TimerLoop(runtime.db, runtime.uow, definition.timers)
        self.timer_loops[definition.name] = loop
        self._spawn(f"{definition.name}-timers", loop.run)

    def _spawn(self, name: str, target: Callable[[threading.Event], None]) -> None:
        thread = threading.Thread(target=target, args=(self.stopping,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.stopping.set()
        for relay in self.relays.values():
            relay.wake.set()
        for loop in self.timer_loops.values():
            loop.stop()
        for background in self.loops.values():
            background.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        for relay in self.relays.values():
            close = getattr(relay.publisher, "close", None)
            if close is not None:
                close()
        for runtime in self.runtimes.values():
            runtime.db.dispose()


class _Signals:
    """SIGINT and SIGTERM, noted without taking a lock.

    A handler that calls Event.set() can run inside another Event.set() (Ctrl-C, then the
    supervisor's SIGTERM) and deadlock on its lock; appending to a list cannot. Poll in slices: the
    kernel may hand the signal to a gRPC or AMQP thread, and Python runs the handler only when the
    main thread next runs.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda number, _frame: self.received.append(number))

    def wait(self, seconds: float) -> bool:
        """True once a signal has arrived; otherwise sleeps up to ``seconds`` first."""
        deadline = time.monotonic() + seconds
        while not self.received and time.monotonic() < deadline:
            time.sleep(min(0.2, max(deadline - time.monotonic(), 0)))
        return bool(self.received)


def wait_for_signal() -> None:
    # `kill -USR1 <pid>` prints every thread's stack: the first question about a process that hangs.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    signals = _Signals()
    while not signals.wait(3600):
        pass


def declare_topology(settings: Settings, definitions: list[ServiceDefinition]) -> None:
    """Declare every consumer queue before any relay publishes, so the first events find their queues."""
    assert settings.broker_url is not None
    with Connection(settings.broker_url) as connection:
        channel = connection.channel()
        for definition in definitions:
            ServiceQueues(settings, definition.name, definition.subscriptions, definition.screens).declare(channel)


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # If the supervisor is killed outright, the kernel sends SIGTERM to its children: none is left behind.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def supervise(settings: Settings, definitions: list[ServiceDefinition], out: Callable[[str], None]) -> int:
    """The production layout on one machine: one process per service and role."""
    declare_topology(settings, definitions)
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    for definition in definitions:
        roles = [r for r in ROLES if r != "consumer" or definition.subscriptions]
        for role in roles:
            command = [sys.executable, "-m", "switchboard", "serve", definition.name, "--role", role]
            process = subprocess.Popen(command, preexec_fn=_die_with_parent)  # prctl must run in the child
            children.append((f"{definition.name}/{role}", process))
            out(f"  {definition.name:<14} {role:<9} pid {process.pid}")
        out(f"  {definition.name:<14} gRPC      {settings.host}:{settings.port_of(definition.port_offset)}")
    out("Ctrl-C stops everything.")
    signals = _Signals()
    running = True
    while running and not signals.wait(0.5):
        for label, process in children:
            if process.poll() is not None:
                out(f"{label} exited with status {process.returncode}; stopping the suite")
                running = False
    for _, process in children:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for _, process in children:
        try:
            process.wait(timeout=settings.shutdown_grace + 5)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGUSR1)  # its threads' stacks, in the log, before it dies
            time.sleep(0.5)
            process.kill()
            process.wait()
    failed = [(label, p.returncode) for label, p in children if p.returncode not in (0, -signal.SIGTERM)]
    for label, code in failed:
        out(f"{label} ended with status {code}")
    return 1 if failed else 0
