"""The matcher on a real SQLite database: tasks reach workers through offers, the database keeps the
invariants, and one matcher at a time owns the engine."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from services.routing.domain.offers import OfferStatus
from services.routing.domain.queues import Queue, Step, Strategy
from services.routing.domain.tasks import Requirement, Task, TaskStatus
from services.routing.domain.workers import Presence, Worker
from services.routing.service import offers, queues, tasks, workers
from services.routing.service.matcher import Matcher
from services.routing.store.schema import tasks as tasks_table
from services.routing.store.schema import worker_channels
from switchboard import errors
from switchboard.composition import Runtime
from switchboard.db.tables import outbox
from switchboard.db.types import utcnow
from switchboard.events.v1.ticketing_events_pb2 import TicketSlaBreached
from switchboard.ids import new_id
from switchboard.settings import Settings
from tests.unit.builders import ROUTING_MIGRATIONS, OpenDb, as_event, rows

TICKET = "0195a0c4-7d1e-7f00-8000-000000000001"


class Clock:
    """Real time, moved on by hand: offers expire and wrap-ups end without sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def runtime(open_db: OpenDb, settings: Settings) -> Runtime:
    return Runtime(settings=settings, db=open_db("routing", ROUTING_MIGRATIONS))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def matcher(runtime: Runtime, clock: Clock) -> Matcher:
    return Matcher(runtime, owner="matcher-a", clock=clock)


def _worker(runtime: Runtime, worker_id: str, *, skills: dict[str, int] | None = None, web: int = 1) -> None:
    with runtime.uow() as uow:
        workers.put_worker(
            uow,
            Worker(
                worker_id=worker_id,
                name=worker_id.title(),
                skills=skills or {"washing-machines": 4},
                languages=frozenset({"de"}),
                capacity={"web": web, "phone": 1},
            ),
            expected_version=0,
            actor="supervisor",
        )
        workers.set_presence(uow, worker_id, Presence.AVAILABLE, until=None, reason="", actor=worker_id)
        uow.commit()


def _task(runtime: Runtime, *, customer: str = "C-1001", priority: int = 3) -> str:
    task_id = new_id()
    with runtime.uow() as uow:
        tasks.create_task(
            uow,
            Task(
                task_id=task_id,
                customer_id=customer,
                created_at=utcnow(),
                channel="web",
                priority=priority,
                requirements=(Requirement("washing-machines", 3),),
                language="de",
            ),
        )
        uow.commit()
    return task_id


def _pending(runtime: Runtime, worker_id: str) -> list[offers.OfferView]:
    with runtime.reader() as uow:
        return offers.offers_for(uow, worker_id)


def _events(runtime: Runtime, event_type: str) -> list[str]:
    return [row.routing_key for row in rows(runtime.db, outbox, outbox.c.routing_key == event_type)]


def _used(runtime: Runtime, worker_id: str) -> int:
    with runtime.db.engine.connect() as connection:
        return connection.execute(
            select(worker_channels.c.used).where(
                worker_channels.c.worker_id == worker_id, worker_channels.c.channel == "web"
            )
        ).scalar_one()


def test_a_new_task_is_offered_to_the_qualified_available_worker_with_its_reason(
    runtime: Runtime, matcher: Matcher
) -> None:
    _worker(runtime, "anna")
    task_id = _task(runtime)

    matcher.step()  # takes the lease and builds the engine
    matcher.step()

    (view,) = _pending(runtime, "anna")
    assert view.task.task_id == task_id
    assert view.task.status is TaskStatus.OFFERED
    with runtime.reader() as uow:
        detail = tasks.get_task(uow, task_id)
    (decision,) = detail.decisions
    assert decision.offered_to == ("anna",)
    assert decision.reason.qualified == 1
    assert _events(runtime, "offer.created") == ["offer.created"]
    assert _used(runtime, "anna") == 1


