"""One interceptor for every call: authenticate, authorize, validate, then run the method with
the caller, correlation id and deadline in context, map errors to rich statuses and log one line.

It wraps the method handler itself (not just the lookup) so the wrapping runs in the thread that
runs the method, where the context variables must be set.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import grpc
import structlog
from google.protobuf.message import Message

from switchboard import context, validation
from switchboard.context import Caller, WorkContext
from switchboard.errors import PermissionDenied, SwitchboardError
from switchboard.ids import new_id
from switchboard.rpc import status
from switchboard.rpc.auth import ADMIN, TokenVerifier

log = structlog.get_logger("switchboard.rpc")

CORRELATION_HEADER = "x-correlation-id"
_PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
_ANONYMOUS = Caller(subject="anonymous", roles=frozenset())


class CallInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]  # generic only in the stubs
    def __init__(self, verifier: TokenVerifier, permissions: Mapping[str, frozenset[str]]) -> None:
        # permissions: full method name ("/pkg.Service/Method") -> roles that may call it. A method
        # not listed is refused to everyone but admins: forgetting a rule must not open a door.
        self._verifier = verifier
        self._permissions = permissions

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(details)
        if handler is None:
            return None
        method: str = details.method
        public = method.startswith(_PUBLIC_PREFIXES)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, public, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._streaming(method, public, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(
                self._streaming(method, public, handler.stream_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        assert handler.stream_unary is not None
        return grpc.stream_unary_rpc_method_handler(
            self._unary(method, public, handler.stream_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _admit(self, method: str, public: bool, request: Any, ctx: grpc.ServicerContext) -> WorkContext:
        metadata = dict(ctx.invocation_metadata())
        correlation_id = str(metadata.get(CORRELATION_HEADER) or new_id())
        ctx.set_trailing_metadata(((CORRELATION_HEADER, correlation_id),))
        remaining = ctx.time_remaining()
        work = WorkContext(
            correlation_id=correlation_id,
            causation_id=correlation_id,
            caller=_ANONYMOUS,
            deadline=None if remaining is None else time.monotonic() + remaining,
        )
        if public:
            return work
        caller = self._verifier.verify(metadata.get("authorization"))  # type: ignore[arg-type]
        work = WorkContext(work.correlation_id, work.causation_id, caller, work.deadline)
        allowed = self._permissions.get(method, frozenset()) | {ADMIN}
        if not caller.has_any(allowed):
            raise PermissionDenied(
                f"{caller.subject} (roles: {', '.join(sorted(caller.roles)) or 'none'}) may not call {method}; "
                f"it needs one of: {', '.join(sorted(allowed))}"
            )
        if isinstance(request, Message):
            validation.check(request)
        return work

    def _fail(self, exc: Exception, ctx: grpc.ServicerContext, correlation_id: str) -> grpc.Status:
        if isinstance(exc, SwitchboardError):
            return status.to_status(exc)
        log.exception("rpc.internal_error", correlation_id=correlation_id)
        return status.internal_error(correlation_id)

    def _log(
        self, method: str, work: WorkContext | None, code: grpc.StatusCode, started: float, ctx: grpc.ServicerContext
    ) -> None:
        if method.startswith(_PUBLIC_PREFIXES) and code is grpc.StatusCode.OK:
            return  # probes every few seconds would drown the log
        log.info(
            "rpc.call",
            method=method,
            code=code.name,
            caller=work.caller.subject if work else None,
            correlation_id=work.correlation_id if work else None,
            peer=ctx.peer(),
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    def _unary(
        self, method: str, public: bool, behavior: Callable[[Any, grpc.ServicerContext], Any]
    ) -> Callable[..., Any]:
        def run(request: Any, ctx: grpc.ServicerContext) -> Any:
            started, work, failure = time.perf_counter(), None, None
            try:
                work = self._admit(method, public, request, ctx)
                with context.working(work):
                    response = behavior(request, ctx)
            except Exception as exc:
                failure = self._fail(exc, ctx, work.correlation_id if work else "")
            self._log(method, work, failure.code if failure else grpc.StatusCode.OK, started, ctx)
            if failure is not None:
                ctx.abort_with_status(failure)
            return response

        return run

    def _streaming(
        self, method: str, public: bool, behavior: Callable[[Any, grpc.ServicerContext], Iterator[Any]]
    ) -> Callable[..., Iterator[Any]]:
        def run(request: Any, ctx: grpc.ServicerContext) -> Iterator[Any]:
            started, work, failure = time.perf_counter(), None, None
            try:
                work = self._admit(method, public, request, ctx)
                with context.working(work):
                    yield from behavior(request, ctx)
            except Exception as exc:
                failure = self._fail(exc, ctx, work.correlation_id if work else "")
            self._log(method, work, failure.code if failure else grpc.StatusCode.OK, started, ctx)
            if failure is not None:
                ctx.abort_with_status(failure)

        return run
