"""Queue policies as specifications: relaxation steps accumulate, and a broken queue is refused field by
field so the API can answer INVALID_ARGUMENT naming each."""

from __future__ import annotations

import pytest

from services.routing.domain.policy import compile_queue, compile_queues
from services.routing.domain.queues import Step
from switchboard.errors import InvalidArgument
from tests.unit.services.routing.domain.routing_builders import queue


def test_relaxation_steps_accumulate() -> None:
    policy = compile_queue(
        queue(
            target='worker.attributes["site"] == "berlin"',
            steps=(
                Step(after_seconds=30, lower_levels_by=1),
                Step(after_seconds=60, drop_skills=("gas",), widen_to_teams=("plumbing",)),
                Step(after_seconds=90, lower_levels_by=1, target="True"),
            ),
        ),
        {"support"},
    )

    assert [policy.step_at(seconds) for seconds in (0, 29.9, 30, 75, 90, 10_000)] == [-1, -1, 0, 1, 2, 2]
    last = policy.relaxation(2)
    assert (last.lower_levels_by, last.drop_skills, last.widen_to_teams) == (
        2,
        frozenset({"gas"}),
        frozenset({"plumbing"}),
    )
    assert last.target is not None and last.target.source == "True"
    assert policy.relaxation(1).target is policy.relaxation(-1).target
    assert policy.relaxation(1).describe() == "levels lowered by 1; without gas; also teams plumbing"
    assert policy.next_step_seconds(-1) == 30
    assert policy.next_step_seconds(2) is None


def test_the_default_queue_is_always_there() -> None:
    assert set(compile_queues([queue("heating", filter='task.team == "heating"')])) == {"heating", "default"}


def test_a_broken_queue_names_every_bad_field() -> None:
    broken = queue(
        target="worker.skills['boiler'] >=",
        dedicated_target="worker.bogus",
        filter="worker.teams",
        offer_to=0,
        offer_timeout_seconds=0,
        wrap_up_seconds=-1,
        steps=(
            Step(after_seconds=60, overflow_to="nowhere"),
            Step(after_seconds=30, lower_levels_by=-1, target="task.priority + 1 > 2"),
        ),
    )

    with pytest.raises(InvalidArgument) as caught:
        compile_queue(broken, {"support", "default"})

    assert {violation.field for violation in caught.value.violations} == {
        "target",
        "dedicated_target",
        "filter",
        "offer_to",
        "offer_timeout_seconds",
        "wrap_up_seconds",
        "steps[0].overflow_to",
        "steps[1].after_seconds",
        "steps[1].lower_levels_by",
        "steps[1].target",
    }
    by_field = {violation.field: violation.description for violation in caught.value.violations}
    assert by_field["filter"] == "column 1: unknown name 'worker' (known: task)"
    assert by_field["steps[1].target"] == "column 1: arithmetic is not allowed"


def test_a_queue_may_not_overflow_to_itself_or_appear_twice() -> None:
    with pytest.raises(InvalidArgument, match=r"queues\[support\]\.steps\[0\]\.overflow_to: no other queue"):
        compile_queues([queue(steps=(Step(after_seconds=10, overflow_to="support"),))])
    with pytest.raises(InvalidArgument, match="queue 'support' is given twice"):
        compile_queues([queue(), queue()])