def test_accepting_assigns_the_task_once_and_a_second_acceptance_is_refused(runtime: Runtime, matcher: Matcher) -> None:
    _worker(runtime, "anna")
    task_id = _task(runtime)
    matcher.step()
    (view,) = _pending(runtime, "anna")

    with runtime.uow() as uow:
        accepted, task = offers.accept_offer(uow, view.offer.offer_id, worker_id="anna", supervisor=False)
        uow.commit()
    with runtime.uow() as uow, pytest.raises(errors.FailedPrecondition, match="accepted"):
        offers.accept_offer(uow, view.offer.offer_id, worker_id="anna", supervisor=False)
    matcher.step()

    assert (task.status, task.assignee) == (TaskStatus.ASSIGNED, "anna")
    assert accepted.status is OfferStatus.ACCEPTED
    assert _events(runtime, "offer.accepted") == ["offer.accepted"]
    assert _events(runtime, "task.assigned") == ["task.assigned"]
    assert _used(runtime, "anna") == 1
    with runtime.reader() as uow:
        assert tasks.get_task(uow, task_id).task.status is TaskStatus.ASSIGNED


def test_capacity_holds_the_second_task_back_and_it_says_why(runtime: Runtime, matcher: Matcher) -> None:
    _worker(runtime, "anna", web=1)
    first = _task(runtime)
    second = _task(runtime)

    matcher.step()
    matcher.step()

    assert [v.task.task_id for v in _pending(runtime, "anna")] == [first]
    with runtime.reader() as uow:
        waiting = tasks.get_task(uow, second)
    assert waiting.task.status is TaskStatus.QUEUED
    assert waiting.waiting is not None
    assert waiting.waiting.explanation
    assert _used(runtime, "anna") == 1


def test_completing_gives_the_slot_back_after_wrap_up_and_the_next_task_follows(
    runtime: Runtime, matcher: Matcher, clock: Clock
) -> None:
    _worker(runtime, "anna", web=1)
    first = _task(runtime)
    second = _task(runtime)
    matcher.step()
    (view,) = _pending(runtime, "anna")
    with runtime.uow() as uow:
        offers.accept_offer(uow, view.offer.offer_id, worker_id="anna", supervisor=False)
        uow.commit()
    matcher.step()

    with runtime.uow() as uow:
        tasks.complete_task(uow, first, actor="anna", supervisor=False)
        uow.commit()
    matcher.step()
    with runtime.reader() as uow:
        assert workers.get_worker(uow, "anna").worker.presence is Presence.WRAP_UP
    assert _pending(runtime, "anna") == []

    clock.advance(31)  # the default queue's wrap-up is 30 s
    matcher.step()

    assert [v.task.task_id for v in _pending(runtime, "anna")] == [second]
    assert "worker.state_changed" in _events(runtime, "worker.state_changed")


def test_an_offer_that_runs_out_goes_to_someone_else_and_pauses_the_worker(
    runtime: Runtime, matcher: Matcher, clock: Clock
) -> None:
    _worker(runtime, "anna")
    task_id = _task(runtime)
    matcher.step()
    (first,) = _pending(runtime, "anna")
    _worker(runtime, "bert")
    matcher.step()

    clock.advance(31)  # offers last 30 s by default
    matcher.step()

    (second,) = _pending(runtime, "bert")
    assert second.task.task_id == task_id
    assert _pending(runtime, "anna") == []
    with runtime.reader() as uow:
        anna = workers.get_worker(uow, "anna")
    assert anna.worker.paused_until is not None
    assert _events(runtime, "offer.expired") == ["offer.expired"]
    assert _used(runtime, "anna") == 0
    with runtime.uow() as uow, pytest.raises(errors.FailedPrecondition, match="expired"):
        offers.accept_offer(uow, first.offer.offer_id, worker_id="anna", supervisor=False)


def test_a_rejected_offer_goes_to_someone_else_and_never_back(runtime: Runtime, matcher: Matcher) -> None:
    _worker(runtime, "anna")
    task_id = _task(runtime)
    matcher.step()
    (view,) = _pending(runtime, "anna")

    with runtime.uow() as uow:
        offers.reject_offer(uow, view.offer.offer_id, worker_id="anna", reason="not my area", supervisor=False)
        uow.commit()
    _worker(runtime, "bert")
    matcher.step()

    assert [v.task.task_id for v in _pending(runtime, "bert")] == [task_id]
    assert _pending(runtime, "anna") == []
    assert _used(runtime, "anna") == 0


def test_a_cancelled_task_withdraws_its_offer_and_frees_the_slot(runtime: Runtime, matcher: Matcher) -> None:
    _worker(runtime, "anna")
    task_id = _task(runtime)
    matcher.step()

    with runtime.uow() as uow:
        tasks.cancel_task(uow, task_id, reason="caller hung up", actor="ivr")
        uow.commit()
    matcher.step()

    assert _pending(runtime, "anna") == []
    assert _used(runtime, "anna") == 0


