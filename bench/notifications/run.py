"""``python -m bench notifications``: notifications end to end on RabbitMQ and PostgreSQL.

The whole suite is started as the integration tests and ``python -m bench`` start it (one process, every
role, a fresh PostgreSQL database and RabbitMQ vhost with production's broker definitions), with email
going to a real SMTP server (aiosmtpd) and SMS to a real HTTP receiver (Apprise json://), both on loopback.

Two parts:

* throughput: ``--events`` work_order.scheduled events are published at once, each to a technician (console
  and email) and a customer (SMS and email): four notifications per event, through the consumer (rules,
  preferences, templates in two languages, the ledger) and the deliverer (SMTP, HTTP). Measured from the first
  publish to the last notification sent; notifications/s counts all four, sends/s the three that leave the
  building (email, SMS).
* live feed: ``--offers`` offer.created events published one after another, each timed from its publish to
  its item arriving on the agent's Subscribe stream: p50, p99 and max.

Prints a table and writes the figures as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]
from kombu import Exchange, Producer  # type: ignore[attr-defined]
from kombu.connection import Connection
from sqlalchemy import func, select

from bench import layouts
from bench.arguments import at_least
from bench.notifications import cpu
from bench.notifications.sinks import http_receiver, smtp_server
from services.notifications import config as configuration
from services.notifications.domain.recipients import Recipient
from services.notifications.store.recipients import RecipientStore
from services.notifications.store.schema import notifications
from switchboard import envelope
from switchboard.composition import Runtime
from switchboard.db.engine import open_database
from switchboard.events.v1.routing_events_pb2 import OfferCreated
from switchboard.events.v1.work_order_events_pb2 import WorkOrderScheduled
from switchboard.notifications.v1 import notifications_pb2 as pb
from switchboard.notifications.v1 import notifications_pb2_grpc
from switchboard.rpc import auth
from switchboard.timestamps import timestamp

RESULTS = Path(__file__).parents[1] / "results"
CUSTOMERS = 50


@dataclass(frozen=True)
class Result:
    events: int
    notifications: int
    seconds: float
    # When the last notification was in the ledger (planning done): the rest of ``seconds`` is delivery.
    planned_seconds: float
    notifications_per_s: float
    sends_per_s: float
    offers: int
    feed_p50_ms: float
    feed_p99_ms: float
    feed_max_ms: float
    # CPU seconds of the process's threads during the throughput part, per thread group, and in all.
    cpu_seconds: dict[str, float]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench notifications", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=at_least(1), default=500, help="work_order.scheduled events (default 500)")
    parser.add_argument("--offers", type=at_least(1), default=300, help="offers timed on the live feed (default 300)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the sends (default 600)")
    return parser.parse_args(argv)


def _seed(runtime: Runtime) -> None:
    with runtime.uow() as uow:
        store = RecipientStore(uow.session)
        store.add(
            Recipient("tom", name="Tom Becker", emails=("tom@example.com",), locale="de", time_zone="Europe/Berlin")
        )
        for n in range(CUSTOMERS):
            store.add(
                Recipient(
                    f"C-{n:04d}",
                    kind="customer",
                    name=f"Customer {n}",
                    emails=(f"c{n}@example.cn",),
                    phones=(f"+86138{n:08d}",),
                    locale="zh-CN" if n % 2 else "en",
                    time_zone="Asia/Shanghai" if n % 2 else "Europe/London",
                    consents=frozenset({"email", "sms"}),
                ),
                source_version=1,
            )
        uow.commit()


def _body(payload: object) -> tuple[str, str, bytes]:
    sealed = envelope.seal(payload, correlation_id="bench-notifications")  # type: ignore[arg-type]
    return f"{sealed.source}.events", sealed.type, envelope.to_json(sealed)


def _progress(runtime: Runtime) -> tuple[int, int]:
    """Notifications planned (in the ledger) and sent so far."""
    with runtime.db.engine.connect() as connection:
        planned = connection.execute(select(func.count()).select_from(notifications)).scalar_one()
        sent = connection.execute(
            select(func.count()).select_from(notifications).where(notifications.c.status.in_(["sent", "delivered"]))
        ).scalar_one()
    return int(planned), int(sent)


def throughput(
    runtime: Runtime, broker_url: str, events: int, timeout: float
) -> tuple[int, float, float, dict[str, float]]:
    """Notifications sent, seconds to send them all, seconds to plan them all, CPU seconds per thread group."""
    start_at = datetime(2026, 4, 1, 8, tzinfo=UTC)
    bodies = [
        _body(
            WorkOrderScheduled(
                work_order_id=f"WO-{n:06d}",
                ticket_id=f"T-{n:06d}",
                customer_id=f"C-{n % CUSTOMERS:04d}",
                technician_id="tom",
                window_start=timestamp(start_at),
                window_end=timestamp(start_at.replace(hour=10)),
            )
        )
        for n in range(events)
    ]
    expected = 4 * events
    cpu_before, process_before = cpu.sample(), time.process_time()
    started = time.monotonic()
    planned_at = 0.0
    with Connection(broker_url, transport_options={"confirm_publish": True}) as connection:  # type: ignore[no-untyped-call]
        producer = Producer(connection.channel())  # type: ignore[no-untyped-call]
        exchange = Exchange(bodies[0][0], type="topic", durable=True)  # type: ignore[no-untyped-call]
        for _, key, body in bodies:
            producer.publish(body, exchange=exchange, routing_key=key, content_type=envelope.JSON)  # type: ignore[no-untyped-call]
    deadline = started + timeout
    while (progress := _progress(runtime))[1] < expected:
        if not planned_at and progress[0] >= expected:
            planned_at = time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{progress[1]} of {expected} notifications sent after {timeout:.0f}s")
        elapsed = time.monotonic() - started
        print(f"\r  {elapsed:5.1f} s: planned {progress[0]}, sent {progress[1]} of {expected}", end="", file=sys.stderr)
        time.sleep(0.2)
    finished = time.monotonic()
    spent = cpu.breakdown(cpu_before, cpu.sample(), cpu.names())
    spent["process (all threads)"] = time.process_time() - process_before
    print(file=sys.stderr)
    return expected, finished - started, (planned_at or finished) - started, {k: round(v, 2) for k, v in spent.items()}


def live_feed(runtime: Runtime, broker_url: str, offers: int) -> HdrHistogram:
    settings = runtime.settings
    histogram = HdrHistogram(1, 60_000_000, 3)
    token = auth.issue(settings, "alice", ["agent"])
    with grpc.insecure_channel(f"{settings.host}:{settings.port_of(3)}") as channel:
        stream = notifications_pb2_grpc.NotificationServiceStub(channel).Subscribe(
            pb.SubscribeRequest(), metadata=(("authorization", f"Bearer {token}"),)
        )
        time.sleep(0.5)  # the stream listens
        with Connection(broker_url, transport_options={"confirm_publish": True}) as connection:  # type: ignore[no-untyped-call]
            producer = Producer(connection.channel())  # type: ignore[no-untyped-call]
            exchange = Exchange("routing.events", type="topic", durable=True)  # type: ignore[no-untyped-call]
            try:
                for n in range(offers):
                    _, key, body = _body(OfferCreated(offer_id=f"O-{n:06d}", task_id=f"K-{n:06d}", worker_id="alice"))
                    published = time.monotonic()
                    producer.publish(body, exchange=exchange, routing_key=key, content_type=envelope.JSON)  # type: ignore[no-untyped-call]
                    item = stream.next().item  # type: ignore[attr-defined]
                    histogram.record_value(max(1, int((time.monotonic() - published) * 1_000_000)))
                    assert item.refs["offer_id"] == f"O-{n:06d}", item.refs
            finally:
                stream.cancel()  # type: ignore[no-untyped-call]
    return histogram


def _ms(histogram: HdrHistogram, percentile: float) -> float:
    return float(histogram.get_value_at_percentile(percentile)) / 1000


def main(argv: list[str]) -> int:
    args = parse(argv)
    started_at = datetime.now(UTC)
    with ExitStack() as stack:
        mailbox, smtp_port = stack.enter_context(smtp_server())
        inbox, http_port = stack.enter_context(http_receiver())
        os.environ["SWITCHBOARD_NOTIFICATIONS_SMTP_PORT"] = str(smtp_port)
        os.environ["SWITCHBOARD_NOTIFICATIONS_SMS_URL_TEMPLATE"] = f"json://127.0.0.1:{http_port}/sms/{{address}}"
        configuration.load.cache_clear()
        suite = stack.enter_context(layouts.running("broker"))
        settings = suite.settings
        assert settings.broker_url is not None
        runtime = Runtime(settings=settings, db=open_database(settings, "notifications"))
        stack.callback(runtime.db.dispose)
        _seed(runtime)
        print(f"throughput: {args.events} work_order.scheduled events ...", file=sys.stderr)
        count, seconds, planned, spent = throughput(runtime, settings.broker_url, args.events, args.timeout)
        external = mailbox.count() + len(inbox.at("/sms/"))
        print(f"live feed: {args.offers} offers ...", file=sys.stderr)
        histogram = live_feed(runtime, settings.broker_url, args.offers)
    result = Result(
        events=args.events,
        notifications=count,
        seconds=round(seconds, 2),
        planned_seconds=round(planned, 2),
        notifications_per_s=round(count / seconds, 1),
        sends_per_s=round(external / seconds, 1),
        offers=args.offers,
        feed_p50_ms=_ms(histogram, 50),
        feed_p99_ms=_ms(histogram, 99),
        feed_max_ms=_ms(histogram, 100),
        cpu_seconds=dict(sorted(spent.items(), key=lambda kv: -kv[1])),
    )
    print(
        "Switchboard bench: notifications on PostgreSQL + RabbitMQ (1 process), email to aiosmtpd, SMS to HTTP\n"
        f"  {result.events} events -> {result.notifications} notifications in {result.seconds} s: "
        f"{result.notifications_per_s}/s end to end ({result.sends_per_s} email+SMS sends/s), "
        f"all planned after {result.planned_seconds} s\n"
        f"  live feed, offer.created published -> item on Subscribe ({result.offers} offers): "
        f"p50 {result.feed_p50_ms:.1f} ms, p99 {result.feed_p99_ms:.1f} ms, max {result.feed_max_ms:.1f} ms\n"
        "  CPU seconds during the throughput part, by thread: "
        + ", ".join(f"{name} {used:.1f}" for name, used in result.cpu_seconds.items() if used >= 0.1)
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"notifications-{started_at:%Y%m%dT%H%M%SZ}.json"
    document = {
        "benchmark": "notifications",
        "started_at": started_at.isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "result": asdict(result),
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"results: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
