"""The report queries on PostgreSQL: the same answers as on SQLite for the same desk, answers that
agree with figures worked out in Python from the seeded data, percentiles that agree with
PostgreSQL's own percentile_cont, and one rating per ticket under a concurrent second insert."""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import text

from services.ticketing.domain import reports
from services.ticketing.domain.reports import Grain, Period
from services.ticketing.domain.satisfaction import Rating
from services.ticketing.domain.sla import Clock, ClockKind, ClockState
from services.ticketing.domain.tickets import Status, open_ticket
from services.ticketing.service import reports as service
from services.ticketing.store.ratings import RatingStore
from services.ticketing.store.sla import SlaStore, sla_clocks
from services.ticketing.store.tickets import TicketStore
from switchboard.db import migrate
from switchboard.db.engine import Database, open_database
from switchboard.db.uow import UnitOfWork
from switchboard.settings import Settings
from tests import support
from tests.conftest import make_settings
from tests.unit.builders import TICKETING_MIGRATIONS, new_ticket

T = TypeVar("T")
START = datetime(2025, 10, 20, 4, tzinfo=UTC)  # Monday 20 October 2025, midnight in New York (EDT)
# Four weeks over the end of daylight-saving time in New York (2 November).
MONTH = reports.period(START, START + timedelta(days=28, hours=1), "America/New_York")
CATEGORIES = ["leak", "noise", "billing", "door", ""]
CHANNELS = ["phone", "email", "chat", "web", "field", "system_event"]
TEAMS = ["appliances", "heating", "billing"]
AGENTS = ["alice", "bob", "carl", "dora", "erin", ""]


@dataclass(frozen=True)
class Seeded:
    """One ticket of the desk as the test wrote it, to work the expected figures out in Python."""

    created: datetime
    resolved: datetime | None
    status: Status
    category: str
    channel: str
    team: str
    assignee: str
    public_replies: int
    reopen_count: int


def _desk(seed: int) -> tuple[list[Seeded], list[Rating], list[Clock]]:
    rng = random.Random(seed)
    tickets, ratings, clocks = [], [], []
    for _ in range(500):
        # Some before and after the range, fractions of a second to the microsecond.
        created = START + timedelta(seconds=rng.uniform(-3 * 86400, 30 * 86400))
        outcome = rng.random()
        resolved = created + timedelta(seconds=rng.choice([rng.uniform(60, 7200), rng.uniform(3600, 9 * 86400)]))
        status = Status.RESOLVED if outcome < 0.6 else Status.CLOSED if outcome < 0.8 else Status.IN_PROGRESS
        tickets.append(
            Seeded(
                created=created,
                resolved=resolved if status is not Status.IN_PROGRESS else None,
                status=status,
                category=rng.choice(CATEGORIES),
                channel=rng.choice(CHANNELS),
                team=rng.choice(TEAMS),
                assignee=rng.choice(AGENTS),
                public_replies=rng.choice([0, 1, 1, 2, 3]),
                reopen_count=rng.choice([0, 0, 0, 1]),
            )
        )
    for index in range(300):
        ratings.append(
            Rating(
                ticket_id=f"0195a0c4-0000-7000-8000-{index:012d}",
                customer_id="C-1001",
                score=rng.randint(1, 5),
                comment="",
                team=rng.choice(TEAMS),
                agent=rng.choice(AGENTS),
                recorded_by="survey-portal",
                rated_at=START + timedelta(seconds=rng.uniform(-86400, 29 * 86400)),
            )
        )
    for index in range(300):
        decided = START + timedelta(seconds=rng.uniform(-86400, 29 * 86400))
        state = rng.choice(list(ClockState))
        clocks.append(
            Clock(
                clock_id=f"0195a0c4-0000-7000-9000-{index:012d}",
                ticket_id=f"0195a0c4-0000-7000-a000-{index:012d}",
                kind=rng.choice(list(ClockKind)),
                policy_id=rng.choice(["gold-p1", "gold-p2", "standard-p3"]),
                calendar_id="new-york-office",
                calendar_revision=1,
                state=state,
                target_seconds=4 * 3600,
                used_seconds=3600,
                started_at=decided - timedelta(hours=2),
                stopped_at=decided if state is ClockState.MET else None,
                breached_at=decided if state is ClockState.BREACHED else None,
                team=rng.choice(TEAMS),
            )
        )
    return tickets, ratings, clocks


def _open(settings: Settings) -> Database:
    db = open_database(settings, "ticketing")
    migrate.upgrade(db, TICKETING_MIGRATIONS)
    # The clocks' table is the SLA engine's; from its own definition while its migration is not here yet.
    sla_clocks.create(db.engine, checkfirst=True)
    return db


