"""``python -m bench desk``: ticketing at scale, on PostgreSQL with a million tickets already in it.

What the issue asks of the service desk: CreateTicket per second and its latency with 1,000,000
existing tickets, and the latency of the listings agents and supervisors look at all day (a
team's open queue, an agent's own, a deep page, a customer's history, a text search, the queue
counts).

The existing tickets are bulk-loaded with COPY into the migrated table of a throwaway database,
then vacuumed and analyzed, as autovacuum would have done long before a desk had that many.
They look like a desk two years into service: about 80% resolved, closed or cancelled, the open
rest spread unevenly over 12 teams, 300 agents and 200,000 customers, newer work more often open.

``--ddl`` tries a schema change (an index, say) on the same data: the run measures everything,
applies the statements, and measures everything again, so the table shows before and after.
Each listing's plan (EXPLAIN ANALYZE of the exact SQL the store sends) goes to the JSON file, and
to stdout with ``--explain``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import platform
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import psycopg
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]
from sqlalchemy import event

from bench import layouts
from bench.arguments import at_least
from bench.progress import Progress
from services.ticketing.store.tickets import TicketFilter, TicketStore
from switchboard import paging
from switchboard.db.engine import Database, open_database
from switchboard.enums import channel_value
from switchboard.rpc import auth
from switchboard.ticketing.v1 import ticketing_pb2 as pb
from switchboard.ticketing.v1 import ticketing_pb2_grpc

RESULTS = Path(__file__).parent / "results"
SERVICE = "ticketing"  # also its schema: switchboard.db.engine gives each service one of its own


@dataclass(frozen=True)
class Team:
    name: str
    weight: int  # share of the tickets, relative to the other teams
    products: tuple[str, ...]
    categories: tuple[str, ...]
    skills: tuple[str, ...]


TEAMS = (
    Team("washers", 18, ("washing machine", "washer-dryer"), ("leak", "drum", "electronics"), ("washers",)),
    Team("dishwashers", 14, ("dishwasher",), ("leak", "drainage", "electronics"), ("dishwashers",)),
    Team("refrigeration", 13, ("fridge", "freezer", "fridge-freezer"), ("cooling", "ice", "seal"), ("cooling",)),
    Team("cooking", 11, ("oven", "hob", "cooker hood", "microwave"), ("element", "ignition", "door"), ("cooking",)),
    Team("heating", 10, ("boiler", "thermostat", "radiator valve"), ("no-heat", "pressure"), ("gas-safe", "heating")),
    Team("heat-pumps", 8, ("heat pump",), ("no-heat", "refrigerant", "controls"), ("heat-pumps", "f-gas")),
    Team("air-conditioning", 6, ("air conditioner",), ("cooling", "refrigerant", "noise"), ("f-gas", "cooling")),
    Team("water-heaters", 6, ("water heater", "water softener"), ("no-hot-water", "leak", "scale"), ("plumbing",)),
    Team("coffee-machines", 5, ("coffee machine",), ("pump", "grinder", "descaling"), ("small-appliances",)),
    Team("vacuum-cleaners", 4, ("robot vacuum", "vacuum cleaner"), ("battery", "suction"), ("small-appliances",)),
    Team("smart-home", 3, ("smart hub", "smart thermostat"), ("connectivity", "app", "firmware"), ("networking",)),
    Team("billing", 2, ("invoice", "service contract"), ("invoice", "refund", "contract"), ("billing",)),
)
AGENTS_PER_TEAM = 25  # 300 agents
CUSTOMERS = 200_000
ERROR_CODES = 60  # "shows error E01" .. "E60": the words a text search looks for
_PROBLEMS = (
    "leaks water",
    "will not start",
    "makes a grinding noise",
    "shows error",
    "does not heat",
    "trips the breaker",
    "door will not open",
    "smells of burning",
    "loses connection to the app",
    "stops mid-cycle",
)
_REMARKS = (
    "Already tried switching it off and on again.",
    "Still under warranty until next spring.",
    "Customer is at home on weekday mornings only.",
    "Second report of the same fault this year.",
    "Neighbour has the same model with no trouble.",
    "Customer sent a photo of the display.",
    "Happened right after a power cut.",
    "Installed by us eighteen months ago.",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_OPEN = ("new", "triaged", "assigned", "in_progress", "pending_customer", "pending_parts")
_CHANNELS = ("phone", "email", "chat", "web", "field", "system_event")
_LANGUAGES = ("en", "en", "en", "de", "fr", "nl", "es")
_RESOLUTIONS = ("fixed", "replaced_part", "no_fault_found", "advice_given")
# Cumulative weights, computed once: the seed draws from them a few million times.
_TEAM_CUM = tuple(itertools.accumulate(t.weight for t in TEAMS))
_OPEN_CUM = tuple(itertools.accumulate((8, 14, 22, 26, 18, 12)))
_CHANNEL_CUM = tuple(itertools.accumulate((40, 25, 15, 10, 5, 5)))
_PRIORITY_CUM = tuple(itertools.accumulate((5, 20, 50, 25)))  # P1..P4
_SLA_CUM = tuple(itertools.accumulate((75, 15, 10)))  # ok, warning, breached
_SPAN = timedelta(days=730)
_REOPEN_WINDOW = timedelta(days=14)
# The columns the seed writes; the rest (and any a later migration adds) take their defaults.
COLUMNS = (
    "seq",
    "ticket_id",
    "customer_id",
    "asset_id",
    "channel",
    "subject",
    "description",
    "priority",
    "required_skills",
    "language",
    "tags",
    "status",
    "created_by",
    "created_at",
    "version",
    "category",
    "team",
    "assignee",
    "resolution_code",
    "customer_tier",
    "sla_state",
    "updated_at",
    "resolved_at",
    "closed_at",
    "first_response_at",
    "reopen_count",
    "public_replies",
)
_CALL_TIMEOUT = 30.0
_PAGE_SIZE = 50
_DEEP_PAGE = 20
_DEEP_TEAMS = 4  # the deep page of the largest teams' queues: finding its token takes 19 calls a team


def agent(team_index: int, k: int) -> str:
    return f"agent-{team_index * AGENTS_PER_TEAM + k + 1:03d}"


def customer(index: int) -> str:
    return f"C-{index:06d}"


def tier_of(index: int) -> str:
    """Each customer's tier, fixed, so its tickets and the customers table agree."""
    share = index * 7919 % 100
    return "platinum" if share < 3 else "gold" if share < 15 else "silver" if share < 40 else "standard"


