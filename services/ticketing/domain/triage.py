"""Triage: the desk's ordered rules that classify a new ticket before anyone reads it.

A rule has conditions (words in the subject or description, channel, customer tier, product)
and actions (category, team, required skills, priority). The policy, chosen so that
cross-cutting rules ("gold customers go up a priority") combine with the rules that say what
the problem is instead of shadowing them:

- Every rule whose conditions all hold applies, in order; a rule with ``stop`` ends triage
  after it applies.
- Category and team: the first applied rule that sets one wins. Required skills: the rules'
  skills are added to the requester's, in order, without repeats.
- Priority: the most urgent ``priority`` among the applied rules (so an urgent rule is never
  shadowed by a milder one written above it), then made more urgent by the largest
  ``raise_priority`` among them (largest, not summed: rules written independently must not
  compound into P1 by overlapping). A raise applies to P3 when no rule set a priority; P1 is
  the ceiling.
- What the requester set explicitly (category, team, priority) wins over every rule: an agent
  on the phone knows more than a keyword list. A device fault arrives with P2 set, so rules
  classify it but leave its priority.
- Words match case-insensitively on whole words: "leak" matches "Leak!" but not "leaking";
  "leak*" matches "leak", "leaks", "leaking". A phrase ("no heat") matches those words in a row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import NamedTuple

from services.ticketing.domain.tickets import CHANNELS, DEFAULT_PRIORITY, TIERS, NewTicket
from switchboard.errors import FieldViolation, InvalidArgument

# The values switchboard.common.v1 names; the domain keeps its own copy to stay free of protobuf.

MAX_RULES = 200
MAX_KEYWORDS = 50
MAX_KEYWORD_LEN = 100
MAX_PATTERNS = 20
MAX_SKILLS = 20
MAX_NOTE_LEN = 500
# A prefix shorter than this ("e*") matches nearly any text.
MIN_PREFIX_LEN = 3
# tickets.triage_rule is a String(64): the names of the rules that applied must fit in it.
RECORD_MAX = 255
NAME_MAX = 48

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,47}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_PATTERN = re.compile(r"^[A-Za-z0-9*?_.:/-]{1,64}$")
_WORD = re.compile(r"\w+")
_TERM = re.compile(r"\w+\*?")
_STRAY_STAR = re.compile(r"(?<!\w)\*|\*(?=\w)")


@dataclass(frozen=True)
class TriageRule:
    """One rule. Conditions left empty do not constrain; at least one must be given.

    Conditions: ``any_keywords`` (one of them appears), ``all_keywords`` (each appears),
    ``none_keywords`` (none appears), ``channels``, ``tiers`` (the customer's tier must be one of
    them; a customer without a known tier matches no tier list) and ``asset_patterns`` (glob
    patterns, case-insensitive, for the asset id: "WM-*" is every washing machine).
    """

    name: str
    note: str = ""
    any_keywords: tuple[str, ...] = ()
    all_keywords: tuple[str, ...] = ()
    none_keywords: tuple[str, ...] = ()
    channels: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    asset_patterns: tuple[str, ...] = ()
    category: str = ""
    team: str = ""
    required_skills: tuple[str, ...] = ()
    # 1 (P1, most urgent) to 4; None leaves the priority to other rules or the default.
    priority: int | None = None
    # Steps more urgent: 1 turns P3 into P2.
    raise_priority: int = 0
    stop: bool = False

    @property
    def has_conditions(self) -> bool:
        return bool(
            self.any_keywords
            or self.all_keywords
            or self.none_keywords
            or self.channels
            or self.tiers
            or self.asset_patterns
        )

    @property
    def has_actions(self) -> bool:
        return bool(
            self.category or self.team or self.required_skills or self.priority or self.raise_priority or self.stop
        )


@dataclass(frozen=True)
class Ruleset:
    """The rules in force, at the version a replacement must name (0: none were ever set)."""

    version: int
    rules: tuple[TriageRule, ...] = ()
    updated_by: str = ""
    updated_at: datetime | None = None


NO_RULES = Ruleset(version=0)


# -- Validation ------------------------------------------------------------------------------


def validate(rules: Sequence[TriageRule]) -> None:
    """Raise InvalidArgument naming every broken field, as ``rules[2].any_keywords[0]``."""
    found: list[FieldViolation] = []
    if len(rules) > MAX_RULES:
        found.append(FieldViolation("rules", f"at most {MAX_RULES} rules; got {len(rules)}"))
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        at = f"rules[{index}]"
        found += _rule_violations(rule, at)
        if rule.name in seen:
            found.append(FieldViolation(f"{at}.name", f"{rule.name!r} is already the name of rules[{seen[rule.name]}]"))
        seen.setdefault(rule.name, index)
    if found:
        raise InvalidArgument(found)


def _rule_violations(rule: TriageRule, at: str) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    if not _NAME.match(rule.name):
        found.append(
            FieldViolation(
                f"{at}.name",
                f"{rule.name!r} is not a rule name: 1 to {NAME_MAX} of a-z, 0-9, '_', '.', '-', "
                "starting with a letter or digit (for example 'leak-to-plumbing')",
            )
        )
    if len(rule.note) > MAX_NOTE_LEN:
        found.append(FieldViolation(f"{at}.note", f"at most {MAX_NOTE_LEN} characters; got {len(rule.note)}"))
    if not rule.has_conditions:
        found.append(
            FieldViolation(
                at,
                "the rule has no conditions and would match every ticket: give it keywords, channels, "
                "tiers or asset_patterns",
            )
        )
    if not rule.has_actions:
        found.append(
            FieldViolation(
                at,
                "the rule changes nothing: give it a category, team, required_skills, priority or "
                "raise_priority (or stop: true to end triage when it matches)",
            )
        )
    for name in ("any_keywords", "all_keywords", "none_keywords"):
        found += _keyword_violations(getattr(rule, name), f"{at}.{name}")
    found += _contradictions(rule, at)
    found += _member_violations(rule.channels, CHANNELS, f"{at}.channels", "channel")
    found += _member_violations(rule.tiers, TIERS, f"{at}.tiers", "tier")
    found += _list_violations(
        rule.asset_patterns,
        f"{at}.asset_patterns",
        MAX_PATTERNS,
        lambda p: (
            None
            if _PATTERN.match(p)
            else f"{p!r} is not an asset pattern: letters, digits, '-', '_', '.', ':', '/' with * for any run "
            "and ? for one character, up to 64 (for example 'WM-*')"
        ),
    )
    found += _list_violations(
        rule.required_skills,
        f"{at}.required_skills",
        MAX_SKILLS,
        lambda s: None if _SLUG.match(s) else f"{s!r} is not a skill name: 1 to 64 of a-z, 0-9, '_', '.', '-'",
    )
    for name in ("category", "team"):
        value = getattr(rule, name)
        if value and not _SLUG.match(value):
            found.append(
                FieldViolation(f"{at}.{name}", f"{value!r} is not a {name} name: 1 to 64 of a-z, 0-9, '_', '.', '-'")
            )
    if rule.priority is not None and not 1 <= rule.priority <= 4:
        found.append(FieldViolation(f"{at}.priority", f"a priority is 1 (P1) to 4 (P4); got {rule.priority}"))
    if not 0 <= rule.raise_priority <= 3:
        found.append(FieldViolation(f"{at}.raise_priority", f"raise by 0 to 3 steps; got {rule.raise_priority}"))
    return found


def _keyword_violations(keywords: Sequence[str], at: str) -> list[FieldViolation]:
    return _list_violations(keywords, at, MAX_KEYWORDS, _keyword_problem, key=_normal)


def _keyword_problem(keyword: str) -> str | None:
    if len(keyword) > MAX_KEYWORD_LEN:
        return f"at most {MAX_KEYWORD_LEN} characters; got {len(keyword)}"
    if _STRAY_STAR.search(keyword):
        return f"{keyword!r}: a * may only end a word, as in 'leak*'"
    terms = phrase(keyword)
    if not terms:
        return f"{keyword!r} has no letters or digits to match"
    short = next((t.stem for t in terms if t.prefix and len(t.stem) < MIN_PREFIX_LEN), None)
    if short is not None:
        return f"{keyword!r}: give at least {MIN_PREFIX_LEN} letters before a *; '{short}*' matches almost anything"
    return None


def _contradictions(rule: TriageRule, at: str) -> list[FieldViolation]:
    wanted = {_normal(k): "all_keywords" for k in rule.all_keywords}
    wanted.update({_normal(k): "any_keywords" for k in rule.any_keywords if _normal(k) not in wanted})
    return [
        FieldViolation(
            f"{at}.none_keywords[{index}]",
            f"{keyword!r} is also in {wanted[_normal(keyword)]}: a word cannot be both wanted and refused",
        )
        for index, keyword in enumerate(rule.none_keywords)
        if _normal(keyword) in wanted
    ]


def _member_violations(values: Iterable[str], allowed: tuple[str, ...], at: str, kind: str) -> list[FieldViolation]:
    return [
        FieldViolation(at, f"{value!r} is not a {kind}; use one of {', '.join(allowed)}")
        for value in sorted(values)
        if value not in allowed
    ]


def _list_violations(
    values: Sequence[str],
    at: str,
    limit: int,
    problem: Callable[[str], str | None],
    key: Callable[[str], str] = str,
) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    if len(values) > limit:
        found.append(FieldViolation(at, f"at most {limit} items; got {len(values)}"))
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        message = problem(value)
        normal = key(value)
        if message is None and normal in seen:
            message = f"{value!r} repeats item [{seen[normal]}]"
        if message is not None:
            found.append(FieldViolation(f"{at}[{index}]", message))
        seen.setdefault(normal, index)
    return found


# -- Matching ----------------------------------------------------------------------------------


class Term(NamedTuple):
    """One word of a keyword: matched exactly, or as a prefix when the keyword wrote 'stem*'."""

    stem: str
    prefix: bool

    def fits(self, word: str) -> bool:
        return word.startswith(self.stem) if self.prefix else word == self.stem


@lru_cache(maxsize=4096)
def phrase(keyword: str) -> tuple[Term, ...]:
    """A keyword as the words it must match in a row, case-folded: 'No Heat' -> (no, heat)."""
    return tuple(Term(token.removesuffix("*"), token.endswith("*")) for token in _TERM.findall(keyword.casefold()))


def _normal(keyword: str) -> str:
    return " ".join(f"{t.stem}{'*' if t.prefix else ''}" for t in phrase(keyword))


class _Words:
    """One field's words, indexed by word so a keyword costs a lookup, not a scan of the text."""

    def __init__(self, text: str) -> None:
        self.words = _WORD.findall(text.casefold())
        self.at: dict[str, list[int]] = {}
        for position, word in enumerate(self.words):
            self.at.setdefault(word, []).append(position)

    def has(self, terms: tuple[Term, ...]) -> bool:
        first, rest = terms[0], terms[1:]
        if first.prefix:
            starts: Iterable[int] = (p for word, ps in self.at.items() if first.fits(word) for p in ps)
        else:
            starts = self.at.get(first.stem, ())
        return any(self._continues(start, rest) for start in starts)

    def _continues(self, start: int, rest: tuple[Term, ...]) -> bool:
        if start + len(rest) >= len(self.words):
            return False
        return all(term.fits(self.words[start + 1 + i]) for i, term in enumerate(rest))