def _fill(db: Database, tickets: list[Seeded], ratings: list[Rating], clocks: list[Clock]) -> None:
    with UnitOfWork(db) as uow:
        store = TicketStore(uow.session)
        for index, seeded in enumerate(tickets):
            opened = open_ticket(
                new_ticket(channel=seeded.channel, category=seeded.category, team=seeded.team),
                ticket_id=f"0195a0c4-0000-7000-b000-{index:012d}",
                now=seeded.created,
            )
            store.add(
                replace(
                    opened,
                    status=seeded.status,
                    assignee=seeded.assignee,
                    resolved_at=seeded.resolved,
                    public_replies=seeded.public_replies,
                    reopen_count=seeded.reopen_count,
                )
            )
        for rating in ratings:
            assert RatingStore(uow.session).add(rating)
        SlaStore(uow.session).save_clocks([], clocks)
        uow.commit()


@pytest.fixture(scope="module")
def databases(postgres: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Database]]:
    """One desk, seeded alike into PostgreSQL and SQLite, shared by the tests that only read it."""
    tickets, ratings, clocks = _desk(seed=20251020)
    with support.postgres_database() as pg_url:
        data_dir = tmp_path_factory.mktemp("reports") / "var"
        opened = {
            "postgresql": _open(make_settings(data_dir, database_url=pg_url)),
            "sqlite": _open(make_settings(data_dir)),
        }
        for db in opened.values():
            _fill(db, tickets, ratings, clocks)
        yield opened
        for db in opened.values():
            db.dispose()


def read(db: Database, report: Callable[[UnitOfWork], T]) -> T:
    with UnitOfWork(db) as uow:
        return report(uow)


def both(databases: dict[str, Database], report: Callable[[UnitOfWork], T]) -> T:
    """The report from PostgreSQL, after checking that SQLite gives exactly the same."""
    on_postgres = read(databases["postgresql"], report)
    assert read(databases["sqlite"], report) == on_postgres
    return on_postgres


def _resolved_in_range(tickets: list[Seeded], within: Period) -> list[Seeded]:
    return [t for t in tickets if t.resolved is not None and within.start <= t.resolved < within.end]


def _seconds(ticket: Seeded) -> float:
    assert ticket.resolved is not None
    return float(int(ticket.resolved.timestamp()) - int(ticket.created.timestamp()))


def test_the_databases_really_differ(databases: dict[str, Database]) -> None:
    assert {name: db.engine.dialect.name for name, db in databases.items()} == {
        "postgresql": "postgresql",
        "sqlite": "sqlite",
    }


def _local_label(moment: datetime, grain: Grain) -> str:
    """The calendar period a wall clock in New York showed at that moment."""
    local = moment.astimezone(MONTH.zone)
    if grain is Grain.DAY:
        return local.date().isoformat()
    if grain is Grain.WEEK:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{local.year}-{local.month:02d}"


@pytest.mark.parametrize("grain", list(Grain))
def test_volume_is_the_same_on_both_and_matches_local_calendar_counting(
    databases: dict[str, Database], grain: Grain
) -> None:
    tickets, _, _ = _desk(seed=20251020)

    found = both(databases, lambda uow: service.volume(uow, MONTH, grain))

    expected: Counter[tuple[str, str, str]] = Counter()
    for t in tickets:
        if MONTH.start <= t.created < MONTH.end:
            expected[(_local_label(t.created, grain), t.category, t.channel)] += 1
    assert {(b.bucket.label, c.category, c.channel): c.count for b in found for c in b.cells} == dict(expected)
    assert sum(b.total for b in found) == sum(expected.values()) > 300


def test_handling_time_is_the_same_on_both_and_matches_the_seeded_durations(databases: dict[str, Database]) -> None:
    tickets, _, _ = _desk(seed=20251020)

    found = both(databases, lambda uow: service.handling_time(uow, MONTH))

    per_category: dict[str, list[float]] = defaultdict(list)
    for t in _resolved_in_range(tickets, MONTH):
        per_category[t.category].append(_seconds(t))
    assert {row.category: row.durations for row in found.categories} == {
        category: reports.summarize(values) for category, values in per_category.items()
    }
    assert found.overall == reports.summarize([s for values in per_category.values() for s in values])


