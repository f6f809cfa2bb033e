"""Who may take a task: the terms a worker must meet, and the check itself.

The task's own requirements always apply (each required skill at its level, the language, the team),
relaxed by the step in force; the queue's target expression narrows further. For a VIP task of a queue
with dedicated agents, a dedicated agent qualifies on the dedicated target alone: that desk serves the
customer whatever the topic, and an administrator who wants the language too writes it into the
expression (``task.language in worker.languages``).

Terms are a value: tasks with equal terms are admitted by exactly the same workers. The engine keeps its
waiting tasks grouped by terms so that a worker becoming free checks each group once instead of each task.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.routing.domain.expressions import Expression
from services.routing.domain.policy import QueuePolicy, Relaxation
from services.routing.domain.tasks import Task
from services.routing.domain.workers import Worker


@dataclass(frozen=True)
class Terms:
    channel: str
    # (skill, minimum level), by skill name, after relaxation.
    levels: tuple[tuple[str, int], ...]
    language: str
    # Empty: any team.
    teams: frozenset[str]
    target: Expression | None
    dedicated: Expression | None
    # The values of the task fields the expressions read: equal terms must mean equal answers.
    facts: tuple[object, ...]
    # The skills a regular worker must have, for a quick subset test before the full check.
    skills: frozenset[str] = field(default=frozenset(), compare=False)


def terms_for(task: Task, policy: QueuePolicy, step: int) -> Terms:
    relaxed = policy.relaxation(step)
    levels: dict[str, int] = {}
    for requirement in task.requirements:
        if requirement.skill in relaxed.drop_skills:
            continue
        level = max(1, requirement.min_level - relaxed.lower_levels_by)
        levels[requirement.skill] = max(level, levels.get(requirement.skill, 0))
    dedicated = policy.dedicated if policy.is_vip(task.tier) else None
    return Terms(
        channel=task.channel,
        levels=tuple(sorted(levels.items())),
        language=task.language,
        teams=_teams(task, relaxed),
        target=relaxed.target,
        dedicated=dedicated,
        facts=_facts(task, relaxed.target, dedicated),
        skills=frozenset(levels),
    )


def admits(terms: Terms, task: Task, worker: Worker) -> bool:
    """Whether ``worker`` qualifies for ``task`` under ``terms`` (presence, capacity and avoid aside)."""
    return regular(terms, task, worker) or dedicated(terms, task, worker)


def dedicated(terms: Terms, task: Task, worker: Worker) -> bool:
    return terms.dedicated is not None and terms.dedicated(task, worker)


def regular(terms: Terms, task: Task, worker: Worker) -> bool:
    skills = worker.skills
    for skill, level in terms.levels:
        if skills.get(skill, 0) < level:
            return False
    if terms.language and terms.language not in worker.languages:
        return False
    if terms.teams and terms.teams.isdisjoint(worker.teams):
        return False
    return terms.target is None or terms.target(task, worker)


def describe(terms: Terms) -> str:
    """The terms in words, for reasons and waiting explanations: "boiler>=4, speaking de, in team heating"."""
    parts = [f"{skill}>={level}" for skill, level in terms.levels]
    if terms.language:
        parts.append(f"speaking {terms.language}")
    if terms.teams:
        parts.append("in team " + " or ".join(sorted(terms.teams)))
    if terms.target is not None:
        parts.append(f"matching {terms.target.source!r}")
    parts.append(f"on {terms.channel}")
    return ", ".join(parts)


def _teams(task: Task, relaxed: Relaxation) -> frozenset[str]:
    if not task.team:
        return frozenset()
    return frozenset({task.team}) | relaxed.widen_to_teams


def _facts(task: Task, *expressions: Expression | None) -> tuple[object, ...]:
    if all(expression is None for expression in expressions):
        return ()
    fields = sorted({name for expression in expressions if expression is not None for name in expression.task_fields})
    return tuple(_hashable(_read(task, name)) for name in fields)


def _read(task: Task, name: str) -> object:
    if name == "skills":
        return {r.skill: r.min_level for r in task.requirements}
    return getattr(task, name)


def _hashable(value: object) -> object:
    if isinstance(value, Mapping):
        return tuple(sorted(value.items()))
    return value
