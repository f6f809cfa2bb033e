"""Errors to gRPC status codes with rich details (google.rpc error_details), and back for clients."""

from __future__ import annotations

from typing import cast

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from switchboard import errors

_DOMAIN = "switchboard"


def _status(code: int, message: str, *details: object) -> grpc.Status:
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)  # type: ignore[arg-type]
        packed.append(holder)
    return rpc_status.to_status(status_pb2.Status(code=code, message=message, details=packed))


def to_status(exc: errors.SwitchboardError) -> grpc.Status:
    message = str(exc)
    match exc:
        case errors.InvalidArgument():
            request = error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in exc.violations
                ]
            )
            return _status(code_pb2.INVALID_ARGUMENT, message, request)
        case errors.NotFound():
            return _status(
                code_pb2.NOT_FOUND,
                message,
                error_details_pb2.ResourceInfo(resource_type=exc.kind, resource_name=exc.key),
            )
        case errors.FailedPrecondition():
            failure = error_details_pb2.PreconditionFailure(
                violations=[error_details_pb2.PreconditionFailure.Violation(type="STATE", description=message)]
            )
            return _status(code_pb2.FAILED_PRECONDITION, message, failure)
        case errors.Aborted():
            return _status(
                code_pb2.ABORTED, message, error_details_pb2.ErrorInfo(reason="STALE_VERSION", domain=_DOMAIN)
            )
        case errors.AlreadyExists():
            return _status(
                code_pb2.ALREADY_EXISTS, message, error_details_pb2.ErrorInfo(reason="CONFLICT", domain=_DOMAIN)
            )
        case errors.PermissionDenied():
            return _status(
                code_pb2.PERMISSION_DENIED, message, error_details_pb2.ErrorInfo(reason="ROLE_MISSING", domain=_DOMAIN)
            )
        case errors.Unauthenticated():
            return _status(
                code_pb2.UNAUTHENTICATED, message, error_details_pb2.ErrorInfo(reason="BAD_TOKEN", domain=_DOMAIN)
            )
    return _status(code_pb2.INTERNAL, message)


def internal_error(correlation_id: str) -> grpc.Status:
    return _status(
        code_pb2.INTERNAL,
        f"internal error; the server logged it with correlation id {correlation_id}",
        error_details_pb2.RequestInfo(request_id=correlation_id),
    )


def describe(error: grpc.RpcError) -> str:
    """A human sentence for a failed call, with every field violation."""
    call = cast(grpc.Call, error)  # the error raised by a failed call is also that call
    lines = [f"{call.code().name}: {call.details()}"]
    status = rpc_status.from_call(call)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            request = error_details_pb2.BadRequest()
            detail.Unpack(request)
            lines += [f"  {v.field}: {v.description}" for v in request.field_violations]
    return "\n".join(lines)
