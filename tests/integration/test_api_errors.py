"""Bad input and bad callers get a clear status, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import func, select

from switchboard.common.v1 import common_pb2
from switchboard.db.tables import idempotency, outbox
from switchboard.routing.v1 import routing_pb2
from switchboard.runner import Suite
from switchboard.settings import Settings
from switchboard.ticketing.v1 import ticketing_pb2
from tests import support


@pytest.fixture
def suite(settings_factory: Callable[..., Settings], start_suite: Callable[..., Suite]) -> Suite:
    return start_suite(settings_factory(), services=["ticketing", "routing"])


def rows(suite: Suite, service: str, table: object) -> int:
    with suite.runtimes[service].db.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "the error carries no rich status"
    found = {}
    for detail in status.details:
        request = error_details_pb2.BadRequest()
        if detail.Unpack(request):
            found.update({v.field: v.description for v in request.field_violations})
    return found


def test_invalid_fields_are_named_and_nothing_is_written(suite: Suite, api_factory: Callable[..., support.Api]) -> None:
    api = api_factory(suite.settings, "agent")
    request = ticketing_pb2.CreateTicketRequest(
        idempotency_key="short",
        customer_id="C-1001",
        channel=common_pb2.CHANNEL_UNSPECIFIED,
        subject="x" * 201,
        required_skills=["washers", "Not A Skill"],
        language="English",
    )

    with pytest.raises(grpc.RpcError) as raised:
        api.ticketing.CreateTicket(request, metadata=api.metadata, timeout=5)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(raised.value)
    assert set(violations) == {"idempotency_key", "channel", "subject", "required_skills[1]", "language"}
    assert "200" in violations["subject"]
    assert "required_skills[1]" in raised.value.details()
    assert rows(suite, "ticketing", outbox) == 0
    assert rows(suite, "ticketing", idempotency) == 0


def test_an_unknown_ticket_is_not_found(suite: Suite, api_factory: Callable[..., support.Api]) -> None:
    api = api_factory(suite.settings, "agent")

    with pytest.raises(grpc.RpcError) as raised:
        api.ticketing.GetTicket(ticketing_pb2.GetTicketRequest(number="T-999999"), metadata=api.metadata, timeout=5)

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert "T-999999" in raised.value.details()


def test_a_reused_idempotency_key_with_another_request_is_refused(
    suite: Suite, api_factory: Callable[..., support.Api]
) -> None:
    api = api_factory(suite.settings, "agent")
    api.ticketing.CreateTicket(support.create_ticket_request("reused-key-1"), metadata=api.metadata, timeout=5)
    different = support.create_ticket_request("reused-key-1")
    different.subject = "Dryer does not heat"

    with pytest.raises(grpc.RpcError) as raised:
        api.ticketing.CreateTicket(different, metadata=api.metadata, timeout=5)

    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert rows(suite, "ticketing", outbox) == 1


@pytest.mark.parametrize(
    ("metadata", "expected_words"),
    [
        ((), "no bearer token"),
        ((("authorization", "Bearer not-a-token"),), "not valid"),
        ((("authorization", "Basic YWxpY2U6c2VjcmV0"),), "Bearer"),
    ],
)
def test_a_call_without_a_valid_token_is_unauthenticated(
    suite: Suite, metadata: tuple[tuple[str, str], ...], expected_words: str
) -> None:
    api = support.Api(suite.settings.host, suite.settings.base_port, token="")
    try:
        with pytest.raises(grpc.RpcError) as raised:
            api.ticketing.CreateTicket(support.create_ticket_request(), metadata=metadata, timeout=5)
    finally:
        api.close()

    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert expected_words in raised.value.details()
    assert rows(suite, "ticketing", outbox) == 0


def test_a_token_signed_with_another_key_is_unauthenticated(
    suite: Suite, settings_factory: Callable[..., Settings]
) -> None:
    from switchboard.rpc import auth

    foreign = auth.issue(settings_factory(auth_secret="someone-elses-secret-0123456789abcdef"), "mallory", ["agent"])
    api = support.Api(suite.settings.host, suite.settings.base_port, token=foreign)
    try:
        with pytest.raises(grpc.RpcError) as raised:
            api.ticketing.CreateTicket(support.create_ticket_request(), metadata=api.metadata, timeout=5)
    finally:
        api.close()

    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_role_that_may_not_call_is_permission_denied(suite: Suite, api_factory: Callable[..., support.Api]) -> None:
    technician = api_factory(suite.settings, "technician")

    with pytest.raises(grpc.RpcError) as create:
        technician.ticketing.CreateTicket(support.create_ticket_request(), metadata=technician.metadata, timeout=5)
    with pytest.raises(grpc.RpcError) as tasks:
        # Technicians read tasks and take offers; opening a task (an inbound call) is the desk's.
        technician.routing.CreateTask(
            routing_pb2.CreateTaskRequest(
                idempotency_key="call-0001-key", customer_id="C-1001", channel=common_pb2.CHANNEL_PHONE
            ),
            metadata=technician.metadata,
            timeout=5,
        )

    assert create.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "technician" in create.value.details() and "agent" in create.value.details()
    assert tasks.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert rows(suite, "ticketing", outbox) == 0


def test_health_and_reflection_need_no_token(suite: Suite) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"{suite.settings.host}:{suite.settings.base_port}") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="switchboard.ticketing.v1.TicketingService"), timeout=5
        )

    assert reply.status == health_pb2.HealthCheckResponse.SERVING
