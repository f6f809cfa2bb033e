"""gRPC server bootstrap: interceptor, health, reflection, graceful shutdown."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from switchboard.rpc.auth import TokenVerifier
from switchboard.rpc.interceptor import CallInterceptor
from switchboard.settings import Settings


@dataclass(frozen=True)
class ApiBinding:
    """One gRPC service of a Switchboard service, with who may call each of its methods."""

    servicer: Any
    add_to_server: Callable[[Any, grpc.Server], None]
    service_name: str  # full name, e.g. "switchboard.ticketing.v1.TicketingService"
    permissions: Mapping[str, frozenset[str]] = field(default_factory=dict)  # method -> roles


class GrpcServer:
    def __init__(self, server: grpc.Server, health_servicer: health.HealthServicer, address: str, grace: float) -> None:
        self._server, self._health, self.address, self._grace = server, health_servicer, address, grace

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        # Report NOT_SERVING first so load balancers stop sending, then let in-flight calls finish.
        self._health.enter_graceful_shutdown()
        self._server.stop(self._grace).wait()


def build_server(settings: Settings, name: str, bindings: list[ApiBinding], port: int) -> GrpcServer:
    permissions = {f"/{b.service_name}/{method}": roles for b in bindings for method, roles in b.permissions.items()}
    server = grpc.server(
        ThreadPoolExecutor(max_workers=settings.grpc_workers, thread_name_prefix=f"{name}-grpc"),
        interceptors=[CallInterceptor(TokenVerifier(settings), permissions)],
        # SO_REUSEPORT would let a second server bind a busy port silently and split its traffic.
        options=[("grpc.so_reuseport", 0)],
    )
    for binding in bindings:
        binding.add_to_server(binding.servicer, server)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [b.service_name for b in bindings]
    for service_name in ["", name, *names]:
        health_servicer.set(service_name, health_pb2.HealthCheckResponse.SERVING)
    if settings.reflection:
        reflection.enable_server_reflection(
            [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME], server
        )
    address = f"{settings.host}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if bound == 0:
        raise OSError(f"{name} cannot listen on {address}: the port is in use (set SWITCHBOARD_BASE_PORT)")
    return GrpcServer(server, health_servicer, address, settings.shutdown_grace)
