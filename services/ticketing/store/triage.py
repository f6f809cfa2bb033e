"""The triage rules as a versioned document: one row per version, so every earlier ruleset stays
readable (who changed triage, when, to what), and the newest row is the one in force."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Integer, String, Table, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.ticketing.domain.triage import NO_RULES, Ruleset, TriageRule
from services.ticketing.store.schema import metadata
from switchboard.db.types import UtcDateTime
from switchboard.errors import Aborted

triage_rulesets = Table(
    "triage_rulesets",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("rules", JSON, nullable=False),
    Column("replaced_by", String(255), nullable=False),
    Column("replaced_at", UtcDateTime, nullable=False),
)


def as_document(rule: TriageRule) -> dict[str, Any]:
    """A rule as stored: plain JSON, sets sorted so equal rulesets store equal documents."""
    return {
        "name": rule.name,
        "note": rule.note,
        "any_keywords": list(rule.any_keywords),
        "all_keywords": list(rule.all_keywords),
        "none_keywords": list(rule.none_keywords),
        "channels": sorted(rule.channels),
        "tiers": sorted(rule.tiers),
        "asset_patterns": list(rule.asset_patterns),
        "category": rule.category,
        "team": rule.team,
        "required_skills": list(rule.required_skills),
        "priority": rule.priority or 0,
        "raise_priority": rule.raise_priority,
        "stop": rule.stop,
    }


def from_document(document: dict[str, Any]) -> TriageRule:
    # .get with defaults: a document written before a field existed still reads.
    return TriageRule(
        name=document["name"],
        note=document.get("note", ""),
        any_keywords=tuple(document.get("any_keywords", ())),
        all_keywords=tuple(document.get("all_keywords", ())),
        none_keywords=tuple(document.get("none_keywords", ())),
        channels=frozenset(document.get("channels", ())),
        tiers=frozenset(document.get("tiers", ())),
        asset_patterns=tuple(document.get("asset_patterns", ())),
        category=document.get("category", ""),
        team=document.get("team", ""),
        required_skills=tuple(document.get("required_skills", ())),
        priority=document.get("priority") or None,
        raise_priority=document.get("raise_priority", 0),
        stop=document.get("stop", False),
    )


class TriageStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def current(self) -> Ruleset:
        """The ruleset in force; version 0 with no rules before any was stored."""
        row = self.session.execute(select(triage_rulesets).order_by(triage_rulesets.c.version.desc()).limit(1)).first()
        if row is None:
            return NO_RULES
        return Ruleset(
            version=row.version,
            rules=tuple(from_document(document) for document in row.rules),
            updated_by=row.replaced_by,
            updated_at=row.replaced_at,
        )

    def replace(self, rules: Sequence[TriageRule], *, expected_version: int, by: str, at: datetime) -> Ruleset:
        """Store the next version if the newest is still ``expected_version``; ABORTED if not.

        Two writers that both read version N both insert N + 1: the primary key lets one in and
        the other fails (on PostgreSQL it waits for the first to commit), so one of them wins.
        """
        newest = self.session.execute(select(func.max(triage_rulesets.c.version))).scalar() or 0
        if newest != expected_version:
            raise Aborted(_stale(expected_version, newest))
        version = expected_version + 1
        try:
            self.session.execute(
                triage_rulesets.insert().values(
                    version=version, rules=[as_document(r) for r in rules], replaced_by=by, replaced_at=at
                )
            )
        except IntegrityError:
            raise Aborted(_stale(expected_version, version)) from None
        return Ruleset(version=version, rules=tuple(rules), updated_by=by, updated_at=at)


def _stale(expected: int, newest: int) -> str:
    return (
        f"the triage rules are at version {newest}, not {expected}: someone replaced them since you read them; "
        "read them again and reapply your change"
    )