# --- the existing tickets -------------------------------------------------------------------------


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _uuid7(ms: int, rng: random.Random) -> str:
    """A UUIDv7 of the ticket's creation time, as switchboard.ids would have made it then."""
    digits = f"{ms:012x}7{rng.getrandbits(12):03x}{0x8000000000000000 | rng.getrandbits(62):016x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def rows(count: int, *, seed: int, now: datetime, first_seq: int = 1) -> Iterator[str]:
    """``count`` tickets as lines of COPY text, oldest first, created over the two years before ``now``.

    ``seq`` runs from ``first_seq`` up, so ticket numbers follow creation as they do in service.
    """
    rng = random.Random(seed)
    pick = rng.choices
    end = now.timestamp()
    step = _SPAN.total_seconds() / max(count, 1)
    start = end - _SPAN.total_seconds()
    window = _REOPEN_WINDOW.total_seconds()
    for n in range(count):
        seq = first_seq + n
        created = start + (n + rng.random()) * step
        t = pick(range(len(TEAMS)), cum_weights=_TEAM_CUM)[0]
        team = TEAMS[t]
        product = rng.choice(team.products)
        problem = rng.choice(_PROBLEMS)
        if problem == "shows error":
            problem = f"shows error E{rng.randrange(1, ERROR_CODES + 1):02d}"
        c = int(CUSTOMERS * rng.random() ** 1.2)  # a few customers call often
        asset = f"SN{c:06d}{rng.randrange(3)}"
        channel = pick(_CHANNELS, cum_weights=_CHANNEL_CUM)[0]
        owner = agent(t, rng.randrange(AGENTS_PER_TEAM))
        resolution = resolved_at = closed_at = ""
        updated = created + rng.uniform(60, 3 * 86400)
        # Open work is recent work: 40% of the newest tickets are open, none of the oldest, 20% overall.
        if rng.random() < 0.4 * (n + 1) / count:
            status = pick(_OPEN, cum_weights=_OPEN_CUM)[0]
            assignee = "" if status in ("new", "triaged") else owner
            sla = (
                "paused"
                if status.startswith("pending")
                else pick(("ok", "warning", "breached"), cum_weights=_SLA_CUM)[0]
            )
            updated = min(updated, end)
        elif rng.random() < 0.03:
            status, assignee, sla = "cancelled", "", "none"
        else:
            assignee, resolution = owner, rng.choice(_RESOLUTIONS)
            sla = "met" if rng.random() < 0.88 else "breached"
            resolved = created + rng.uniform(1800, 10 * 86400)
            resolved_at = _when(resolved)
            if resolved + window < end:
                status, updated = "closed", resolved + window
                closed_at = _when(updated)
            else:
                status, updated = "resolved", resolved
        responded = "\\N" if status in ("new", "triaged", "cancelled") else _when(created + rng.uniform(120, 28800))
        description = (
            f"Customer says the {product} {problem} since {rng.choice(_DAYS)}. "
            f"Model {team.name[:3].upper()}-{rng.randrange(100, 999)}, serial {asset}. {rng.choice(_REMARKS)}"
        )
        yield (
            "\t".join(
                (
                    str(seq),
                    _uuid7(int(created * 1000), rng),
                    customer(c),
                    asset,
                    channel,
                    f"{product.capitalize()} {problem}",
                    description,
                    str(pick((1, 2, 3, 4), cum_weights=_PRIORITY_CUM)[0]),
                    json.dumps(team.skills),
                    rng.choice(_LANGUAGES),
                    '["repeat"]' if rng.random() < 0.05 else '["warranty"]' if rng.random() < 0.2 else "[]",
                    status,
                    owner if channel in ("phone", "email", "chat", "field") else f"integration:{channel}",
                    _when(created),
                    str(1 if status == "new" else rng.randrange(2, 9)),
                    rng.choice(team.categories),
                    team.name,
                    assignee,
                    resolution,
                    tier_of(c),
                    sla,
                    _when(updated),
                    resolved_at or "\\N",
                    closed_at or "\\N",
                    responded,
                    "1" if rng.random() < 0.03 else "0",
                    str(rng.randrange(4)),
                )
            )
            + "\n"
        )


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def seed(database_url: str, count: int, *, seed: int = 7) -> float:
    """COPY ``count`` tickets, and every customer's tier, into ticketing's migrated tables; seconds taken.

    The tickets are numbered after any already there. The table keeps its indexes while loading:
    the server maintains them on one core while this process makes the rows on the other, which
    is faster here than dropping and rebuilding them.
    """
    progress = Progress()
    started = time.monotonic()
    now = datetime.now(UTC)
    with psycopg.connect(_libpq_url(database_url), autocommit=True, options=f"-c search_path={SERVICE}") as db:
        with db.cursor() as cursor, cursor.copy("COPY customers (customer_id, tier, tier_since) FROM STDIN") as copy:
            since = _when((now - _SPAN).timestamp())
            copy.write("".join(f"{customer(c)}\t{tier_of(c)}\t{since}\n" for c in range(CUSTOMERS)))
        last = db.execute("SELECT coalesce(max(seq), 0) FROM tickets").fetchone()
        first_seq = (last[0] if last else 0) + 1
        with db.cursor() as cursor, cursor.copy(f"COPY tickets ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            batch: list[str] = []
            for n, line in enumerate(rows(count, seed=seed, now=now, first_seq=first_seq), start=1):
                batch.append(line)
                if len(batch) == 5000:
                    copy.write("".join(batch))
                    batch.clear()
                    progress.show(f"seeding: {n:,}/{count:,} tickets, {time.monotonic() - started:.0f}s")
            copy.write("".join(batch))
        db.execute("SELECT setval(pg_get_serial_sequence('tickets', 'seq'), %s)", (first_seq + count - 1,))
        progress.show(f"seeding: {count:,} tickets in {time.monotonic() - started:.0f}s; vacuum, analyze", final=True)
        db.execute("VACUUM (ANALYZE) tickets")
        db.execute("VACUUM (ANALYZE) customers")
    return time.monotonic() - started


def apply_ddl(database_url: str, statements: Sequence[str]) -> float:
    """Run each statement (as the migration would), then vacuum and analyze; seconds taken."""
    progress = Progress()
    started = time.monotonic()
    with psycopg.connect(_libpq_url(database_url), autocommit=True, options=f"-c search_path={SERVICE}") as db:
        db.execute("SET maintenance_work_mem = '256MB'")
        for statement in statements:
            progress.show(f"ddl: {statement}", final=True)
            db.execute(statement.encode())  # bytes: the caller's own SQL, run as written
        db.execute("VACUUM (ANALYZE) tickets")
    return time.monotonic() - started


# --- measuring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    phase: str  # "empty" (before the load), "baseline", or "with --ddl"
    name: str
    calls: int
    concurrency: int
    per_s: float
    rows: float  # per call, on average
    p50_ms: float
    p99_ms: float
    max_ms: float


def closed_loop(
    call: Callable[[int], int], count: int, concurrency: int, *, seconds: float, label: str
) -> tuple[HdrHistogram, int, int, float]:
    """``concurrency`` callers each make call(i), for i from 0, and the next once it is answered.

    Stops after ``count`` calls, or once ``seconds`` have passed (a slow query must not eat the
    run). Returns the latencies in microseconds, the calls made, the rows they returned and the
    seconds it all took.
    """
    histogram = HdrHistogram(1, 3_600_000_000, 3)  # up to an hour, three significant digits
    numbers = itertools.count()
    lock = threading.Lock()
    totals = [0, 0]  # calls, rows
    failures: list[BaseException] = []
    stop = threading.Event()
    deadline = time.monotonic() + seconds

    def caller() -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            i = next(numbers)
            if i >= count:
                return
            started = time.perf_counter()
            try:
                returned = call(i)
            except Exception as exc:
                failures.append(exc)
                stop.set()
                return
            elapsed = time.perf_counter() - started
            with lock:
                histogram.record_value(max(1, round(elapsed * 1e6)))
                totals[0] += 1
                totals[1] += returned

    progress = Progress()
    started = time.monotonic()
    threads = [threading.Thread(target=caller, name=f"bench-{n}", daemon=True) for n in range(concurrency)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)
                progress.show(f"{label}: {totals[0]}/{count}, {time.monotonic() - started:.0f}s")
    finally:
        stop.set()  # on Ctrl-C too: callers finish the call in flight and end
    elapsed = time.monotonic() - started
    progress.show(f"{label}: {totals[0]} calls in {elapsed:.1f}s", final=True)
    if failures:
        raise RuntimeError(f"{label}: {_describe(failures[0])}") from failures[0]
    return histogram, totals[0], totals[1], elapsed


def _describe(exc: BaseException) -> str:
    if isinstance(exc, grpc.RpcError):
        return f"{exc.code().name}: {exc.details()}"
    return repr(exc)


def _ms(histogram: HdrHistogram, percentile: float) -> float:
    return float(histogram.get_value_at_percentile(percentile)) / 1000


def _measured(phase: str, name: str, concurrency: int, run: tuple[HdrHistogram, int, int, float]) -> Measured:
    histogram, calls, returned, elapsed = run
    return Measured(
        phase=phase,
        name=name,
        calls=calls,
        concurrency=concurrency,
        per_s=calls / elapsed if elapsed else 0.0,
        rows=returned / calls if calls else 0.0,
        p50_ms=_ms(histogram, 50),
        p99_ms=_ms(histogram, 99),
        max_ms=float(histogram.get_max_value()) / 1000,
    )


def create_request(run: str, i: int) -> pb.CreateTicketRequest:
    """The i-th new ticket of a run: the seed's kind of ticket, for a team, a customer and a priority."""
    rng = random.Random(i)
    t = rng.choices(range(len(TEAMS)), cum_weights=_TEAM_CUM)[0]
    team = TEAMS[t]
    product = rng.choice(team.products)
    return pb.CreateTicketRequest(
        idempotency_key=f"bench-desk-{run}-{i}",
        customer_id=customer(int(CUSTOMERS * rng.random() ** 1.2)),
        asset_id=f"SN{rng.randrange(CUSTOMERS):06d}0",
        channel=channel_value(rng.choices(_CHANNELS, cum_weights=_CHANNEL_CUM)[0]),
        subject=f"{product.capitalize()} {rng.choice(_PROBLEMS)}",
        description=f"Customer says the {product} has a fault since {rng.choice(_DAYS)}. {rng.choice(_REMARKS)}",
        priority=rng.choices((1, 2, 3, 4), cum_weights=_PRIORITY_CUM)[0],  # type: ignore[arg-type]
        required_skills=list(team.skills),
        language="en",
        category=rng.choice(team.categories),
        team=team.name,
    )


@dataclass(frozen=True)
class Listing:
    """One kind of ListTickets call; the i-th call filters on ``where(i)`` (TicketFilter's fields)."""

    name: str
    where: Callable[[int], dict[str, Any]]
    deep: bool = False  # the page _DEEP_PAGE pages in, reached by following next_page_token


def _product_and_code(i: int) -> str:
    team = TEAMS[i % len(TEAMS)]
    return f"{team.products[i // len(TEAMS) % len(team.products)]} E{i * 7 % ERROR_CODES + 1:02d}"


LISTINGS = (
    Listing("team open queue", lambda i: {"team": TEAMS[i % len(TEAMS)].name, "open_only": True}),
    Listing(
        f"team open queue, page {_DEEP_PAGE}",
        lambda i: {"team": TEAMS[i % _DEEP_TEAMS].name, "open_only": True},
        deep=True,
    ),
    Listing(
        "agent's open queue",
        lambda i: {"assignee": agent(i % len(TEAMS), i // len(TEAMS) % AGENTS_PER_TEAM), "open_only": True},
    ),
    Listing("customer's tickets", lambda i: {"customer_id": customer(i * 7919 % CUSTOMERS)}),
    Listing("text search", lambda i: {"text": _product_and_code(i)}),
)
COUNTS = (("queue counts, all teams", lambda i: ""), ("queue counts, one team", lambda i: TEAMS[i % len(TEAMS)].name))


def _store_filter(where: dict[str, Any]) -> TicketFilter:
    fields = {k: v for k, v in where.items() if k != "text"}
    return TicketFilter(**fields, words=tuple(str(where.get("text", "")).split()))


class Desk:
    """The calls of one run, as an agent of the desk makes them, and the plans of the SQL behind them."""

    def __init__(self, suite: layouts.Running, db: Database, args: argparse.Namespace) -> None:
        self.settings = suite.settings
        self.db = db
        self.args = args
        self.run = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        self.channel = grpc.insecure_channel(f"{suite.settings.host}:{suite.settings.base_port}")
        self.stub = ticketing_pb2_grpc.TicketingServiceStub(self.channel)
        token = auth.issue(suite.settings, "bench-desk", [auth.AGENT])
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.created = 0

    def close(self) -> None:
        self.channel.close()

    def creates(self, phase: str, name: str, count: int) -> Measured:
        offset = self.created
        self.created += count

        def create(i: int) -> int:
            request = create_request(self.run, offset + i)
            self.stub.CreateTicket(request, metadata=self.metadata, timeout=_CALL_TIMEOUT)
            return 1

        conc = self.args.concurrency
        return _measured(phase, name, conc, closed_loop(create, count, conc, seconds=3600, label=f"{phase}: {name}"))

    def list_page(self, where: dict[str, Any], token: str = "") -> pb.ListTicketsResponse:
        request = pb.ListTicketsRequest(filter=pb.TicketFilter(**where), page_size=_PAGE_SIZE, page_token=token)
        return self.stub.ListTickets(request, metadata=self.metadata, timeout=_CALL_TIMEOUT)

    def deep_tokens(self, listing: Listing) -> list[str]:
        """The token of page _DEEP_PAGE of the largest teams' queues (or of their last pages, in a small
        desk), found as a client finds it: page by page."""
        tokens = []
        for i in range(_DEEP_TEAMS):
            token = ""
            for _ in range(_DEEP_PAGE - 1):
                following = self.list_page(listing.where(i), token).next_page_token
                if not following:
                    break
                token = following
            tokens.append(token)
        return tokens

    def listing(self, phase: str, listing: Listing) -> tuple[Measured, list[str]]:
        tokens = self.deep_tokens(listing) if listing.deep else [""]

        def call(i: int) -> int:
            return len(self.list_page(listing.where(i), tokens[i % len(tokens)]).tickets)

        measured = self._queries(phase, listing.name, call)
        after = None
        position = paging.decode(tokens[0], expected={"priority", "seq"})
        if position is not None:
            after = (paging.integer_at(position, "priority"), paging.integer_at(position, "seq"))
        where = _store_filter(listing.where(0))
        return measured, self.plan(lambda store: store.page(where, after=after, limit=_PAGE_SIZE + 1))

    def count(self, phase: str, name: str, team: Callable[[int], str]) -> tuple[Measured, list[str]]:
        def call(i: int) -> int:
            request = pb.CountTicketsRequest(team=team(i))
            return len(self.stub.CountTickets(request, metadata=self.metadata, timeout=_CALL_TIMEOUT).counts)

        return self._queries(phase, name, call), self.plan(lambda store: store.counts(team=team(0)))

    def _queries(self, phase: str, name: str, call: Callable[[int], int]) -> Measured:
        args = self.args
        warmup = min(10, args.calls)
        # Warm-up: the plan cache, the connection pool, the pages of the index; not measured.
        closed_loop(call, warmup, 1, seconds=min(5.0, args.query_seconds), label=f"{phase}: {name} warm-up")
        run = closed_loop(
            lambda i: call(warmup + i),
            args.calls,
            args.list_concurrency,
            seconds=args.query_seconds,
            label=f"{phase}: {name}",
        )
        return _measured(phase, name, args.list_concurrency, run)

    def plan(self, act: Callable[[TicketStore], object]) -> list[str]:
        """EXPLAIN ANALYZE of the last statement ``act`` sends, as sent: the store's own SQL and parameters."""
        sent: list[tuple[str, Any]] = []

        def capture(*args: Any) -> None:
            _connection, _cursor, statement, parameters, _context, _many = args
            sent.append((statement, parameters))

        event.listen(self.db.engine, "before_cursor_execute", capture)
        try:
            with self.db.sessions() as session:
                act(TicketStore(session))
        finally:
            event.remove(self.db.engine, "before_cursor_execute", capture)
        statement, parameters = sent[-1]
        with self.db.engine.connect() as connection:
            explained = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
            return [str(line) for line in explained.scalars()]


def measure(desk: Desk, phase: str) -> tuple[list[Measured], dict[str, list[str]]]:
    args = desk.args
    results = [desk.creates(phase, f"CreateTicket, {args.existing:,} existing", args.tickets)]
    plans = {}
    for listing in LISTINGS:
        measured, plans[listing.name] = desk.listing(phase, listing)
        results.append(measured)
    for name, team in COUNTS:
        measured, plans[name] = desk.count(phase, name, team)
        results.append(measured)
    return results, plans


# --- the command ----------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench desk",
        description="Ticketing on PostgreSQL with a million existing tickets: CreateTicket, queue listings, counts.",
    )
    parser.add_argument(
        "--existing", type=at_least(0), default=1_000_000, help="tickets loaded before measuring (default 1000000)"
    )
    parser.add_argument("--tickets", type=at_least(1), default=2000, help="CreateTicket calls measured (default 2000)")
    parser.add_argument("--concurrency", type=at_least(1), default=16, help="CreateTicket calls in flight (default 16)")
    parser.add_argument(
        "--warmup", type=at_least(0), default=50, help="tickets created first and not measured (default 50)"
    )
    parser.add_argument(
        "--reference",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure CreateTicket on the empty desk too, before loading the existing tickets (default: yes)",
    )
    parser.add_argument("--calls", type=at_least(1), default=300, help="calls measured per listing (default 300)")
    parser.add_argument(
        "--query-seconds",
        type=float,
        default=20.0,
        help="at most this long per listing, however few calls that makes (default 20)",
    )
    parser.add_argument("--list-concurrency", type=at_least(1), default=1, help="listing calls in flight (default 1)")
    parser.add_argument(
        "--layout",
        choices=("processes", "broker"),
        default="processes",
        help="the production layout, one process per service and role (default), or all in this process",
    )
    parser.add_argument(
        "--ddl",
        action="append",
        default=[],
        metavar="SQL",
        help="a statement run on the seeded database after the baseline, before measuring again (repeatable)",
    )
    parser.add_argument("--explain", action="store_true", help="print each listing's EXPLAIN ANALYZE after the table")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the existing tickets (default 7)")
    return parser.parse_args(argv)


# Header, Measured field, width, format. Latencies are in milliseconds.
_COLUMNS = (
    ("phase", "phase", 10, "{}"),
    ("measure", "name", 34, "{}"),
    ("calls", "calls", 5, "{:d}"),
    ("conc", "concurrency", 4, "{:d}"),
    ("per s", "per_s", 6, "{:.0f}"),
    ("rows", "rows", 5, "{:.0f}"),
    ("p50", "p50_ms", 7, "{:.1f}"),
    ("p99", "p99_ms", 7, "{:.1f}"),
    ("max", "max_ms", 7, "{:.1f}"),
)


def _row(cells: list[str]) -> str:
    widths = [width for _, _, width, _ in _COLUMNS]
    return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))


