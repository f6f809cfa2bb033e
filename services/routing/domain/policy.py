"""A queue's policy checked and compiled once: its expressions and the relaxation in force at each step.

Steps accumulate: at step 2 the task's requirements are relaxed by steps 0, 1 and 2 together (levels
lowered by the sum, every dropped skill dropped, every widened team admitted, the latest target
replacing the queue's). A step that overflows moves the task to another queue, where the steps of that
queue count from the moment it arrived.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from services.routing.domain.expressions import Expression, ExpressionError, compile_expression
from services.routing.domain.queues import DEFAULT_QUEUE, Queue
from switchboard.errors import FieldViolation, InvalidArgument

MAX_OFFER_TO = 50
_TASK_ONLY = frozenset({"task"})


@dataclass(frozen=True)
class Relaxation:
    """What is relaxed at one step, all earlier steps included; step -1 is the queue's own terms."""

    step: int
    lower_levels_by: int = 0
    drop_skills: frozenset[str] = frozenset()
    widen_to_teams: frozenset[str] = frozenset()
    target: Expression | None = None
    overflow_to: str = ""

    def describe(self) -> str:
        parts = []
        if self.lower_levels_by:
            parts.append(f"levels lowered by {self.lower_levels_by}")
        if self.drop_skills:
            parts.append("without " + ", ".join(sorted(self.drop_skills)))
        if self.widen_to_teams:
            parts.append("also teams " + ", ".join(sorted(self.widen_to_teams)))
        return "; ".join(parts) or "no relaxation"


@dataclass(frozen=True, eq=False)
class QueuePolicy:
    queue: Queue
    filter: Expression | None
    dedicated: Expression | None
    # relaxations[0] is step -1 (the queue's own terms), relaxations[i + 1] is step i.
    relaxations: tuple[Relaxation, ...]

    @property
    def queue_id(self) -> str:
        return self.queue.queue_id

    def step_at(self, seconds_in_queue: float) -> int:
        step = -1
        for index, rule in enumerate(self.queue.steps):
            if rule.after_seconds > seconds_in_queue:
                break
            step = index
        return step

    def relaxation(self, step: int) -> Relaxation:
        return self.relaxations[step + 1]

    def next_step_seconds(self, step: int) -> int | None:
        """Seconds in the queue at which the step after ``step`` comes into force; None after the last."""
        following = step + 1
        return self.queue.steps[following].after_seconds if following < len(self.queue.steps) else None

    def is_vip(self, tier: str) -> bool:
        return tier in self.queue.vip_tiers


def compile_queues(queues: Iterable[Queue]) -> dict[str, QueuePolicy]:
    """Every queue checked and compiled; the default queue is added when missing so no task is unroutable."""
    given = list(queues)
    ids = [queue.queue_id for queue in given]
    duplicates = sorted({queue_id for queue_id in ids if ids.count(queue_id) > 1})
    if duplicates:
        raise InvalidArgument([FieldViolation("queues", f"queue {duplicates[0]!r} is given twice")])
    if DEFAULT_QUEUE.queue_id not in ids:
        given.append(DEFAULT_QUEUE)
    known = {queue.queue_id for queue in given}
    policies = {}
    for queue in given:
        try:
            policies[queue.queue_id] = compile_queue(queue, known)
        except InvalidArgument as error:
            raise InvalidArgument(
                [FieldViolation(f"queues[{queue.queue_id}].{v.field}", v.description) for v in error.violations]
            ) from None
    return policies


def compile_queue(queue: Queue, queue_ids: Collection[str]) -> QueuePolicy:
    """Check ``queue`` against the known queue ids; raises InvalidArgument naming every bad field."""
    violations = _check_numbers(queue)
    filter_ = _expression(queue.filter, "filter", _TASK_ONLY, violations)
    target = _expression(queue.target, "target", frozenset({"task", "worker"}), violations)
    dedicated = _expression(queue.dedicated_target, "dedicated_target", frozenset({"task", "worker"}), violations)
    relaxations = [Relaxation(step=-1, target=target)]
    previous_after = 0
    for index, step in enumerate(queue.steps):
        field = f"steps[{index}]"
        if step.after_seconds < previous_after:
            violations.append(FieldViolation(f"{field}.after_seconds", "steps must come in order of waiting time"))
        previous_after = max(previous_after, step.after_seconds)
        if step.lower_levels_by < 0:
            violations.append(FieldViolation(f"{field}.lower_levels_by", "must not be negative"))
        if step.overflow_to and (step.overflow_to not in queue_ids or step.overflow_to == queue.queue_id):
            violations.append(FieldViolation(f"{field}.overflow_to", f"no other queue {step.overflow_to!r}"))
        step_target = _expression(step.target, f"{field}.target", frozenset({"task", "worker"}), violations)
        last = relaxations[-1]
        relaxations.append(
            Relaxation(
                step=index,
                lower_levels_by=last.lower_levels_by + max(step.lower_levels_by, 0),
                drop_skills=last.drop_skills | frozenset(step.drop_skills),
                widen_to_teams=last.widen_to_teams | frozenset(step.widen_to_teams),
                target=step_target or last.target,
                overflow_to=step.overflow_to,
            )
        )
    if violations:
        raise InvalidArgument(violations)
    return QueuePolicy(queue=queue, filter=filter_, dedicated=dedicated, relaxations=tuple(relaxations))


def _check_numbers(queue: Queue) -> list[FieldViolation]:
    violations = []
    if not queue.queue_id:
        violations.append(FieldViolation("queue_id", "must not be empty"))
    if not 1 <= queue.offer_to <= MAX_OFFER_TO:
        violations.append(FieldViolation("offer_to", f"must be 1 to {MAX_OFFER_TO}"))
    if queue.offer_timeout_seconds < 1:
        violations.append(FieldViolation("offer_timeout_seconds", "must be at least 1"))
    for name in (
        "missed_offer_pause_seconds",
        "aging_seconds_per_level",
        "sticky_seconds",
        "wrap_up_seconds",
        "service_level_seconds",
    ):
        if getattr(queue, name) < 0:
            violations.append(FieldViolation(name, "must not be negative"))
    return violations


def _expression(source: str, field: str, names: frozenset[str], violations: list[FieldViolation]) -> Expression | None:
    if not source.strip():
        return None
    try:
        return compile_expression(source, names=names)
    except ExpressionError as error:
        violations.append(FieldViolation(field, str(error)))
        return None