def test_handling_time_percentiles_agree_with_postgresql_percentile_cont(databases: dict[str, Database]) -> None:
    found = read(databases["postgresql"], lambda uow: service.handling_time(uow, MONTH))
    seconds = "floor(extract(epoch from resolved_at)) - floor(extract(epoch from created_at))"

    with databases["postgresql"].engine.connect() as connection:
        reference = {
            row.category: (float(row.median), float(row.p90))
            for row in connection.execute(
                text(
                    f"SELECT category, percentile_cont(0.5) WITHIN GROUP (ORDER BY {seconds}) AS median, "
                    f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {seconds}) AS p90 FROM tickets "
                    "WHERE resolved_at >= :start AND resolved_at < :end AND status IN ('resolved', 'closed') "
                    "GROUP BY category"
                ),
                {"start": MONTH.start, "end": MONTH.end},
            )
        }

    assert len(reference) == len(CATEGORIES)
    for row in found.categories:
        assert (row.durations.median, row.durations.p90) == pytest.approx(reference[row.category], abs=1e-6)


def test_first_contact_resolution_is_the_same_on_both_and_follows_the_definition(
    databases: dict[str, Database],
) -> None:
    tickets, _, _ = _desk(seed=20251020)

    found = both(databases, lambda uow: service.first_contact_resolution(uow, MONTH))

    resolved = _resolved_in_range(tickets, MONTH)
    first = [t for t in resolved if reports.first_contact(t.public_replies, t.reopen_count)]
    assert found.overall == reports.FirstContact(len(resolved), len(first))
    assert {team for team, _ in found.by_team} == set(TEAMS)


def test_sla_compliance_is_the_same_on_both_and_counts_decided_clocks(databases: dict[str, Database]) -> None:
    _, _, clocks = _desk(seed=20251020)

    found = both(databases, lambda uow: service.sla_compliance(uow, MONTH))

    def decided_in_range(clock: Clock, state: ClockState) -> bool:
        moment = clock.stopped_at if state is ClockState.MET else clock.breached_at
        return clock.state is state and moment is not None and MONTH.start <= moment < MONTH.end

    assert found.overall == reports.Compliance(
        met=sum(decided_in_range(c, ClockState.MET) for c in clocks),
        breached=sum(decided_in_range(c, ClockState.BREACHED) for c in clocks),
    )
    assert found.overall.decided > 50


def test_satisfaction_is_the_same_on_both_and_matches_the_seeded_ratings(databases: dict[str, Database]) -> None:
    _, ratings, _ = _desk(seed=20251020)

    found = both(databases, lambda uow: service.satisfaction(uow, MONTH, agent_limit=3))

    rated = [r for r in ratings if MONTH.start <= r.rated_at < MONTH.end]
    assert found.overall == reports.Satisfaction(len(rated), sum(r.score for r in rated), sum(r.good for r in rated))
    assert [agent for agent, _ in found.by_agent] == [
        agent for agent, _ in sorted(Counter(r.agent for r in rated if r.agent).items(), key=lambda kv: (-kv[1], kv[0]))
    ][:3]
    assert found.agents_truncated


def test_the_points_table_is_the_same_on_both_and_matches_the_seeded_work(databases: dict[str, Database]) -> None:
    tickets, ratings, _ = _desk(seed=20251020)

    found = both(databases, lambda uow: service.points_table(uow, MONTH, limit=500))

    resolved = Counter(t.assignee for t in _resolved_in_range(tickets, MONTH) if t.assignee)
    good = Counter(r.agent for r in ratings if MONTH.start <= r.rated_at < MONTH.end and r.good and r.agent)
    expected = reports.standings(reports.AgentTally(a, resolved[a], good[a]) for a in set(resolved) | set(good))
    assert found == expected


def test_a_second_rating_racing_the_first_on_postgresql_is_refused_by_the_key(
    pg_url: str, settings_factory: Callable[..., Settings]
) -> None:
    db = _open(settings_factory(database_url=pg_url))
    rating = Rating(
        ticket_id="0195a0c4-0000-7000-c000-000000000001",
        customer_id="C-1001",
        score=5,
        comment="",
        team="appliances",
        agent="alice",
        recorded_by="survey-portal",
        rated_at=START,
    )
    outcome: dict[str, Any] = {}

    with UnitOfWork(db) as first:
        assert RatingStore(first.session).add(rating)

        def second_call() -> None:
            with UnitOfWork(db) as second:
                # Waits on the first transaction's uncommitted key, then sees the conflict.
                outcome["inserted"] = RatingStore(second.session).add(replace(rating, score=1))
                second.commit()

        racer = threading.Thread(target=second_call)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive(), "the second insert should wait for the first transaction"
        first.commit()
    racer.join(timeout=10)

    assert outcome == {"inserted": False}
    stored = read(db, lambda uow: RatingStore(uow.session).get(rating.ticket_id))
    db.dispose()
    assert stored is not None and stored.score == 5
