"""``python -m bench``: Switchboard's benchmarks.

``python -m bench [options]`` (the default): CreateTicket to ticket.created applied by routing, on
each layout. ``python -m bench desk [options]``: ticketing on PostgreSQL with a million existing
tickets (bench/desk.py). ``python -m bench sla [options]``: the delay from an SLA clock's due time
to its event (bench/sla_timers.py). ``python -m bench routing [options]``: the call-centre simulation
against Erlang C, the routing strategies compared, and decision latency with 10,000 agents and 100,000
waiting tasks (bench/routing.py). ``python -m bench dispatch [options]``: technician recommendations and
day plans against the best known Solomon solutions (bench/dispatch.py). ``python -m bench customer360``:
the customer view with a million customers on PostgreSQL, event-to-view visibility and ingest rate
(bench/customer360/view.py). ``python -m bench anomalies``: the unusual-behaviour detectors' precision and
recall on synthetic customers (bench/customer360/detection.py). ``python -m bench notifications``:
notifications per second end to end and live-feed latency (bench/notifications/run.py). Each prints a table
and writes its figures as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import platform
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench import create_ticket, layouts
from bench.arguments import at_least

RESULTS = Path(__file__).parent / "results"
# The benchmarks with a name: ``python -m bench NAME [options]`` runs main(options) of NAME's module.
# Imported when chosen, so one benchmark's imports never stand in the way of another's run.
COMMANDS = {
    "desk": "bench.desk",
    "sla": "bench.sla_timers",
    "routing": "bench.routing",
    "dispatch": "bench.dispatch",
    "customer360": "bench.customer360.view",
    "anomalies": "bench.customer360.detection",
    "notifications": "bench.notifications.run",
}

# Header, Result field, width, format. Latencies are in milliseconds.
_COLUMNS = (
    ("layout", "layout", 29, "{}"),
    ("tickets", "tickets", 7, "{:d}"),
    ("conc", "concurrency", 4, "{:d}"),
    ("create/s", "create_per_s", 8, "{:.0f}"),
    ("applied/s", "applied_per_s", 9, "{:.0f}"),
    ("create p50", "create_p50_ms", 10, "{:.1f}"),
    ("create p99", "create_p99_ms", 10, "{:.1f}"),
    ("e2e p50", "e2e_p50_ms", 7, "{:.1f}"),
    ("e2e p99", "e2e_p99_ms", 7, "{:.1f}"),
)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="CreateTicket to ticket.created applied by routing, per layout.",
        epilog=f"Other benchmarks: python -m bench {{{','.join(COMMANDS)}}} [options]; each has its own --help.",
    )
    parser.add_argument("--tickets", type=at_least(1), default=2000, help="tickets measured per layout (default 2000)")
    parser.add_argument("--concurrency", type=at_least(1), default=16, help="CreateTicket calls in flight (default 16)")
    parser.add_argument("--layout", choices=(*layouts.LAYOUTS, "all"), default="all")
    parser.add_argument(
        "--warmup", type=at_least(0), default=50, help="tickets created first and not measured (default 50)"
    )
    return parser.parse_args(argv)


def _row(cells: list[str]) -> str:
    widths = [width for _, _, width, _ in _COLUMNS]
    return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))


def table(results: list[create_ticket.Result], tickets: int, concurrency: int) -> str:
    lines = [
        "Switchboard bench: CreateTicket -> ticket.created applied by routing "
        f"({tickets} tickets, concurrency {concurrency}; latencies in ms)",
        _row([header for header, _, _, _ in _COLUMNS]),
    ]
    for result in results:
        values = {**dataclasses.asdict(result), "layout": layouts.TITLES[result.layout]}
        lines.append(_row([fmt.format(values[field]) for _, field, _, fmt in _COLUMNS]))
    return "\n".join(lines)


def _commit() -> str | None:
    git = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=RESULTS.parent, check=False)
    return git.stdout.strip() or None


def save(results: list[create_ticket.Result], args: argparse.Namespace, started: datetime) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{started:%Y%m%dT%H%M%SZ}.json"
    document = {
        "benchmark": "create_ticket_to_routing_task",
        "started_at": started.isoformat(),
        "tickets": args.tickets,
        "concurrency": args.concurrency,
        "warmup": args.warmup,
        # Figures only compare on like code and like machines: say which these were.
        "commit": _commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "results": [dataclasses.asdict(r) for r in results],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in COMMANDS:
        command: Callable[[list[str]], int] = importlib.import_module(COMMANDS[argv[0]]).main
        return command(argv[1:])
    return create_to_routing(argv)


def create_to_routing(argv: list[str]) -> int:
    args = parse(argv)
    # SIGTERM unwinds like Ctrl-C, so the database, vhost and temporary files are removed either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    started = datetime.now(UTC)
    chosen = list(layouts.LAYOUTS) if args.layout == "all" else [args.layout]
    results = []
    try:
        for layout in chosen:
            with layouts.running(layout) as suite:
                results.append(create_ticket.measure(suite, layout, args.tickets, args.concurrency, args.warmup))
    except KeyboardInterrupt:
        print("interrupted; everything the bench created is removed", file=sys.stderr)
        return 130
    print(table(results, args.tickets, args.concurrency))
    print(f"results: {save(results, args, started)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
