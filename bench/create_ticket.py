"""CreateTicket -> ticket.created applied by routing: throughput and latency of one running suite.

The client is a closed loop: ``concurrency`` callers each send the next call once the last one is
answered. If routing applies events more slowly than tickets are created, a backlog builds and the
e2e latency grows with the number of tickets, so read e2e percentiles next to create/s and applied/s.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]
from sqlalchemy import func, select

from bench.layouts import Running
from bench.progress import Progress
from services.routing.store import tasks
from switchboard.db.engine import Database
from switchboard.ids import new_id
from switchboard.rpc import auth
from switchboard.ticketing.v1 import ticketing_pb2_grpc
from tests import support

_STALL_SECONDS = 60.0  # give up when neither creates nor applies advance for this long
_CALL_TIMEOUT = 30.0


@dataclass(frozen=True)
class Result:
    layout: str
    tickets: int
    concurrency: int
    create_per_s: float
    applied_per_s: float
    create_p50_ms: float
    create_p99_ms: float
    e2e_p50_ms: float
    e2e_p99_ms: float


@dataclass(frozen=True)
class _Call:
    ticket_id: str
    sent: float  # wall clock, to compare with the task's created_at
    latency: float  # monotonic clock, immune to wall-clock steps


def _last_seq(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(select(func.coalesce(func.max(tasks.c.seq), 0))).scalar_one())


def _applied_since(db: Database, seq: int) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(select(func.count()).where(tasks.c.seq > seq)).scalar_one())


def _round(suite: Running, label: str, count: int, concurrency: int) -> tuple[list[_Call], dict[str, float]]:
    """Create ``count`` tickets with ``concurrency`` callers; wait until routing applied each one.

    Returns the calls and each ticket's task created_at (epoch seconds), by ticket id.
    """
    db = suite.runtimes["routing"].db
    before = _last_seq(db)  # tasks after this one are this round's
    token = auth.issue(suite.settings, "bench", [auth.AGENT])
    metadata = (("authorization", f"Bearer {token}"),)
    run = new_id()
    progress = Progress()
    with grpc.insecure_channel(f"{suite.settings.host}:{suite.settings.base_port}") as channel:
        stub = ticketing_pb2_grpc.TicketingServiceStub(channel)

        def create(i: int) -> _Call:
            request = support.create_ticket_request(f"bench-{run}-{i}", customer_id=f"C-{i % 500:04d}")
            sent, started = time.time(), time.perf_counter()
            reply = stub.CreateTicket(request, metadata=metadata, timeout=_CALL_TIMEOUT)
            return _Call(reply.ticket.ticket_id, sent, time.perf_counter() - started)

        pool = ThreadPoolExecutor(concurrency, thread_name_prefix="bench-client")
        try:
            futures = [pool.submit(create, i) for i in range(count)]
            _wait(db, before, futures, label, progress)
        finally:
            # On Ctrl-C or an error, drop the calls not yet started instead of making them all.
            pool.shutdown(wait=True, cancel_futures=True)
    calls = [f.result() for f in futures]
    with db.engine.connect() as connection:
        rows = connection.execute(select(tasks.c.ticket_id, tasks.c.created_at).where(tasks.c.seq > before)).all()
    applied = {row.ticket_id: row.created_at.timestamp() for row in rows}
    missing = [c.ticket_id for c in calls if c.ticket_id not in applied]
    if missing or len(applied) != count:
        raise RuntimeError(f"{label}: {len(applied)} tasks for {count} tickets; without a task: {missing[:5]}")
    return calls, applied


def _wait(db: Database, before: int, futures: list[Future[_Call]], label: str, progress: Progress) -> None:
    count = len(futures)
    seen, changed = (-1, -1), time.monotonic()
    while True:
        failed = next((f for f in futures if f.done() and f.exception() is not None), None)
        if failed is not None:
            raise RuntimeError(f"{label}: CreateTicket failed") from failed.exception()
        state = (sum(f.done() for f in futures), _applied_since(db, before))
        line = f"{label}: created {state[0]}/{count}, applied {state[1]}/{count}"
        if state == (count, count):
            progress.show(line, final=True)
            return
        progress.show(line)
        if state != seen:
            seen, changed = state, time.monotonic()
        elif time.monotonic() - changed > _STALL_SECONDS:
            raise TimeoutError(f"{line}: no progress for {_STALL_SECONDS:.0f}s")
        time.sleep(0.5)


def _ms(histogram: HdrHistogram, percentile: float) -> float:
    return float(histogram.get_value_at_percentile(percentile)) / 1000


def measure(suite: Running, layout: str, tickets: int, concurrency: int, warmup: int) -> Result:
    if warmup:
        # Connection pools, prepared statements, queues and lazy imports: not what is measured.
        _round(suite, f"{layout} warm-up", warmup, concurrency)
    calls, applied = _round(suite, layout, tickets, concurrency)
    # Microseconds, up to an hour, three significant digits.
    create, e2e = HdrHistogram(1, 3_600_000_000, 3), HdrHistogram(1, 3_600_000_000, 3)
    for call in calls:
        create.record_value(max(1, round(call.latency * 1e6)))
        # Both clocks are this machine's wall clock: the suite runs in this process.
        e2e.record_value(max(1, round((applied[call.ticket_id] - call.sent) * 1e6)))
    first_sent = min(c.sent for c in calls)
    last_reply = max(c.sent + c.latency for c in calls)
    return Result(
        layout=layout,
        tickets=tickets,
        concurrency=concurrency,
        create_per_s=tickets / (last_reply - first_sent),
        applied_per_s=tickets / (max(applied.values()) - first_sent),
        create_p50_ms=_ms(create, 50),
        create_p99_ms=_ms(create, 99),
        e2e_p50_ms=_ms(e2e, 50),
        e2e_p99_ms=_ms(e2e, 99),
    )
