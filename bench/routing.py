"""``python -m bench routing``: the routing engine in a simulated call centre, and its decision latency.

Three parts, each printed as a table (progress on stderr) and written together as JSON to bench/results/:

* erlang: one skill, Poisson arrivals, exponential handle times, the engine offering the moment an agent
  is free: an M/M/c queue, whose P(wait), ASA and service level Erlang C gives exactly. The simulation,
  driving the real engine, must land within 1 percentage point of P(wait) and of the service level, and
  within 0.45 s of ASA: the ASA shift a 1-point error in P(wait) would cause, since ASA = P(wait) x
  E[wait | wait] and E[wait | wait] = handle / (agents - load) = 45 s in the example. Replications are
  independent (one seed each), so their spread gives honest 95% confidence intervals.
* strategies: the multi-skill scenarios (bench/callcentre/scenarios.py) under each of the four
  strategies, the same callers for each (common random numbers): ASA, service level, abandonment,
  occupancy, and fairness as the worst Jain's index over groups of equally skilled agents.
* latency: per-decision wall time with 10,000 agents and 100,000 waiting tasks, and the engine's memory.

Exits 1 when the simulation misses Erlang C's tolerance or catches the engine breaking a promise (a
call lost, a task assigned twice, an agent over capacity). ``--quick`` shrinks every part for a smoke
check in well under a minute; its figures are not the ones to quote.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.arguments import at_least
from bench.callcentre import erlang, latency, scenarios, simulator
from bench.callcentre.estimates import Estimate, estimate
from bench.callcentre.scenarios import Scenario
from bench.progress import Progress
from services.routing.domain.queues import Strategy

RESULTS = Path(__file__).parent / "results"
PARTS = ("erlang", "strategies", "latency")
# See the module's docstring: percentage points for P(wait) and service level, seconds for ASA.
POINTS_TOLERANCE = 1.0
ASA_TOLERANCE_SECONDS = 0.45
# The issue's target for one decision with 10,000 agents and 100,000 waiting tasks.
P99_TARGET_US = 5000

# What each part runs unless told otherwise: the full run (about 5,000 measured hours of the Erlang C queue,
# a million calls, for intervals of about 0.3 points), and --quick.
_FULL = {
    "replications": 40,
    "hours": 126.0,
    "strategy_replications": 10,
    "strategy_hours": 24.0,
    "agents": 10_000,
    "waiting": 100_000,
    "rounds": 2_000,
}
_QUICK = {
    "replications": 5,
    "hours": 10.0,
    "strategy_replications": 4,
    "strategy_hours": 4.0,
    "agents": 1_000,
    "waiting": 10_000,
    "rounds": 300,
}


@dataclass(frozen=True)
class Check:
    measure: str
    analytic: float
    simulated: Estimate
    tolerance: float
    unit: str

    @property
    def difference(self) -> float:
        return self.simulated.mean - self.analytic

    @property
    def verdict(self) -> str:
        """Within the tolerance: yes or NO; "too short" when the run's interval is wider than the tolerance."""
        if self.simulated.half_width > self.tolerance:
            return "too short"
        return "yes" if abs(self.difference) <= self.tolerance else "NO"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench routing", description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=(*PARTS, "all"), default="all")
    parser.add_argument("--quick", action="store_true", help="small runs for a smoke check (under a minute)")
    parser.add_argument("--seed", type=int, default=1, help="first seed; replication i uses seed + i (default 1)")
    parser.add_argument("--replications", type=at_least(4), help="Erlang C replications (default 40, quick 5)")
    parser.add_argument("--hours", type=float, help="simulated hours of calls per Erlang C replication (default 126)")
    parser.add_argument(
        "--jobs", type=at_least(1), default=os.cpu_count() or 1, help="simulations run in parallel (default: CPUs)"
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="hours not measured at the start (default 1)")
    parser.add_argument(
        "--strategy-replications", type=at_least(4), help="replications per scenario and strategy (default 10)"
    )
    parser.add_argument("--strategy-hours", type=float, help="simulated hours per strategy replication (default 24)")
    parser.add_argument("--agents", type=at_least(2), help="agents in the latency part (default 10000)")
    parser.add_argument("--waiting", type=at_least(1), help="waiting tasks in the latency part (default 100000)")
    parser.add_argument("--rounds", type=at_least(1), help="measured rounds of decisions (default 2000)")
    parser.add_argument(
        "--trace-memory", action="store_true", help="also count the engine's memory with tracemalloc (slower fill)"
    )
    args = parser.parse_args(argv)
    for name, value in (_QUICK if args.quick else _FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def _pct(estimate_: Estimate) -> str:
    return f"{estimate_.mean * 100:6.2f}% ± {estimate_.half_width * 100:.2f}"


def simulate_all(
    runs: list[tuple[Scenario, int]], args: argparse.Namespace, hours: float, label: str, progress: Progress
) -> list[simulator.Outcome]:
    """Each (scenario, seed) simulated in its own process, ``--jobs`` at a time; outcomes in the order given."""
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            pool.submit(simulator.simulate, scenario, hours=hours, warmup_hours=args.warmup, seed=seed)
            for scenario, seed in runs
        ]
        for done, _ in enumerate(as_completed(futures), 1):
            progress.show(f"{label}: {done}/{len(runs)} runs", final=done == len(runs))
        return [future.result() for future in futures]


