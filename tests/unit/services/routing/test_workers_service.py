"""Workers as use cases on a real SQLite database."""

from __future__ import annotations

import pytest

from services.routing.domain.workers import Worker
from services.routing.service import workers
from switchboard.composition import Runtime
from switchboard.settings import Settings
from tests.unit.builders import ROUTING_MIGRATIONS, OpenDb


@pytest.fixture
def runtime(open_db: OpenDb, settings: Settings) -> Runtime:
    return Runtime(settings=settings, db=open_db("routing", ROUTING_MIGRATIONS))


def test_a_team_filter_fills_the_page_even_when_other_teams_come_first(runtime: Runtime) -> None:
    with runtime.uow() as uow:
        for number in range(12):
            team = "heating" if number in (3, 9, 10, 11) else "washers"
            worker = Worker(worker_id=f"w{number:02d}", name=f"Worker {number}", teams=frozenset({team}))
            workers.put_worker(uow, worker, expected_version=0, actor="sue")
        uow.commit()

    with runtime.reader() as uow:
        first = workers.list_workers(uow, after="", limit=3, team="heating")
        rest = workers.list_workers(uow, after=first[-1].worker.worker_id, limit=3, team="heating")

    assert [v.worker.worker_id for v in first] == ["w03", "w09", "w10"]
    assert [v.worker.worker_id for v in rest] == ["w11"]
