"""Routing's servicer, called directly (no server): ListTasks a page at a time with opaque tokens."""

from __future__ import annotations

import pytest

from services.routing import service
from services.routing.api import RoutingApi
from switchboard import paging
from switchboard.composition import Runtime
from switchboard.db.engine import Database
from switchboard.db.uow import UnitOfWork
from switchboard.errors import InvalidArgument
from switchboard.routing.v1 import routing_pb2
from switchboard.settings import Settings
from tests.unit.builders import ROUTING_MIGRATIONS, OpenDb, as_event, ticket_created

LEAK_TICKET = "0195a0c4-7d1e-7f00-8000-000000000001"
DRYER_TICKET = "0195a0c4-7d1e-7f00-8000-000000000002"


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    return open_db("routing", ROUTING_MIGRATIONS)


@pytest.fixture
def api(db: Database, settings: Settings) -> RoutingApi:
    return RoutingApi(Runtime(settings=settings, db=db))


def _queue(db: Database, *ticket_ids: str) -> None:
    for ticket_id in ticket_ids:
        with UnitOfWork(db) as uow:
            service.queue_ticket(uow, as_event(ticket_created(ticket_id=ticket_id)))
            uow.commit()


def _list(api: RoutingApi, **request: object) -> routing_pb2.ListTasksResponse:
    return api.ListTasks(routing_pb2.ListTasksRequest(**request), None)  # type: ignore[arg-type]


def test_list_tasks_answers_queued_tasks_as_messages(api: RoutingApi, db: Database) -> None:
    _queue(db, LEAK_TICKET)

    (task,) = _list(api).tasks

    assert (task.ticket_id, task.customer_id, task.status) == (LEAK_TICKET, "C-1001", routing_pb2.TASK_STATUS_QUEUED)
    assert list(task.required_skills) == ["washing-machines", "plumbing"]
    assert task.created_at.seconds > 0


def test_a_list_that_fits_one_page_has_no_next_page_token(api: RoutingApi, db: Database) -> None:
    _queue(db, LEAK_TICKET, DRYER_TICKET)

    response = _list(api, page_size=2)

    assert len(response.tasks) == 2
    assert response.next_page_token == ""


def test_the_next_page_token_continues_where_the_page_ended(api: RoutingApi, db: Database) -> None:
    _queue(db, LEAK_TICKET, DRYER_TICKET, LEAK_TICKET)
    first = _list(api, page_size=2)

    second = _list(api, page_size=2, page_token=first.next_page_token)

    assert [t.ticket_id for t in first.tasks] == [LEAK_TICKET, DRYER_TICKET]
    assert [t.ticket_id for t in second.tasks] == [LEAK_TICKET]
    assert second.next_page_token == ""


def test_list_tasks_of_one_ticket_pages_through_that_tickets_tasks_only(api: RoutingApi, db: Database) -> None:
    _queue(db, LEAK_TICKET, DRYER_TICKET, LEAK_TICKET, DRYER_TICKET, LEAK_TICKET)
    first = _list(api, page_size=2, ticket_id=LEAK_TICKET)

    second = _list(api, page_size=2, ticket_id=LEAK_TICKET, page_token=first.next_page_token)

    assert [t.ticket_id for t in [*first.tasks, *second.tasks]] == [LEAK_TICKET] * 3
    assert second.next_page_token == ""


def test_a_token_that_list_tasks_did_not_return_is_invalid_argument(api: RoutingApi) -> None:
    with pytest.raises(InvalidArgument) as refused:
        _list(api, page_token="not-a-token")

    assert [v.field for v in refused.value.violations] == ["page_token"]


def test_a_forged_token_with_a_non_numeric_position_is_invalid_argument(api: RoutingApi) -> None:
    forged = paging.encode({"after": "1 OR 1=1"})

    with pytest.raises(InvalidArgument) as refused:
        _list(api, page_token=forged)

    assert [v.field for v in refused.value.violations] == ["page_token"]