class _Request:
    """What rules look at in a new ticket; each keyword is looked up once however many rules use it."""

    def __init__(self, new: NewTicket, tier: str) -> None:
        # Subject and description apart: a phrase must not span the end of one and the start of the other.
        self.fields = (_Words(new.subject), _Words(new.description))
        self.channel = new.channel
        self.tier = tier
        self.asset = new.asset_id.upper()
        self._seen: dict[str, bool] = {}

    def mentions(self, keyword: str) -> bool:
        if keyword not in self._seen:
            terms = phrase(keyword)
            self._seen[keyword] = bool(terms) and any(f.has(terms) for f in self.fields)
        return self._seen[keyword]


def _matches(rule: TriageRule, request: _Request) -> bool:
    return (
        (not rule.channels or request.channel in rule.channels)
        and (not rule.tiers or request.tier in rule.tiers)
        and (not rule.asset_patterns or _asset_fits(request.asset, rule.asset_patterns))
        and (not rule.any_keywords or any(request.mentions(k) for k in rule.any_keywords))
        and all(request.mentions(k) for k in rule.all_keywords)
        and not any(request.mentions(k) for k in rule.none_keywords)
    )


def _asset_fits(asset: str, patterns: Sequence[str]) -> bool:
    return bool(asset) and any(fnmatchcase(asset, pattern.upper()) for pattern in patterns)