def run_erlang(args: argparse.Namespace, progress: Progress) -> tuple[list[Check], list[simulator.Outcome]]:
    scenario = scenarios.erlang_c_example()
    (calls,) = scenario.call_types
    staffing = erlang.Staffing(calls.calls_per_hour / 3600, calls.handle_seconds, sum(g.count for g in scenario.agents))
    target = scenario.queue.service_level_seconds
    runs = [(scenario, args.seed + i) for i in range(args.replications)]
    outcomes = simulate_all(runs, args, args.hours, "erlang", progress)
    points = POINTS_TOLERANCE / 100
    checks = [
        Check("P(wait)", erlang.probability_of_waiting(staffing), estimate([o.p_wait for o in outcomes]), points, "%"),
        Check(
            "ASA",
            erlang.average_speed_of_answer(staffing),
            estimate([o.asa_seconds for o in outcomes]),
            ASA_TOLERANCE_SECONDS,
            "s",
        ),
        Check(
            f"answered within {target} s",
            erlang.service_level(staffing, target),
            estimate([o.service_level for o in outcomes]),
            points,
            "%",
        ),
    ]
    return checks, outcomes


def erlang_table(checks: list[Check], outcomes: list[simulator.Outcome], args: argparse.Namespace) -> str:
    scenario = scenarios.erlang_c_example()
    occupancy = estimate([o.occupancy for o in outcomes])
    (calls,) = scenario.call_types
    load = calls.calls_per_hour / 3600 * calls.handle_seconds / sum(g.count for g in scenario.agents)
    lines = [
        f"Erlang C vs the routing engine in a simulated call centre: {scenario.description}",
        f"{len(outcomes)} replications x {args.hours - args.warmup:g} h measured (after {args.warmup:g} h warm-up), "
        f"{sum(o.calls for o in outcomes):,} calls; simulated = mean ± 95% CI half-width",
        f"{'measure':<22} {'Erlang C':>9} {'simulated':>18} {'diff':>10} {'tolerance':>10} "
        f"{'CI covers':>9} {'within':>9}",
    ]
    for c in checks:
        if c.unit == "%":
            analytic, simulated = f"{c.analytic * 100:.2f}%", _pct(c.simulated)
            diff, tolerance = f"{c.difference * 100:+.2f} pp", f"{c.tolerance * 100:g} pp"
        else:
            analytic = f"{c.analytic:.2f} s"
            simulated = f"{c.simulated.mean:6.2f} s ± {c.simulated.half_width:.2f}"
            diff, tolerance = f"{c.difference:+.2f} s", f"{c.tolerance:g} s"
        covers = "yes" if c.simulated.covers(c.analytic) else "no"
        lines.append(
            f"{c.measure:<22} {analytic:>9} {simulated:>18} {diff:>10} {tolerance:>10} {covers:>9} {c.verdict:>9}"
        )
    lines.append(f"{'occupancy':<22} {load * 100:>8.2f}% {_pct(occupancy):>18}")
    return "\n".join(lines)


