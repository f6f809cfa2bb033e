"""The first slice: CreateTicket commits a ticket and ticket.created together; routing applies it once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from switchboard.common.v1 import common_pb2
from switchboard.routing.v1 import routing_pb2
from switchboard.settings import Settings
from switchboard.ticketing.v1 import ticketing_pb2
from tests import support


def tasks_of(api: support.Api, ticket_id: str) -> list[routing_pb2.Task]:
    reply = api.routing.ListTasks(routing_pb2.ListTasksRequest(ticket_id=ticket_id), metadata=api.metadata, timeout=5)
    return list(reply.tasks)


def run_slice(api: support.Api) -> None:
    created = api.ticketing.CreateTicket(support.create_ticket_request(), metadata=api.metadata, timeout=5).ticket
    assert created.number == "T-000001"
    assert created.status == ticketing_pb2.TICKET_STATUS_NEW
    assert created.priority == common_pb2.PRIORITY_P2

    tasks = support.wait_for(lambda: tasks_of(api, created.ticket_id), what="routing's task for the ticket")

    assert len(tasks) == 1
    assert tasks[0].customer_id == "C-1001"
    assert list(tasks[0].required_skills) == ["washers", "plumbing"]
    assert tasks[0].status == routing_pb2.TASK_STATUS_QUEUED


def test_slice_on_the_embedded_bus(
    settings_factory: Callable[..., Settings],
    start_suite: Callable[..., object],
    api_factory: Callable[..., support.Api],
) -> None:
    settings = settings_factory()
    start_suite(settings)
    run_slice(api_factory(settings, "agent"))


@pytest.mark.integration
def test_slice_on_rabbitmq_and_postgres(
    pg_url: str,
    amqp_url: str,
    settings_factory: Callable[..., Settings],
    start_suite: Callable[..., object],
    api_factory: Callable[..., support.Api],
) -> None:
    settings = settings_factory(database_url=pg_url, broker_url=amqp_url)
    start_suite(settings)
    run_slice(api_factory(settings, "agent"))


def test_a_retried_create_returns_the_first_ticket_and_emits_once(
    settings_factory: Callable[..., Settings],
    start_suite: Callable[..., object],
    api_factory: Callable[..., support.Api],
) -> None:
    settings = settings_factory()
    start_suite(settings)
    api = api_factory(settings, "agent")

    first = api.ticketing.CreateTicket(
        support.create_ticket_request("same-key-123"), metadata=api.metadata, timeout=5
    ).ticket
    again = api.ticketing.CreateTicket(
        support.create_ticket_request("same-key-123"), metadata=api.metadata, timeout=5
    ).ticket

    assert again == first
    support.wait_for(lambda: tasks_of(api, first.ticket_id), what="the task")
    listed = api.routing.ListTasks(routing_pb2.ListTasksRequest(), metadata=api.metadata, timeout=5).tasks
    assert [t.ticket_id for t in listed] == [first.ticket_id]