def table(results: list[Measured], args: argparse.Namespace, seeded: float) -> str:
    lines = [
        f"Switchboard bench desk: ticketing on {layouts.TITLES[args.layout]}, {args.existing:,} existing tickets "
        f"(loaded in {seeded:.0f}s); latencies in ms",
        _row([header for header, _, _, _ in _COLUMNS]),
    ]
    for result in results:
        values = dataclasses.asdict(result)
        lines.append(_row([fmt.format(values[field]) for _, field, _, fmt in _COLUMNS]))
    return "\n".join(lines)


def _commit() -> str | None:
    git = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=RESULTS.parent, check=False)
    return git.stdout.strip() or None


def save(document: dict[str, Any], started: datetime) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"desk-{started:%Y%m%dT%H%M%SZ}.json"
    document = {
        "benchmark": "ticketing_desk",
        "started_at": started.isoformat(),
        **document,
        # Figures only compare on like code and like machines: say which these were.
        "commit": _commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    # SIGTERM unwinds like Ctrl-C, so the database, vhost and processes are removed either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    started = datetime.now(UTC)
    results: list[Measured] = []
    plans: dict[str, dict[str, list[str]]] = {}
    seeded, ddl_seconds = 0.0, None
    try:
        with layouts.running(args.layout) as suite:
            url = suite.settings.database_url
            assert url is not None  # both layouts run on PostgreSQL
            db = open_database(suite.settings, SERVICE)
            desk = Desk(suite, db, args)
            try:
                if args.warmup:
                    desk.creates("warm-up", "CreateTicket", args.warmup)
                if args.reference:
                    results.append(desk.creates("empty", "CreateTicket, empty desk", args.tickets))
                seeded = seed(url, args.existing, seed=args.seed)
                measured, plans["baseline"] = measure(desk, "baseline")
                results += measured
                if args.ddl:
                    ddl_seconds = apply_ddl(url, args.ddl)
                    measured, plans["with --ddl"] = measure(desk, "with --ddl")
                    results += measured
            finally:
                desk.close()
                db.dispose()
    except KeyboardInterrupt:
        print("interrupted; everything the bench created is removed", file=sys.stderr)
        return 130
    print(table(results, args, seeded))
    if args.ddl:
        print(f"--ddl applied in {ddl_seconds:.0f}s: " + "; ".join(args.ddl))
    if args.explain:
        for phase, by_name in plans.items():
            for name, plan in by_name.items():
                print(f"\n{phase}: {name}\n  " + "\n  ".join(plan))
    document = {
        "layout": args.layout,
        "existing": args.existing,
        "seed": args.seed,
        "seed_seconds": seeded,
        "tickets": args.tickets,
        "concurrency": args.concurrency,
        "calls": args.calls,
        "list_concurrency": args.list_concurrency,
        "ddl": args.ddl,
        "ddl_seconds": ddl_seconds,
        "results": [dataclasses.asdict(r) for r in results],
        "plans": plans,
    }
    print(f"results: {save(document, started)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
