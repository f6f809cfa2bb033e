"""Each error a use case raises becomes a gRPC status with the rich detail a client can act on."""

from __future__ import annotations

from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from switchboard import errors
from switchboard.errors import FieldViolation
from switchboard.rpc import status

D = TypeVar("D", bound=Message)


def _rich(st: grpc.Status) -> status_pb2.Status:
    (value,) = [v for k, v in st.trailing_metadata if k == "grpc-status-details-bin"]
    return status_pb2.Status.FromString(value)


def _detail(st: grpc.Status, kind: type[D]) -> D:
    (packed,) = _rich(st).details
    assert packed.Is(kind.DESCRIPTOR), f"detail is {packed.TypeName()}, not {kind.DESCRIPTOR.full_name}"
    detail = kind()
    packed.Unpack(detail)
    return detail


class _FailedCall(grpc.RpcError, grpc.Call):
    """What a client stub raises for a failed call, carrying a status the server sent."""

    def __init__(self, st: grpc.Status) -> None:
        self._status = st

    def code(self) -> grpc.StatusCode:
        return self._status.code

    def details(self) -> str:
        return self._status.details

    def trailing_metadata(self) -> Any:
        return self._status.trailing_metadata

    def initial_metadata(self) -> Any:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float:
        return 0.0

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Any) -> bool:
        return False


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (
            errors.InvalidArgument([FieldViolation("subject", "must be at least 1 characters")]),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (errors.NotFound("ticket", "T-000999"), grpc.StatusCode.NOT_FOUND),
        (errors.FailedPrecondition("ticket T-000001 is closed"), grpc.StatusCode.FAILED_PRECONDITION),
        (errors.Aborted("ticket T-000001 changed since version 3"), grpc.StatusCode.ABORTED),
        (errors.AlreadyExists("idempotency key 'key-1' was already used"), grpc.StatusCode.ALREADY_EXISTS),
        (errors.PermissionDenied("CreateTicket needs one of agent, supervisor"), grpc.StatusCode.PERMISSION_DENIED),
        (errors.Unauthenticated("the token has expired: get a new one"), grpc.StatusCode.UNAUTHENTICATED),
        (errors.SwitchboardError("something new"), grpc.StatusCode.INTERNAL),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else value.name,
)
def test_each_error_maps_to_its_status_code_with_its_message(
    error: errors.SwitchboardError, code: grpc.StatusCode
) -> None:
    st = status.to_status(error)

    assert st.code == code
    assert st.details == str(error)
    assert _rich(st).code == code.value[0]
    assert _rich(st).message == str(error)


def test_invalid_argument_carries_bad_request_with_every_field_violation() -> None:
    error = errors.InvalidArgument(
        [
            FieldViolation("subject", "must be at least 1 characters (string.min_len)"),
            FieldViolation("required_skills[1]", "does not match regex pattern (string.pattern)"),
        ]
    )

    request = _detail(status.to_status(error), error_details_pb2.BadRequest)

    assert [(v.field, v.description) for v in request.field_violations] == [
        ("subject", "must be at least 1 characters (string.min_len)"),
        ("required_skills[1]", "does not match regex pattern (string.pattern)"),
    ]


def test_not_found_carries_resource_info_naming_the_kind_and_key() -> None:
    info = _detail(status.to_status(errors.NotFound("ticket", "T-000999")), error_details_pb2.ResourceInfo)

    assert (info.resource_type, info.resource_name) == ("ticket", "T-000999")


def test_failed_precondition_carries_a_state_precondition_failure() -> None:
    failure = _detail(
        status.to_status(errors.FailedPrecondition("ticket T-000001 is closed")), error_details_pb2.PreconditionFailure
    )

    assert [(v.type, v.description) for v in failure.violations] == [("STATE", "ticket T-000001 is closed")]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (errors.Aborted("ticket T-000001 changed since version 3"), "STALE_VERSION"),
        (errors.AlreadyExists("idempotency key 'key-1' was already used"), "CONFLICT"),
        (errors.PermissionDenied("CreateTicket needs one of agent, supervisor"), "ROLE_MISSING"),
        (errors.Unauthenticated("the token has expired: get a new one"), "BAD_TOKEN"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else value,
)
def test_other_refusals_carry_error_info_with_a_reason(error: errors.SwitchboardError, reason: str) -> None:
    info = _detail(status.to_status(error), error_details_pb2.ErrorInfo)

    assert (info.reason, info.domain) == (reason, "switchboard")


def test_an_unmapped_error_is_internal_without_details() -> None:
    assert list(_rich(status.to_status(errors.SwitchboardError("something new"))).details) == []


def test_an_internal_error_names_the_correlation_id_and_carries_it_as_request_info() -> None:
    st = status.internal_error("corr-7f3a")

    assert st.code == grpc.StatusCode.INTERNAL
    assert "corr-7f3a" in st.details
    assert _detail(st, error_details_pb2.RequestInfo).request_id == "corr-7f3a"


def test_describe_says_the_code_and_message_then_every_field_violation() -> None:
    error = errors.InvalidArgument(
        [
            FieldViolation("customer_id", "must be at least 1 characters"),
            FieldViolation("subject", "must be at least 1 characters"),
        ]
    )

    text = status.describe(_FailedCall(status.to_status(error)))

    assert text.splitlines() == [
        f"INVALID_ARGUMENT: {error}",
        "  customer_id: must be at least 1 characters",
        "  subject: must be at least 1 characters",
    ]


def test_describe_of_a_status_without_details_is_one_line() -> None:
    text = status.describe(_FailedCall(status.to_status(errors.NotFound("ticket", "T-000999"))))

    assert text == "NOT_FOUND: ticket 'T-000999' does not exist"
