"""What a simulated call centre is made of (its calls, agents and queue) and the centres the benchmark runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from services.routing.domain.queues import Queue, Strategy
from services.routing.domain.tasks import Requirement


@dataclass(frozen=True)
class CallType:
    """One stream of calls: Poisson arrivals, exponential handle times, exponential patience."""

    name: str
    calls_per_hour: float
    # Mean handle time for an agent at the scenario's nominal speed (see Scenario.speed_by_level).
    handle_seconds: float
    requirements: tuple[Requirement, ...] = ()
    tier: str = "standard"
    priority: int = 3
    # Mean time a caller waits before hanging up; None: nobody hangs up.
    patience_seconds: float | None = None


@dataclass(frozen=True)
class AgentGroup:
    """``count`` agents with the same profile: peers, who should get equal shares of the work."""

    name: str
    count: int
    skills: Mapping[str, int]
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    call_types: tuple[CallType, ...]
    agents: tuple[AgentGroup, ...]
    queue: Queue
    # Ring time: an agent accepts an offer this long after it was made (0: at once).
    answer_delay_seconds: float = 0.0
    # Share of offers an agent lets ring out: the engine expires them, pauses the agent and offers again.
    missed_offer_share: float = 0.0
    # Handle time multiplier by the agent's proficiency in the call's first required skill; 1.0 when absent.
    speed_by_level: Mapping[int, float] = field(default_factory=dict)
    channel: str = "voice"
    # Tasks of the channel each agent takes at once (voice 1; chat several).
    capacity: int = 1

    def with_strategy(self, strategy: Strategy) -> Scenario:
        return replace(self, queue=replace(self.queue, strategy=strategy))


# Experts finish sooner: the trade-off best-skill routing makes (quicker calls, less even shares).
EXPERTS_ARE_QUICKER = {1: 1.3, 2: 1.15, 3: 1.0, 4: 0.9, 5: 0.8}


def erlang_c_example() -> Scenario:
    """The textbook M/M/c: 100 calls per 30 minutes, 180 s handle time, 14 agents, one skill.

    For the engine to be an M/M/c queue it must offer the moment an agent is free and nothing else may take
    an agent's time: no ring time, no wrap-up, no offer timeout, no pause, no aging (everyone ages alike,
    but it would only add ticks), no sticky or VIP rules.
    """
    return Scenario(
        name="erlang-c",
        description="1 skill, 100 calls/30 min, 180 s handle, 14 agents (M/M/14)",
        call_types=(
            CallType("support", calls_per_hour=200, handle_seconds=180, requirements=(Requirement("support"),)),
        ),
        agents=(AgentGroup("agent", 14, {"support": 3}),),
        queue=Queue(
            queue_id="support",
            name="Support",
            strategy=Strategy.LONGEST_IDLE,
            offer_to=1,
            offer_timeout_seconds=3600,
            missed_offer_pause_seconds=0,
            aging_seconds_per_level=0,
            vip_tiers=frozenset(),
            sticky_seconds=0,
            wrap_up_seconds=0,
            service_level_seconds=20,
        ),
    )


def two_skills() -> Scenario:
    """Billing and technical calls; specialists of each, and blended agents strong in one, weak in the other.

    Offered about 17.5 Erlangs of talk at nominal speed and 1 of wrap-up to 22 agents; callers hang up after
    3 minutes on average. Peer groups for fairness: the 7 billing, the 9 technical, each blended profile's 3.
    """
    return Scenario(
        name="two-skills",
        description="billing + technical, 22 agents (6 blended), 2 s ring, 15 s wrap-up, patience 180 s",
        call_types=(
            CallType("billing", 100, 240, (Requirement("billing"),), patience_seconds=180),
            CallType("technical", 130, 300, (Requirement("technical", 2),), patience_seconds=180),
        ),
        agents=(
            AgentGroup("billing", 7, {"billing": 3}),
            AgentGroup("technical", 9, {"technical": 3}),
            AgentGroup("blend-billing", 3, {"billing": 5, "technical": 2}),
            AgentGroup("blend-technical", 3, {"billing": 2, "technical": 5}),
        ),
        queue=Queue(
            queue_id="service",
            name="Service line",
            offer_timeout_seconds=15,
            missed_offer_pause_seconds=60,
            aging_seconds_per_level=0,
            vip_tiers=frozenset(),
            sticky_seconds=0,
            wrap_up_seconds=15,
            service_level_seconds=20,
        ),
        answer_delay_seconds=2.0,
        speed_by_level=EXPERTS_ARE_QUICKER,
    )


def vip_share() -> Scenario:
    """One skill, 15% of callers platinum: VIPs jump the line and the 4 seniors (level 5) are their desk.

    Priority ages so that standard callers are not starved. Offered about 16.7 Erlangs of talk at nominal
    speed and 0.6 of wrap-up to 20 agents. Peer groups for fairness: the 4 seniors, the 16 at level 3.
    """
    return Scenario(
        name="vip-share",
        description="1 skill, 15% platinum first, to 4 dedicated seniors of 20 agents, 10 s wrap-up, patience 120 s",
        call_types=(
            CallType("standard", 170, 300, (Requirement("support"),), patience_seconds=120),
            CallType("platinum", 30, 300, (Requirement("support"),), tier="platinum", patience_seconds=120),
        ),
        agents=(
            AgentGroup("senior", 4, {"support": 5}, attributes={"desk": "vip"}),
            AgentGroup("agent", 16, {"support": 3}),
        ),
        queue=Queue(
            queue_id="support",
            name="Support",
            offer_timeout_seconds=15,
            missed_offer_pause_seconds=60,
            aging_seconds_per_level=120,
            vip_tiers=frozenset({"platinum"}),
            dedicated_target='worker.attributes["desk"] == "vip"',
            sticky_seconds=0,
            wrap_up_seconds=10,
            service_level_seconds=20,
        ),
        answer_delay_seconds=2.0,
        speed_by_level=EXPERTS_ARE_QUICKER,
    )


def chat() -> Scenario:
    """Chats, three at once per agent: where least occupied (load over capacity) and longest idle part ways.

    Offered 40.5 Erlangs of chat at nominal speed to 16 agents with 48 slots; no wrap-up (an agent wrapping
    up one chat would be closed to all); customers leave after 5 minutes on average. Peer groups: the 4
    seniors, the 12 at level 3.
    """
    return Scenario(
        name="chat",
        description="chat, 3 at once, 16 agents (4 senior), 5 s pickup, no wrap-up, patience 300 s",
        call_types=(CallType("chat", 270, 540, (Requirement("support"),), patience_seconds=300),),
        agents=(AgentGroup("senior", 4, {"support": 5}), AgentGroup("agent", 12, {"support": 3})),
        queue=Queue(
            queue_id="chat",
            name="Chat",
            offer_timeout_seconds=30,
            missed_offer_pause_seconds=60,
            aging_seconds_per_level=0,
            vip_tiers=frozenset(),
            sticky_seconds=0,
            wrap_up_seconds=0,
            service_level_seconds=30,
        ),
        answer_delay_seconds=5.0,
        speed_by_level=EXPERTS_ARE_QUICKER,
        channel="chat",
        capacity=3,
    )


MULTI_SKILL = (two_skills, vip_share, chat)
