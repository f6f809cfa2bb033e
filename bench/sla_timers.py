"""``python -m bench sla``: the delay from an SLA clock's due time to its event, on PostgreSQL.

Seeds ``--clocks`` running first-response clocks through the SLA engine's own code (each ticket opened
in the past, so that its clock falls due inside the measured window), then starts the ticketing
timer loop and lets them fall due. Two rounds:

* idle: every clock is running but only ``--probes`` of them fall due, spread over ``--window``
  seconds; the rest are due hours later. A scan-based engine pays for the whole table; a
  deadline-driven one should not.
* burst: all ``--clocks`` fall due within ``--window`` seconds; each breach escalates its P2 ticket
  to P1 in the same transaction (ticket update, history row, two events).

The delay is fired_at - due_at of each ticket.sla_breached event (the handler's time, just before
its transaction commits). Prints p50/p99/max per round and writes them to bench/results/. When the
due clocks arrive faster than one timer loop announces them (breaches/s), the delay is the backlog.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]
from pydantic import SecretStr
from sqlalchemy import Interval, delete, func, literal, select, update

from services.ticketing.domain import tickets as ticket_domain
from services.ticketing.domain.sla import Change, SlaPolicy, react
from services.ticketing.service import sla
from services.ticketing.store.history import ticket_history
from services.ticketing.store.sla import SlaStore, sla_clocks
from services.ticketing.store.tickets import TicketStore, tickets
from switchboard import envelope, logs
from switchboard.composition import load_services
from switchboard.db.engine import Database
from switchboard.db.tables import outbox
from switchboard.db.tables import timers as timers_table
from switchboard.db.uow import UnitOfWork
from switchboard.ids import new_id
from switchboard.settings import Settings
from switchboard.timers import TimerLoop
from tests import support
from tests.unit.builders import new_ticket

RESULTS = Path(__file__).parent / "results"
# First response within an hour around the clock, no warnings: one breach per clock.
TARGET = timedelta(hours=1)
_BATCH = 1000
_WIDTHS = (8, 8, 9, 11, 8, 8, 9)


@dataclass(frozen=True)
class Round:
    name: str
    running_clocks: int
    due_in_window: int
    window_s: float
    breaches_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench sla", description=__doc__.splitlines()[0])
    parser.add_argument("--clocks", type=int, default=100_000, help="running SLA clocks (default 100000)")
    parser.add_argument("--probes", type=int, default=2_000, help="clocks due in the idle round (default 2000)")
    parser.add_argument(
        "--window", type=float, default=600.0, help="seconds over which the due clocks fall due (default 600)"
    )
    parser.add_argument("--workers", type=int, default=4, help="timer loop worker threads (default 4, as served)")
    parser.add_argument("--rounds", choices=("idle", "burst", "both"), default="both")
    return parser.parse_args(argv)


@contextmanager
def ticketing_on_postgresql() -> Iterator[Database]:
    support.require_postgres()
    with support.postgres_database() as url:
        settings = Settings(
            data_dir=Path("var/bench"),
            database_url=url,
            auth_secret=SecretStr("bench-secret-not-for-production-0123456789"),
            log_level="WARNING",
        )
        logs.configure(settings)
        (ticketing,) = load_services(["ticketing"])
        runtime = ticketing.open(settings)
        try:
            yield runtime.db
        finally:
            runtime.db.dispose()


def bench_policy(db: Database) -> None:
    """P2 answered within an hour, around the clock: every seeded clock runs on the same arithmetic."""
    with UnitOfWork(db) as uow:
        store = SlaStore(uow.session)
        found = store.policy("p2-high")
        assert found is not None
        policy = SlaPolicy(
            policy_id="p2-high",
            priority=2,
            calendar_id="24x7",
            name="bench: P2 first response within an hour",
            first_response_seconds=int(TARGET.total_seconds()),
            warn_percents=(),
            escalation_queue="escalations",
        )
        store.put_policy(policy, expected_revision=found[0].revision, at=datetime.now(UTC) - 2 * TARGET, by="bench")
        uow.commit()


def seed(db: Database, dues: list[datetime], progress: str) -> None:
    """Open one P2 ticket per due time, backdated by the target, with its clock and timer as track() makes them."""
    for start in range(0, len(dues), _BATCH):
        with UnitOfWork(db) as uow:
            store, rules = SlaStore(uow.session), sla.LiveRules(SlaStore(uow.session))
            clocks = []
            for due in dues[start : start + _BATCH]:
                opened = ticket_domain.open_ticket(new_ticket(priority=2), ticket_id=new_id(), now=due - TARGET)
                ticket = TicketStore(uow.session).add(opened)
                change = Change(None, sla.facts_of(ticket), None, ticket.created_at)
                clocks += react([], change, rules, ticket_id=ticket.ticket_id, new_id=new_id)
            store.save_clocks([], clocks)
            # What timers.schedule writes for each, in one statement.
            uow.session.execute(
                timers_table.insert(),
                [
                    {
                        "service": db.service,
                        "kind": sla.CLOCK_TIMER,
                        "key": c.clock_id,
                        "due_at": c.next_alarm(rules.calendar_revision(c.calendar_id, c.calendar_revision)),
                        "payload": {"ticket_id": c.ticket_id},
                        "scheduled_at": c.started_at,
                        "attempts": 0,
                    }
                    for c in clocks
                ],
            )
            uow.commit()
        sys.stderr.write(f"\r{progress}: seeded {min(start + _BATCH, len(dues))}/{len(dues)} clocks")
        sys.stderr.flush()
    sys.stderr.write("\n")


def shift(db: Database, by: timedelta) -> None:
    """Move every seeded moment earlier by ``by``: around the clock, business time does not care when."""
    by = literal(by, Interval())  # type: ignore[assignment]
    with db.engine.begin() as connection:
        connection.execute(
            update(tickets).values(created_at=tickets.c.created_at - by, updated_at=tickets.c.updated_at - by)
        )
        connection.execute(
            update(sla_clocks).values(
                started_at=sla_clocks.c.started_at - by,
                running_since=sla_clocks.c.running_since - by,
                due_at=sla_clocks.c.due_at - by,
            )
        )
        connection.execute(update(timers_table).values(due_at=timers_table.c.due_at - by))


def announced(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).select_from(outbox).where(outbox.c.routing_key == "ticket.sla_breached")
            ).scalar_one()
        )


def breaches(db: Database) -> list[tuple[datetime, datetime]]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(outbox.c.body, outbox.c.content_type).where(outbox.c.routing_key == "ticket.sla_breached")
        ).all()
    found = []
    for row in rows:
        payload = envelope.decode(row.body, row.content_type).payload
        found.append((payload.due_at.ToDatetime(tzinfo=UTC), payload.fired_at.ToDatetime(tzinfo=UTC)))  # type: ignore[attr-defined]
    return found


def measure(db: Database, name: str, running: int, due: int, window: float, workers: int) -> Round:
    loop = TimerLoop(db, lambda: UnitOfWork(db), {sla.CLOCK_TIMER: sla.on_clock_timer}, workers=workers)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), name="bench-timers", daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        while True:
            seen = announced(db)
            sys.stderr.write(f"\r{name}: {time.monotonic() - started:6.0f}s, {seen}/{due} breaches announced")
            sys.stderr.flush()
            if seen >= due:
                break
            if time.monotonic() - started > window + 3600:
                raise TimeoutError(f"{name}: only {seen} of {due} breaches announced an hour after the window")
            time.sleep(1.0)
    finally:
        stop.set()
        loop.stop()
        thread.join(timeout=30)
    sys.stderr.write("\n")
    found = breaches(db)
    delays = HdrHistogram(1, 3_600_000_000, 3)  # microseconds, up to an hour
    for due_at, fired_at in found:
        delays.record_value(max(1, round((fired_at - due_at).total_seconds() * 1e6)))
    first = min(d for d, _ in found)
    last = max(f for _, f in found)
    return Round(
        name=name,
        running_clocks=running,
        due_in_window=due,
        window_s=window,
        breaches_per_s=len(found) / max((last - first).total_seconds(), 1e-9),
        p50_ms=delays.get_value_at_percentile(50) / 1000,
        p99_ms=delays.get_value_at_percentile(99) / 1000,
        max_ms=delays.get_max_value() / 1000,
    )


def spread(count: int, start: datetime, window: float) -> list[datetime]:
    return sorted(start + timedelta(seconds=random.uniform(0, window)) for _ in range(count))


def reset(db: Database) -> None:
    with db.engine.begin() as connection:
        for table in (timers_table, outbox, sla_clocks, ticket_history, tickets):
            connection.execute(delete(table))


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results = []
    with ticketing_on_postgresql() as db:
        bench_policy(db)
        if args.rounds in ("idle", "both"):
            # Every clock running, few due. Seeded a day ahead, then moved to open the window in 5 s.
            window_start = datetime.now(UTC) + timedelta(days=1)
            dues = spread(args.probes, window_start, args.window)
            dues += spread(args.clocks - args.probes, window_start + timedelta(hours=6), 3600)
            seed(db, dues, "idle")
            shift(db, window_start - (datetime.now(UTC) + timedelta(seconds=5)))
            results.append(measure(db, "idle", args.clocks, args.probes, args.window + 5, args.workers))
        if args.rounds in ("burst", "both"):
            reset(db)
            window_start = datetime.now(UTC) + timedelta(days=1)
            seed(db, spread(args.clocks, window_start, args.window), "burst")
            shift(db, window_start - (datetime.now(UTC) + timedelta(seconds=5)))
            results.append(measure(db, "burst", args.clocks, args.clocks, args.window + 5, args.workers))
        with db.engine.connect() as connection:
            left = connection.execute(select(func.count()).select_from(timers_table)).scalar_one()

    print(f"SLA timers on PostgreSQL: due time -> ticket.sla_breached committed ({args.workers} timer workers)")
    header = ("round", "running", "due", "window s", "breaches/s", "p50 ms", "p99 ms", "max ms")
    print(f"{header[0]:<6} " + " ".join(f"{h:>{w}}" for h, w in zip(header[1:], _WIDTHS, strict=True)))
    for r in results:
        print(
            f"{r.name:<6} {r.running_clocks:>8} {r.due_in_window:>8} {r.window_s:>9.0f} {r.breaches_per_s:>11.0f} "
            f"{r.p50_ms:>8.1f} {r.p99_ms:>8.1f} {r.max_ms:>9.1f}"
        )
    print(f"timers still pending at the end (clocks not yet due): {left}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"sla_timers_{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    document = {
        "benchmark": "sla_timer_delay",
        "args": vars(args),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "results": [asdict(r) for r in results],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"results: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
