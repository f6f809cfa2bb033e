"""Queue expressions: small, safe boolean formulas over ``task`` and ``worker``.

A queue's filter (``task.tier in ["gold", "platinum"]``), target (``worker.skills["boiler"] >= 4 and
task.language in worker.languages``) and dedicated target (``worker.attributes["desk"] == "vip"``) are
written by administrators through the API, so they are never handed to ``eval``. They are parsed with
:mod:`ast`, only a whitelist of node kinds is accepted, every value is type-checked before the first
evaluation, and the tree is compiled once into nested closures.

The language:

- names: ``task`` and ``worker`` (a filter sees only ``task``), ``True``, ``False``;
- fields: ``task.`` task_id, customer_id, ticket_id, channel, tier, language, team, queue_id,
  last_agent (text), priority (number), escalated (yes/no), skills (required skill -> minimum level),
  avoid (set of worker ids), attributes (text -> text); ``worker.`` worker_id, name, kind, territory
  (text), skills (skill -> level), capacity (channel -> slots), languages, teams (sets of text),
  attributes (text -> text);
- ``mapping["key"]`` reads a value (0 or "" when the key is missing), ``skill(worker, "boiler")`` is the
  same as ``worker.skills["boiler"]``;
- comparisons (``== != < <= > >=``, chained), ``in`` / ``not in`` against a set, a mapping's keys or a
  literal list, and ``and`` / ``or`` / ``not``; text and number literals.

A bad expression raises :class:`ExpressionError` naming the column and the problem, which the API turns
into INVALID_ARGUMENT on the field that holds it.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from services.routing.domain.tasks import Task
from services.routing.domain.workers import Worker

MAX_LENGTH = 1000


class ExpressionError(ValueError):
    def __init__(self, column: int, problem: str) -> None:
        self.column, self.problem = column, problem
        super().__init__(f"column {column}: {problem}")


class Kind(Enum):
    TEXT = "text"
    NUMBER = "number"
    FLAG = "yes/no"
    TEXTS = "set of text"
    LEVELS = "mapping of text to number"
    LABELS = "mapping of text to text"
    LIST = "literal list"


_Fn = Callable[[Any, Any], Any]

# Field name -> (kind, reader). Readers take (task, worker) so that every compiled node has one shape.
_TASK_FIELDS: dict[str, tuple[Kind, _Fn]] = {
    "task_id": (Kind.TEXT, lambda t, w: t.task_id),
    "customer_id": (Kind.TEXT, lambda t, w: t.customer_id),
    "ticket_id": (Kind.TEXT, lambda t, w: t.ticket_id),
    "channel": (Kind.TEXT, lambda t, w: t.channel),
    "tier": (Kind.TEXT, lambda t, w: t.tier),
    "language": (Kind.TEXT, lambda t, w: t.language),
    "team": (Kind.TEXT, lambda t, w: t.team),
    "queue_id": (Kind.TEXT, lambda t, w: t.queue_id),
    "last_agent": (Kind.TEXT, lambda t, w: t.last_agent),
    "priority": (Kind.NUMBER, lambda t, w: t.priority),
    "escalated": (Kind.FLAG, lambda t, w: t.escalated),
    "skills": (Kind.LEVELS, lambda t, w: {r.skill: r.min_level for r in t.requirements}),
    "avoid": (Kind.TEXTS, lambda t, w: t.avoid),
    "attributes": (Kind.LABELS, lambda t, w: t.attributes),
}
_WORKER_FIELDS: dict[str, tuple[Kind, _Fn]] = {
    "worker_id": (Kind.TEXT, lambda t, w: w.worker_id),
    "name": (Kind.TEXT, lambda t, w: w.name),
    "kind": (Kind.TEXT, lambda t, w: str(w.kind)),
    "territory": (Kind.TEXT, lambda t, w: w.territory),
    "skills": (Kind.LEVELS, lambda t, w: w.skills),
    "capacity": (Kind.LEVELS, lambda t, w: w.capacity),
    "languages": (Kind.TEXTS, lambda t, w: w.languages),
    "teams": (Kind.TEXTS, lambda t, w: w.teams),
    "attributes": (Kind.LABELS, lambda t, w: w.attributes),
}
_FIELDS = {"task": _TASK_FIELDS, "worker": _WORKER_FIELDS}

_ORDERING: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_EQUALITY: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {ast.Eq: operator.eq, ast.NotEq: operator.ne}
_MEMBERSHIP: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_SCALARS = (Kind.TEXT, Kind.NUMBER, Kind.FLAG)
_CONTAINERS = (Kind.TEXTS, Kind.LEVELS, Kind.LABELS, Kind.LIST)


@dataclass(frozen=True)
class _Node:
    kind: Kind
    fn: _Fn
    # For literal lists: the kind of their items, so ``in`` can check the left side against it.
    item: Kind | None = None


@dataclass(frozen=True, eq=False)
class Expression:
    """A compiled expression. Compare by identity: each queue compiles its own."""

    source: str
    # The task fields the expression reads: tasks equal on these fields are admitted by the same workers,
    # which lets the engine evaluate a target once per group of like tasks instead of once per task.
    task_fields: frozenset[str]
    reads_worker: bool
    _fn: _Fn

    def __call__(self, task: Task | None, worker: Worker | None = None) -> bool:
        return bool(self._fn(task, worker))


def compile_expression(source: str, *, names: frozenset[str] = frozenset({"task", "worker"})) -> Expression:
    """Parse, check and compile ``source``; raises ExpressionError naming the column and the problem."""
    if len(source) > MAX_LENGTH:
        raise ExpressionError(MAX_LENGTH + 1, f"longer than {MAX_LENGTH} characters")
    # Leading blanks would be an indentation error to Python; skip them and count them back into columns.
    body = source.lstrip()
    indent = len(source) - len(body)
    try:
        tree = ast.parse(body, mode="eval")
        compiler = _Compiler(names)
        node = compiler.compile(tree.body)
    except SyntaxError as error:
        # CPython gives no offset when the text ends too soon ("task.priority =="): point past the end.
        raise ExpressionError(indent + (error.offset or len(body) + 1), f"syntax: {error.msg}") from None
    except ExpressionError as error:
        raise ExpressionError(indent + error.column, error.problem) from None
    if node.kind is not Kind.FLAG:
        raise ExpressionError(1, f"the expression is a {node.kind.value}, not a condition (yes/no)")
    return Expression(source, frozenset(compiler.task_fields), compiler.reads_worker, node.fn)


class _Compiler:
    def __init__(self, names: frozenset[str]) -> None:
        self.names = names
        self.task_fields: set[str] = set()
        self.reads_worker = False

    def compile(self, node: ast.expr) -> _Node:
        if isinstance(node, ast.BoolOp):
            return self._bool_op(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return self._literal_list(node)
        if isinstance(node, ast.Name):
            raise _error(node, f"'{node.id}' alone is not a value; use a field such as {node.id}.<field>")
        raise _error(node, f"{_describe(node)} is not allowed")

    def _flag(self, node: ast.expr) -> _Fn:
        compiled = self.compile(node)
        if compiled.kind is not Kind.FLAG:
            raise _error(node, f"expected a condition (yes/no), found a {compiled.kind.value}")
        return compiled.fn

    def _bool_op(self, node: ast.BoolOp) -> _Node:
        parts = tuple(self._flag(value) for value in node.values)
        if isinstance(node.op, ast.And):
            return _Node(Kind.FLAG, lambda t, w: all(part(t, w) for part in parts))
        return _Node(Kind.FLAG, lambda t, w: any(part(t, w) for part in parts))

    def _unary(self, node: ast.UnaryOp) -> _Node:
        if isinstance(node.op, ast.Not):
            operand = self._flag(node.operand)
            return _Node(Kind.FLAG, lambda t, w: not operand(t, w))
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            value = node.operand.value
            if isinstance(value, int | float) and not isinstance(value, bool):
                return _Node(Kind.NUMBER, lambda t, w: -value)
        raise _error(node, f"{_describe(node)} is not allowed")

    def _compare(self, node: ast.Compare) -> _Node:
        operands = [node.left, *node.comparators]
        compiled = [self.compile(operand) for operand in operands]
        links: list[tuple[Callable[[Any, Any], bool], _Fn, _Fn]] = []
        for index, op in enumerate(node.ops):
            left, right = compiled[index], compiled[index + 1]
            at = operands[index + 1]
            links.append((self._comparison(op, left, right, at), left.fn, right.fn))
        if len(links) == 1:
            test, left_fn, right_fn = links[0]
            return _Node(Kind.FLAG, lambda t, w: test(left_fn(t, w), right_fn(t, w)))
        return _Node(Kind.FLAG, lambda t, w: all(test(a(t, w), b(t, w)) for test, a, b in links))

    def _comparison(self, op: ast.cmpop, left: _Node, right: _Node, at: ast.expr) -> Callable[[Any, Any], bool]:
        kind = type(op)
        if kind in _MEMBERSHIP:
            if right.kind not in _CONTAINERS:
                raise _error(
                    at, f"'in' needs a set, a mapping or a literal list on its right, not a {right.kind.value}"
                )
            expected = {Kind.TEXTS: Kind.TEXT, Kind.LEVELS: Kind.TEXT, Kind.LABELS: Kind.TEXT}.get(
                right.kind, right.item
            )
            if expected is not None and left.kind is not expected:
                raise _error(at, f"'in' compares a {left.kind.value} with members that are {expected.value}")
            return _MEMBERSHIP[kind]
        if left.kind not in _SCALARS or right.kind is not left.kind:
            raise _error(at, f"cannot compare a {left.kind.value} with a {right.kind.value}")
        if kind in _EQUALITY:
            return _EQUALITY[kind]
        if kind in _ORDERING:
            if left.kind is Kind.FLAG:
                raise _error(at, "yes/no values cannot be ordered")
            return _ORDERING[kind]
        raise _error(at, f"the comparison '{_describe_op(op)}' is not allowed")

    def _constant(self, node: ast.Constant) -> _Node:
        value = node.value
        if isinstance(value, bool):
            return _Node(Kind.FLAG, lambda t, w: value)
        if isinstance(value, int | float):
            return _Node(Kind.NUMBER, lambda t, w: value)
        if isinstance(value, str):
            return _Node(Kind.TEXT, lambda t, w: value)
        raise _error(node, f"the literal {value!r} is not allowed (only text, numbers, True and False)")

    def _attribute(self, node: ast.Attribute) -> _Node:
        if not isinstance(node.value, ast.Name):
            raise _error(node, "fields are read one level deep, as task.<field> or worker.<field>")
        owner = node.value.id
        if owner not in self.names:
            raise _error(node.value, f"unknown name '{owner}' (known: {', '.join(sorted(self.names))})")
        fields = _FIELDS[owner]
        if node.attr not in fields:
            raise _error(node, f"{owner} has no field '{node.attr}' (known: {', '.join(sorted(fields))})")
        if owner == "task":
            self.task_fields.add(node.attr)
        else:
            self.reads_worker = True
        kind, reader = fields[node.attr]
        return _Node(kind, reader)

    def _subscript(self, node: ast.Subscript) -> _Node:
        container = self.compile(node.value)
        key = self.compile(node.slice)
        if container.kind not in (Kind.LEVELS, Kind.LABELS):
            raise _error(node, f"only mappings can be indexed, not a {container.kind.value}")
        if key.kind is not Kind.TEXT:
            raise _error(node.slice, f"a mapping is indexed by text, not a {key.kind.value}")
        read, key_fn = container.fn, key.fn
        if container.kind is Kind.LEVELS:
            return _Node(Kind.NUMBER, lambda t, w: read(t, w).get(key_fn(t, w), 0))
        return _Node(Kind.TEXT, lambda t, w: read(t, w).get(key_fn(t, w), ""))

    def _call(self, node: ast.Call) -> _Node:
        if not (isinstance(node.func, ast.Name) and node.func.id == "skill"):
            raise _error(node, 'the only function is skill(worker, "name")')
        if node.keywords or len(node.args) != 2:
            raise _error(node, 'skill takes two arguments: skill(worker, "name")')
        who, name = node.args
        if not (isinstance(who, ast.Name) and who.id == "worker" and "worker" in self.names):
            raise _error(who, "skill's first argument is worker")
        skill_name = self.compile(name)
        if skill_name.kind is not Kind.TEXT:
            raise _error(name, f"a skill is named by text, not a {skill_name.kind.value}")
        self.reads_worker = True
        name_fn = skill_name.fn
        return _Node(Kind.NUMBER, lambda t, w: w.skills.get(name_fn(t, w), 0))

    def _literal_list(self, node: ast.List | ast.Tuple | ast.Set) -> _Node:
        items: list[object] = []
        kinds: set[Kind] = set()
        for element in node.elts:
            if not isinstance(element, ast.Constant) or isinstance(element.value, bool):
                raise _error(element, "a literal list holds text or numbers only")
            if not isinstance(element.value, str | int | float):
                raise _error(element, f"the literal {element.value!r} is not allowed in a list")
            items.append(element.value)
            kinds.add(Kind.TEXT if isinstance(element.value, str) else Kind.NUMBER)
        if len(kinds) > 1:
            raise _error(node, "a literal list mixes text and numbers")
        members = frozenset(items)
        return _Node(Kind.LIST, lambda t, w: members, kinds.pop() if kinds else None)


def _error(node: ast.AST, problem: str) -> ExpressionError:
    return ExpressionError(getattr(node, "col_offset", 0) + 1, problem)


_NODE_NAMES: Mapping[type[ast.AST], str] = {
    ast.BinOp: "arithmetic",
    ast.Lambda: "a lambda",
    ast.IfExp: "a conditional expression",
    ast.Dict: "a dict literal",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.NamedExpr: "an assignment",
    ast.JoinedStr: "an f-string",
    ast.Starred: "unpacking",
    ast.Slice: "a slice",
    ast.Await: "await",
    ast.Yield: "yield",
}


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.UnaryOp):
        return "this unary operator"
    return _NODE_NAMES.get(type(node), type(node).__name__)


def _describe_op(op: ast.cmpop) -> str:
    return {ast.Is: "is", ast.IsNot: "is not"}.get(type(op), type(op).__name__)