def applicable(rules: Sequence[TriageRule], new: NewTicket, tier: str) -> list[TriageRule]:
    """The rules that apply to a new ticket, in order, up to and including the first with ``stop``."""
    request = _Request(new, tier)
    applied: list[TriageRule] = []
    for rule in rules:
        if _matches(rule, request):
            applied.append(rule)
            if rule.stop:
                break
    return applied


def classify(rules: Sequence[TriageRule], new: NewTicket, tier: str) -> tuple[NewTicket, str]:
    """The ticket-to-be as the rules classify it, and what to record as the rule that fired ("" if none)."""
    applied = applicable(rules, new, tier)
    if not applied:
        return new, ""
    classified = replace(
        new,
        category=new.category or _first(r.category for r in applied),
        team=new.team or _first(r.team for r in applied),
        required_skills=tuple(dict.fromkeys([*new.required_skills, *(s for r in applied for s in r.required_skills)])),
        priority=new.priority if new.priority is not None else _priority(applied),
    )
    return classified, recorded([r.name for r in applied])


def _first(values: Iterable[str]) -> str:
    return next((v for v in values if v), "")


def _priority(applied: Sequence[TriageRule]) -> int | None:
    urgent = min((r.priority for r in applied if r.priority), default=None)
    lift = max(r.raise_priority for r in applied)
    if not lift:
        return urgent
    return max(1, (urgent or DEFAULT_PRIORITY) - lift)


def recorded(names: Sequence[str]) -> str:
    """The applied rules' names as the ticket records them: 'leak,gold-first', or 'leak+3' when too long."""
    joined = ",".join(names)
    if len(joined) <= RECORD_MAX:
        return joined
    return f"{names[0]}+{len(names) - 1}"