def engine_stats_line(outcomes: list[simulator.Outcome]) -> str:
    """The engine's own QueueStats at the end of each run against what its callers experienced."""
    queue_id = scenarios.erlang_c_example().queue.queue_id
    gaps_asa, gaps_level, miscounted = [], [], 0
    for o in outcomes:
        stats = o.engine_stats[queue_id]
        gaps_asa.append(abs(stats["average_speed_of_answer_seconds"] - o.whole_run_asa_seconds))
        gaps_level.append(abs(stats["service_level_percent"] - o.whole_run_service_level_of_answered * 100))
        miscounted += (stats["answered"], stats["abandoned"]) != (o.answered, o.abandoned)
    return (
        f"engine QueueStats vs the callers, whole runs: ASA differs by at most {max(gaps_asa):.3f} s, "
        f"service level by at most {max(gaps_level):.3f} pp; answered/abandoned miscounted in {miscounted} runs"
    )


def run_strategies(args: argparse.Namespace, progress: Progress) -> list[simulator.Outcome]:
    runs = [
        (build().with_strategy(strategy), args.seed + i)
        for build in scenarios.MULTI_SKILL
        for strategy in Strategy
        for i in range(args.strategy_replications)
    ]
    return simulate_all(runs, args, args.strategy_hours, "strategies", progress)


def strategies_table(outcomes: list[simulator.Outcome], args: argparse.Namespace) -> str:
    lines = [
        "Strategies on multi-skill scenarios: same callers for every strategy; mean ± 95% CI over "
        f"{args.strategy_replications} replications x {args.strategy_hours - args.warmup:g} h measured",
        "Jain = worst Jain's index over groups of equally skilled agents (1 = equal shares), of calls and of busy time",
        f"{'scenario':<11} {'strategy':<15} {'calls':>7} {'ASA s':>12} {'SL %':>14} {'aband %':>8} {'occ %':>6} "
        f"{'Jain calls':>10} {'Jain busy':>9}  ASA s by call type",
    ]
    for build in scenarios.MULTI_SKILL:
        scenario = build()
        lines.append(f"{scenario.name}: {scenario.description}")
        for strategy in Strategy:
            runs = [o for o in outcomes if o.scenario == scenario.name and o.strategy == strategy]
            asa, level = estimate([o.asa_seconds for o in runs]), estimate([o.service_level for o in runs])
            by_type = ", ".join(
                f"{t.name} {estimate([o.asa_by_type[t.name] for o in runs]).mean:.1f}" for t in scenario.call_types
            )
            lines.append(
                f"{'':<11} {strategy:<15} {sum(o.calls for o in runs):>7} "
                f"{asa.mean:>6.1f} ± {asa.half_width:<3.1f} {_pct(level):>14} "
                f"{estimate([o.abandon_rate for o in runs]).mean * 100:>8.2f} "
                f"{estimate([o.occupancy for o in runs]).mean * 100:>6.1f} "
                f"{estimate([o.jain_handled for o in runs]).mean:>10.4f} "
                f"{estimate([o.jain_busy for o in runs]).mean:>9.4f}  {by_type}"
            )
    return "\n".join(lines)


def shares_table(outcomes: list[simulator.Outcome], args: argparse.Namespace) -> str:
    """Calls each agent of a group handled per measured hour: where a strategy sends the work."""
    lines = ["Calls per agent per measured hour, by agent group (mean over replications)"]
    measured = args.strategy_hours - args.warmup
    for build in scenarios.MULTI_SKILL:
        scenario = build()
        group_of = {f"{g.name}-{n:03d}": g for g in scenario.agents for n in range(1, g.count + 1)}
        lines.append(f"{scenario.name}: " + ", ".join(f"{g.name} ({g.count})" for g in scenario.agents))
        for strategy in Strategy:
            runs = [o for o in outcomes if o.scenario == scenario.name and o.strategy == strategy]
            per_group = {g.name: 0 for g in scenario.agents}
            for run in runs:
                for agent_id, handled in run.handled_by_agent.items():
                    per_group[group_of[agent_id].name] += handled
            cells = [f"{g.name} {per_group[g.name] / (len(runs) * measured * g.count):.2f}" for g in scenario.agents]
            lines.append(f"  {strategy:<15} " + ", ".join(cells))
    return "\n".join(lines)


