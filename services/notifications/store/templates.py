"""Templates per key and locale, and the rules that say which events notify whom."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.orm import Session

from services.notifications.domain.rules import Rule
from services.notifications.domain.templates import Template
from services.notifications.store.schema import rules, templates
from switchboard.db.types import utcnow


class TemplateStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def for_key(self, key: str) -> list[Template]:
        return self.list(keys=[key])

    def list(self, keys: Sequence[str] | None = None) -> list[Template]:
        query = select(templates).order_by(templates.c.key, templates.c.locale)
        if keys is not None:
            query = query.where(templates.c.key.in_(list(keys)))
        return [
            Template(key=row.key, locale=row.locale, subject=row.subject, body=row.body, version=row.version)
            for row in self.session.execute(query)
        ]

    def get(self, key: str, locale: str) -> Template | None:
        found = [t for t in self.for_key(key) if t.locale == locale]
        return found[0] if found else None

    def put(self, template: Template, *, expected_version: int) -> Template | None:
        """Create (expected 0) or compare-and-set; None when the version read is stale."""
        values = {"subject": template.subject, "body": template.body, "updated_at": utcnow()}
        if expected_version == 0:
            if self.get(template.key, template.locale) is not None:
                return None
            self.session.execute(
                insert(templates).values(key=template.key, locale=template.locale, version=1, **values)
            )
            return replace(template, version=1)
        done = self.session.execute(
            update(templates)
            .where(
                templates.c.key == template.key,
                templates.c.locale == template.locale,
                templates.c.version == expected_version,
            )
            .values(version=expected_version + 1, **values)
            .returning(templates.c.version)
        ).first()
        return None if done is None else replace(template, version=expected_version + 1)


def _rule(row: Row[Any]) -> Rule:
    document = row.document
    return Rule(
        rule_id=row.rule_id,
        event_type=row.event_type,
        audiences=tuple(document["audiences"]),
        category=document["category"],
        priority=document["priority"],
        channels=tuple(document["channels"]),
        template_key=document.get("template_key", ""),
        enabled=document.get("enabled", True),
        when={name: tuple(values) for name, values in document.get("when", {}).items()},
        version=row.version,
    )


def rule_document(rule: Rule) -> dict[str, Any]:
    return {
        "audiences": list(rule.audiences),
        "category": rule.category,
        "priority": rule.priority,
        "channels": list(rule.channels),
        "template_key": rule.template_key,
        "enabled": rule.enabled,
        "when": {name: list(values) for name, values in sorted(rule.when.items())},
    }


class RuleStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def for_event(self, event_type: str) -> list[Rule]:
        return self.list(event_type)

    def list(self, event_type: str = "") -> list[Rule]:
        query = select(rules).order_by(rules.c.event_type, rules.c.rule_id)
        if event_type:
            query = query.where(rules.c.event_type == event_type)
        return [_rule(row) for row in self.session.execute(query)]

    def get(self, rule_id: str) -> Rule | None:
        row = self.session.execute(select(rules).where(rules.c.rule_id == rule_id)).first()
        return None if row is None else _rule(row)

    def put(self, rule: Rule, *, expected_version: int) -> Rule | None:
        values = {"event_type": rule.event_type, "document": rule_document(rule), "updated_at": utcnow()}
        if expected_version == 0:
            if self.get(rule.rule_id) is not None:
                return None
            self.session.execute(insert(rules).values(rule_id=rule.rule_id, version=1, **values))
            return replace(rule, version=1)
        done = self.session.execute(
            update(rules)
            .where(rules.c.rule_id == rule.rule_id, rules.c.version == expected_version)
            .values(version=expected_version + 1, **values)
            .returning(rules.c.version)
        ).first()
        return None if done is None else replace(rule, version=expected_version + 1)
