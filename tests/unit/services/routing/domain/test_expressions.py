"""Queue expressions as specifications: what they may say about a task and a worker, and how a bad one
is refused with the column and the problem."""

from __future__ import annotations

import pytest

from services.routing.domain.expressions import ExpressionError, compile_expression
from tests.unit.services.routing.domain.routing_builders import agent, task

HEATING_DE = task(
    "t1", skills={"boiler": 4}, language="de", team="heating", tier="gold", attributes={"region": "north"}
)
ANNA = agent(
    "anna",
    skills={"boiler": 5, "gas": 3},
    languages=("de", "en"),
    teams=("heating",),
    attributes={"region": "north", "desk": "vip"},
)
BEN = agent("ben", skills={"boiler": 2}, languages=("en",), teams=("plumbing",), attributes={"region": "south"})


@pytest.mark.parametrize(
    ("source", "anna", "ben"),
    [
        ('worker.skills["boiler"] >= 4', True, False),
        ('skill(worker, "boiler") >= 4 and skill(worker, "gas") > 0', True, False),
        ("task.language in worker.languages", True, False),
        ("task.team in worker.teams or 'plumbing' in worker.teams", True, True),
        ('worker.attributes["region"] == task.attributes["region"]', True, False),
        ('not worker.attributes["desk"] == "vip"', False, True),
        ('"gas" not in worker.skills', False, True),
        ("2 <= worker.skills['boiler'] < 5", False, True),
        ('worker.skills["boiler"] >= task.skills["boiler"]', True, False),
        ('worker.worker_id in ["ben", "carl"]', False, True),
    ],
)
def test_a_target_expression_reads_the_task_and_the_worker(source: str, anna: bool, ben: bool) -> None:
    target = compile_expression(source)

    assert (target(HEATING_DE, ANNA), target(HEATING_DE, BEN)) == (anna, ben)


def test_a_missing_key_reads_as_zero_or_empty() -> None:
    target = compile_expression('worker.skills["welding"] == 0 and worker.attributes["shift"] == ""')

    assert target(HEATING_DE, ANNA)


def test_a_filter_sees_only_the_task() -> None:
    vip = compile_expression('task.tier in ["gold", "platinum"] and task.priority <= 2', names=frozenset({"task"}))

    assert not vip(HEATING_DE)
    with pytest.raises(ExpressionError, match="column 9: unknown name 'worker' \\(known: task\\)"):
        compile_expression('"de" in worker.languages', names=frozenset({"task"}))


def test_an_expression_knows_the_task_fields_it_reads() -> None:
    target = compile_expression('task.language in worker.languages and worker.attributes["r"] == task.attributes["r"]')

    assert target.task_fields == {"language", "attributes"}
    assert target.reads_worker


@pytest.mark.parametrize(
    ("source", "column", "problem"),
    [
        ("task.language ==", 17, "syntax"),
        ("task.__class__ == 'x'", 1, "task has no field '__class__'"),
        ("worker.skills['boiler'] + 1 > 3", 1, "arithmetic is not allowed"),
        ("__import__('os').system('ls')", 1, "the only function is skill"),
        ("task.priority == 'high'", 18, "cannot compare a number with a text"),
        ("task.language in task.priority", 18, "'in' needs a set, a mapping or a literal list"),
        ("task.priority in worker.languages", 18, "'in' compares a number with members that are text"),
        ("worker.skills", 1, "not a condition"),
        ("task.language", 1, "not a condition"),
        ("task.priority > 2 and task.language", 23, "expected a condition"),
        ("task.language[0] == 'd'", 1, "only mappings can be indexed"),
        ("worker.skills[1] > 2", 15, "a mapping is indexed by text"),
        ("task", 1, "'task' alone is not a value"),
        ("task.tier in ['gold', 2]", 14, "mixes text and numbers"),
        ("task.priority is 1", 18, "'is' is not allowed"),
        ("skill(task, 'boiler') > 2", 7, "skill's first argument is worker"),
        ("x.y == 1", 1, "unknown name 'x'"),
        ("  task.bogus == 1", 3, "task has no field 'bogus'"),
        ("[t for t in task.avoid]", 1, "a comprehension is not allowed"),
    ],
)
def test_a_bad_expression_names_the_column_and_the_problem(source: str, column: int, problem: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)

    assert caught.value.column == column
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"column {column}: ")


def test_an_overlong_expression_is_refused() -> None:
    with pytest.raises(ExpressionError, match="longer than 1000 characters"):
        compile_expression(" or ".join(["task.priority == 1"] * 100))
