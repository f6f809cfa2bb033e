"""Queues and their policies: who may take a task, how requirements relax with waiting, and how one
worker is chosen among many."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Strategy(StrEnum):
    LONGEST_IDLE = "longest_idle"
    LEAST_OCCUPIED = "least_occupied"
    BEST_SKILL = "best_skill"
    ROUND_ROBIN = "round_robin"


@dataclass(frozen=True)
class Step:
    """From ``after_seconds`` of waiting on, the task's requirements relax like this (steps accumulate)."""

    after_seconds: int
    # Every required proficiency goes down by this much (never below 1).
    lower_levels_by: int = 0
    # These required skills no longer count.
    drop_skills: tuple[str, ...] = ()
    # Workers of these teams qualify too.
    widen_to_teams: tuple[str, ...] = ()
    # Replaces the queue's target expression from this step on; empty keeps it.
    target: str = ""
    # Move the task to this queue (it keeps its waiting time); empty stays.
    overflow_to: str = ""


@dataclass(frozen=True)
class Queue:
    queue_id: str
    name: str
    # Which tasks enter this queue (expression over ``task``); queues are tried in ``order``; "" matches all.
    filter: str = ""
    order: int = 0
    # Which workers may take its tasks (expression over ``task`` and ``worker``); "" means anyone who
    # has the required skills at the required levels, speaks the language and is in the task's team.
    target: str = ""
    steps: tuple[Step, ...] = ()
    strategy: Strategy = Strategy.LONGEST_IDLE
    # How many workers one offer goes to at once (1: one at a time).
    offer_to: int = 1
    offer_timeout_seconds: int = 30
    # An agent who lets an offer expire receives none for this long.
    missed_offer_pause_seconds: int = 60
    # Priority ages: one priority level per this many seconds of waiting (0: no aging).
    aging_seconds_per_level: int = 300
    # Tiers served first, by dedicated agents (``dedicated_target``) and without waiting.
    vip_tiers: frozenset[str] = frozenset({"platinum"})
    # Expression over ``worker`` naming the dedicated agents; "" means VIPs only jump the line.
    dedicated_target: str = ""
    # Sticky routing: the customer's last agent, when free, gets the task within this window of waiting.
    sticky_seconds: int = 60
    wrap_up_seconds: int = 30
    # Service level: answered within this many seconds.
    service_level_seconds: int = 20
    version: int = 0


DEFAULT_QUEUE = Queue(queue_id="default", name="Everything else", order=1_000_000)