def test_a_worker_who_goes_offline_gets_no_offer(runtime: Runtime, matcher: Matcher) -> None:
    _worker(runtime, "anna")
    with runtime.uow() as uow:
        workers.set_presence(uow, "anna", Presence.OFFLINE, until=None, reason="", actor="anna")
        uow.commit()
    _task(runtime)

    matcher.step()
    matcher.step()

    assert _pending(runtime, "anna") == []


def test_a_queue_policy_change_reaches_the_engine(runtime: Runtime, matcher: Matcher) -> None:
    _worker(runtime, "anna", skills={"washing-machines": 2})
    task_id = _task(runtime)  # needs washing-machines 3
    matcher.step()
    assert _pending(runtime, "anna") == []

    with runtime.uow() as uow:
        queues.put_queue(
            uow,
            Queue(
                queue_id="default",
                name="Everything else",
                order=1_000_000,
                strategy=Strategy.LONGEST_IDLE,
                steps=(Step(after_seconds=0, lower_levels_by=1),),
            ),
            expected_version=0,
            actor="supervisor",
        )
        uow.commit()
    matcher.step()

    assert [v.task.task_id for v in _pending(runtime, "anna")] == [task_id]


def test_only_the_lease_holder_decides_and_a_successor_takes_over_after_it_lapses(
    runtime: Runtime, matcher: Matcher, clock: Clock
) -> None:
    _worker(runtime, "anna")
    standby = Matcher(runtime, owner="matcher-b", clock=clock)
    matcher.step()

    assert standby.step() is False
    assert standby.epoch is None

    clock.advance(11)  # the lease runs 10 s; matcher-a is stuck and does not renew
    standby.step()
    task_id = _task(runtime)
    standby.step()

    assert standby.epoch is not None
    assert [v.task.task_id for v in _pending(runtime, "anna")] == [task_id]
    matcher.step()  # wakes up: finds its lease gone, decides nothing
    assert matcher.epoch is None
    assert len(_pending(runtime, "anna")) == 1


def test_statistics_are_published_for_every_queue(runtime: Runtime, matcher: Matcher) -> None:
    _task(runtime)

    matcher.step()
    matcher.step()

    with runtime.reader() as uow:
        figures, _ = queues.queue_stats(uow)
    (default,) = figures
    assert (default.queue_id, default.waiting) == ("default", 1)


def test_database_and_engine_disagreeing_rebuilds_instead_of_overrunning_capacity(
    runtime: Runtime, matcher: Matcher
) -> None:
    _worker(runtime, "anna", web=1)
    matcher.step()
    with runtime.db.engine.begin() as connection:
        # Another process's offer took the slot a moment ago; the engine has not heard yet.
        connection.execute(worker_channels.update().values(used=1))
    _task(runtime)

    matcher.step()  # the engine offers, the database refuses: rolled back, rebuilt
    matcher.step()

    assert _pending(runtime, "anna") == []
    assert _used(runtime, "anna") == 1


def test_an_sla_breach_moves_the_waiting_task_to_the_escalation_queue_and_its_people(
    runtime: Runtime, matcher: Matcher
) -> None:
    _worker(runtime, "sam", skills={"washing-machines": 1})  # too junior for the default queue's level 3
    with runtime.uow() as uow:
        queues.put_queue(
            uow,
            Queue(
                queue_id="escalations", name="Escalations", filter="False", order=1, steps=(Step(0, lower_levels_by=2),)
            ),
            expected_version=0,
            actor="supervisor",
        )
        uow.commit()
    task_id = _task(runtime, priority=3)
    with runtime.uow() as uow:
        uow.session.execute(tasks_table.update().values(ticket_id=TICKET))
        uow.commit()
    matcher.step()
    assert _pending(runtime, "sam") == []

    with runtime.uow() as uow:
        tasks.escalate(
            uow,
            as_event(
                TicketSlaBreached(ticket_id=TICKET, customer_id="C-1001", priority=2, escalation_queue="escalations")
            ),
        )
        uow.commit()
    matcher.step()

    (view,) = _pending(runtime, "sam")
    assert view.task.task_id == task_id
    assert (view.task.queue_id, view.task.priority, view.task.escalated) == ("escalations", 2, True)
    assert _events(runtime, "task.escalated") == ["task.escalated"]
