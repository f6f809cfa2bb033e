"""Rating a resolved ticket through the use case and the SatisfactionService servicer, on a real SQLite
database: stored once, announced as ticket.rated, and a low score opens a follow-up for the team."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from services.ticketing.api.satisfaction import PERMISSIONS, SatisfactionApi
from services.ticketing.domain.lifecycle import Actor
from services.ticketing.domain.satisfaction import Rating
from services.ticketing.domain.tickets import Status, Ticket
from services.ticketing.service import satisfaction as service
from services.ticketing.service import tickets
from services.ticketing.store import sla
from services.ticketing.store.ratings import ticket_ratings
from services.ticketing.store.schema import metadata
from services.ticketing.store.tickets import tickets as tickets_table
from switchboard import context, envelope, validation
from switchboard.composition import Runtime
from switchboard.context import Caller, WorkContext
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.db.uow import UnitOfWork
from switchboard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from switchboard.events.v1.ticketing_events_pb2 import TicketCreated, TicketRated
from switchboard.settings import Settings
from switchboard.ticketing.v1 import satisfaction_pb2 as pb
from switchboard.ticketing.v1.ticketing_pb2 import Rating as Rating_pb
from switchboard.timestamps import timestamp
from tests.unit.builders import TICKETING_MIGRATIONS, OpenDb, count, new_ticket, rows

T = TypeVar("T")
ALICE = Actor("alice", frozenset({"agent"}))
SAM = Actor("sam", frozenset({"supervisor"}))
PORTAL = Actor("survey-portal", frozenset({"integration"}))


@pytest.fixture
def db(open_db: OpenDb) -> Database:
    database = open_db("ticketing", TICKETING_MIGRATIONS)
    # The SLA engine's tables, from its own definitions, while its migration is not in this branch yet.
    sla_tables = [sla.sla_calendars, sla.sla_calendar_revisions, sla.sla_policies, sla.sla_policy_revisions]
    metadata.create_all(database.engine, tables=[*sla_tables, sla.sla_clocks], checkfirst=True)
    return database


def do(db: Database, act: Callable[[UnitOfWork], T]) -> T:
    with UnitOfWork(db) as uow:
        result = act(uow)
        uow.commit()
    return result


def resolved(db: Database) -> Ticket:
    """T-000001: Alice of the appliances team repaired a leaking washing machine."""
    ticket = do(db, lambda uow: tickets.create_ticket(uow, new_ticket(asset_id="WM-7781", language="de")))
    do(db, lambda uow: tickets.assign(uow, ticket.ticket_id, team="appliances", assignee="alice", actor=SAM))
    do(db, lambda uow: tickets.transition(uow, ticket.ticket_id, to=Status.IN_PROGRESS, actor=ALICE))
    return do(
        db,
        lambda uow: tickets.transition(
            uow, ticket.ticket_id, to=Status.RESOLVED, actor=ALICE, resolution_code="repaired"
        ),
    )


def rate(db: Database, ticket: Ticket, score: int, comment: str = "", actor: Actor = PORTAL, **kw: Any) -> Rating:
    return do(
        db, lambda uow: service.rate_ticket(uow, ticket.ticket_id, score=score, comment=comment, actor=actor, **kw)
    )


def events(db: Database) -> list[tuple[str, Any]]:
    decoded = [envelope.decode(row.body, row.content_type) for row in rows(db, outbox)]
    return [(e.type, e.payload) for e in decoded]


def test_a_good_rating_is_stored_and_announced_without_a_follow_up(db: Database) -> None:
    ticket = resolved(db)
    before = len(events(db))

    rating = rate(db, ticket, 5, "Fixed in one visit, thank you!")

    assert (rating.score, rating.comment, rating.team, rating.agent) == (
        5,
        "Fixed in one visit, thank you!",
        "appliances",
        "alice",
    )
    assert (rating.recorded_by, rating.follow_up_ticket_id) == ("survey-portal", "")
    assert do(db, lambda uow: service.rating_of(uow, ticket.ticket_id)) == rating
    [(kind, rated)] = events(db)[before:]
    assert kind == "ticket.rated"
    assert rated == TicketRated(
        ticket_id=ticket.ticket_id,
        number="T-000001",
        customer_id="C-1001",
        score=5,
        comment="Fixed in one visit, thank you!",
        team="appliances",
        assignee="alice",
        rated_at=timestamp(rating.rated_at),
    )
    assert count(db, tickets_table) == 1


def test_a_low_rating_opens_a_follow_up_for_the_team_linked_to_the_rated_ticket(db: Database) -> None:
    ticket = resolved(db)
    before = len(events(db))

    rating = rate(db, ticket, 1, "Still leaking the day after.")

    follow_up = do(db, lambda uow: tickets.load(uow, rating.follow_up_ticket_id))
    assert (follow_up.team, follow_up.customer_id, follow_up.asset_id) == ("appliances", "C-1001", "WM-7781")
    assert follow_up.subject == "Follow up: T-000001 was rated 1 of 5"
    assert follow_up.description == "Still leaking the day after."
    assert dict(follow_up.custom_fields) == {"follow_up_of": ticket.ticket_id}
    assert (follow_up.category, follow_up.priority, follow_up.parent_id) == ("satisfaction_follow_up", 2, "")
    assert follow_up.watchers == ("alice",)
    assert do(db, lambda uow: service.rating_of(uow, ticket.ticket_id)) == rating
    announced = [(kind, payload) for kind, payload in events(db)[before:] if kind in ("ticket.created", "ticket.rated")]
    assert [kind for kind, _ in announced] == ["ticket.created", "ticket.rated"]
    created, rated = announced[0][1], announced[1][1]
    assert isinstance(created, TicketCreated) and created.ticket_id == follow_up.ticket_id
    assert isinstance(rated, TicketRated) and rated.follow_up_ticket_id == follow_up.ticket_id


def test_the_rated_ticket_can_still_close_while_its_follow_up_is_open(db: Database) -> None:
    ticket = resolved(db)
    rate(db, ticket, 2)

    closed = do(db, lambda uow: tickets.transition(uow, ticket.ticket_id, to=Status.CLOSED, actor=PORTAL))

    assert closed.status is Status.CLOSED


def test_the_follow_up_threshold_can_be_raised(db: Database) -> None:
    ticket = resolved(db)

    rating = rate(db, ticket, 3, follow_up_at_or_below=3)

    assert rating.follow_up_ticket_id
    assert count(db, tickets_table) == 2


def test_a_ticket_is_rated_once(db: Database) -> None:
    ticket = resolved(db)
    first = rate(db, ticket, 4)
    before = events(db)

    with pytest.raises(
        AlreadyExists, match=r"ticket T-000001 was already rated 4 of 5 on .* UTC; a ticket is rated once"
    ):
        rate(db, ticket, 1, actor=SAM)

    assert do(db, lambda uow: service.rating_of(uow, ticket.ticket_id)) == first
    assert events(db) == before
    assert count(db, tickets_table) == 1


def test_a_ticket_reopened_and_resolved_again_keeps_its_first_rating(db: Database) -> None:
    ticket = resolved(db)
    rate(db, ticket, 5)
    do(
        db,
        lambda uow: tickets.transition(
            uow, ticket.ticket_id, to=Status.IN_PROGRESS, actor=PORTAL, reason="leaking again"
        ),
    )
    do(
        db,
        lambda uow: tickets.transition(
            uow, ticket.ticket_id, to=Status.RESOLVED, actor=ALICE, resolution_code="replaced"
        ),
    )

    with pytest.raises(AlreadyExists):
        rate(db, ticket, 2)


def test_a_ticket_that_is_not_resolved_cannot_be_rated_and_nothing_is_recorded(db: Database) -> None:
    ticket = do(db, lambda uow: tickets.create_ticket(uow, new_ticket()))
    before = events(db)

    with pytest.raises(FailedPrecondition, match="T-000001 is new; a ticket can be rated once it is resolved"):
        rate(db, ticket, 1)

    assert (count(db, ticket_ratings), events(db)) == (0, before)


def test_a_rating_of_an_unknown_ticket_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound, match="ticket '0195a0c4-0000-7000-8000-00000000dead' does not exist"):
        do(
            db,
            lambda uow: service.rate_ticket(
                uow, "0195a0c4-0000-7000-8000-00000000dead", score=5, comment="", actor=PORTAL
            ),
        )


def test_the_agent_who_handled_the_ticket_may_not_record_its_rating(db: Database) -> None:
    ticket = resolved(db)

    with pytest.raises(PermissionDenied, match="alice handled T-000001"):
        rate(db, ticket, 5, actor=ALICE)

    assert count(db, ticket_ratings) == 0


def test_a_ticket_has_no_rating_until_it_is_rated(db: Database) -> None:
    ticket = resolved(db)

    assert do(db, lambda uow: service.rating_of(uow, ticket.ticket_id)) is None


# Through the servicer


@pytest.fixture
def api(db: Database, settings: Settings) -> Iterator[SatisfactionApi]:
    portal = Caller(subject="survey-portal", roles=frozenset({"integration"}))
    with context.working(WorkContext(correlation_id="corr-7f3a", causation_id="", caller=portal, deadline=None)):
        yield SatisfactionApi(Runtime(settings=settings, db=db))


def _request(ticket: Ticket, **overrides: Any) -> pb.RateTicketRequest:
    values: dict[str, Any] = {
        "idempotency_key": "survey-0195a0c4-0001",
        "ticket_id": ticket.ticket_id,
        "score": 2,
        "comment": "The technician came late.",
    }
    values.update(overrides)
    return pb.RateTicketRequest(**values)


def test_rate_ticket_answers_with_the_rating(api: SatisfactionApi, db: Database) -> None:
    ticket = resolved(db)

    rating = api.RateTicket(_request(ticket), None).rating  # type: ignore[arg-type]

    stored = do(db, lambda uow: service.rating_of(uow, ticket.ticket_id))
    assert stored is not None and stored.follow_up_ticket_id
    assert rating == Rating_pb(
        score=2,
        comment="The technician came late.",
        rated_at=timestamp(stored.rated_at),
        follow_up_ticket_id=stored.follow_up_ticket_id,
    )


def test_rate_ticket_retried_with_the_same_key_answers_the_first_rating_and_records_it_once(
    api: SatisfactionApi, db: Database
) -> None:
    ticket = resolved(db)
    first = api.RateTicket(_request(ticket), None)  # type: ignore[arg-type]
    published = count(db, outbox)

    retried = api.RateTicket(_request(ticket), None)  # type: ignore[arg-type]

    assert retried == first
    assert (count(db, outbox), count(db, tickets_table)) == (published, 2)


def test_rate_ticket_again_with_another_key_is_already_exists(api: SatisfactionApi, db: Database) -> None:
    ticket = resolved(db)
    api.RateTicket(_request(ticket), None)  # type: ignore[arg-type]

    with pytest.raises(AlreadyExists, match="already rated 2 of 5"):
        api.RateTicket(_request(ticket, idempotency_key="survey-0195a0c4-0002", score=5), None)  # type: ignore[arg-type]


def test_the_survey_system_agents_and_supervisors_may_call_rate_ticket() -> None:
    assert {"RateTicket": frozenset({"integration", "agent", "supervisor"})} == PERMISSIONS


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"score": 0}, "score"),
        ({"score": 6}, "score"),
        ({"comment": "x" * 2001}, "comment"),
        ({"ticket_id": "T-000001"}, "ticket_id"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_a_malformed_rating_request_names_the_field(overrides: dict[str, Any], field: str) -> None:
    values = {
        "idempotency_key": "survey-0195a0c4-0001",
        "ticket_id": "0195a0c4-0000-7000-8000-000000000001",
        "score": 3,
    }
    request = pb.RateTicketRequest(**{**values, **overrides})

    with pytest.raises(InvalidArgument) as error:
        validation.check(request)

    assert [v.field for v in error.value.violations] == [field]