def latency_table(load: latency.Load) -> str:
    memory = f"RSS +{load.rss_mb:.0f} MB" + (f", tracemalloc {load.traced_mb:.0f} MB" if load.traced_mb else "")
    lines = [
        f"Decision latency: {load.agents:,} agents ({load.free_agents} kept free), {load.waiting:,} tasks waiting; "
        f"filled in {load.fill_seconds:.1f} s; engine memory: {memory}",
        f"wall = what the caller waits (includes preemption: load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} CPUs at the end); cpu = the thread's CPU time, the engine's own cost",
        f"{'engine call':<42} {'count':>7} {'wall p50':>9} {'wall p99':>9} {'wall max':>9} "
        f"{'cpu p50':>8} {'cpu p99':>8}  cpu p99 < 5 ms",
    ]
    for row in [*load.latencies, *load.quiet]:
        lines.append(
            f"{row.decision:<42} {row.count:>7} {row.p50_us:>6.0f} µs {row.p99_us:>6.0f} µs {row.max_us:>6.0f} µs "
            f"{row.cpu_p50_us:>5.0f} µs {row.cpu_p99_us:>5.0f} µs  {'yes' if row.cpu_p99_us < P99_TARGET_US else 'NO'}"
        )
    return "\n".join(lines)


def promises_line(outcomes: list[simulator.Outcome]) -> tuple[str, bool]:
    """Every call accounted for, no promise broken: the line to print and whether all held."""
    arrivals = sum(o.arrivals for o in outcomes)
    answered, abandoned = sum(o.answered for o in outcomes), sum(o.abandoned for o in outcomes)
    waiting = sum(o.still_waiting for o in outcomes)
    violations = [v for o in outcomes for v in o.violations]
    line = (
        f"calls: {arrivals:,} arrived = {answered:,} answered + {abandoned:,} abandoned + {waiting:,} never answered "
        f"(lost); promises broken (double assignment, capacity): {len(violations)}"
    )
    if violations:
        line += "\n  " + "\n  ".join(violations[:10])
    return line, waiting == 0 and not violations


def _commit() -> str | None:
    git = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=RESULTS.parent, check=False)
    return git.stdout.strip() or None


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = datetime.now(UTC)
    parts = PARTS if args.part == "all" else (args.part,)
    progress = Progress()
    document: dict[str, Any] = {
        "benchmark": "routing",
        "started_at": started.isoformat(),
        "args": vars(args),
        "commit": _commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    tables, healthy = [], True
    if "erlang" in parts:
        checks, outcomes = run_erlang(args, progress)
        line, held = promises_line(outcomes)
        tables.append(f"{erlang_table(checks, outcomes, args)}\n{engine_stats_line(outcomes)}\n{line}")
        healthy = healthy and held and all(c.verdict != "NO" for c in checks)
        document["erlang"] = {
            "checks": [{**dataclasses.asdict(c), "difference": c.difference, "verdict": c.verdict} for c in checks],
            "outcomes": [dataclasses.asdict(o) for o in outcomes],
        }
    if "strategies" in parts:
        outcomes = run_strategies(args, progress)
        line, held = promises_line(outcomes)
        tables.append(f"{strategies_table(outcomes, args)}\n{line}\n\n{shares_table(outcomes, args)}")
        healthy = healthy and held
        document["strategies"] = [dataclasses.asdict(o) for o in outcomes]
    if "latency" in parts:
        load = latency.measure(
            args.agents,
            args.waiting,
            args.rounds,
            args.seed,
            # 1% of the agents: they stay free since no waiting task is for them.
            free_agents=max(1, args.agents // 100),
            trace=args.trace_memory,
        )
        tables.append(latency_table(load))
        document["latency"] = dataclasses.asdict(load)
    print("\n\n".join(tables))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"routing-{started:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"results: {path}", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
