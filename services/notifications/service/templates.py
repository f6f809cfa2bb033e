"""Templates (checked when stored) and rules."""

from __future__ import annotations

from collections.abc import Mapping

from services.notifications.domain import templates as texts
from services.notifications.domain.rules import TRIGGER_TYPES, Rule, problems
from services.notifications.store.templates import RuleStore, TemplateStore
from switchboard import errors
from switchboard.db.uow import UnitOfWork


def put_template(uow: UnitOfWork, template: texts.Template, *, expected_version: int) -> texts.Template:
    """Store a template, refusing now one that uses a variable its event does not carry."""
    texts.check(template)
    store = TemplateStore(uow.session)
    stored = store.put(template, expected_version=expected_version)
    if stored is None:
        current = store.get(template.key, template.locale)
        raise errors.Aborted(
            f"template {template.key}/{template.locale} is at version {current.version if current else 0}, "
            f"not {expected_version}"
        )
    return stored


def list_templates(uow: UnitOfWork, key: str = "") -> list[texts.Template]:
    return TemplateStore(uow.session).list([key] if key else None)


def preview(
    uow: UnitOfWork,
    *,
    key: str,
    locale: str,
    given: texts.Template | None,
    context: Mapping[str, object],
    time_zone: str,
) -> texts.Rendered:
    """A template rendered with sample values: a stored one by key and locale, or one given (checked first)."""
    if given is not None:
        texts.check(given)
        template = given
    else:
        found = texts.choose(TemplateStore(uow.session).for_key(key), key, locale or "en")
        if found is None:
            raise errors.NotFound("template", f"{key}/{locale}")
        template = found
    filled = texts.context_for(
        template.key,
        {k: v for k, v in context.items() if k not in ("event", "recipient", "customer", "link")},
        event=_mapping(context.get("event")),
        recipient=_mapping(context.get("recipient")),
        customer=_mapping(context.get("customer")),
        link=str(context.get("link", "")),
    )
    return texts.render(template, filled, time_zone=time_zone or "UTC")


def _mapping(value: object) -> dict[str, object] | None:
    return dict(value) if isinstance(value, Mapping) else None


def put_rule(uow: UnitOfWork, rule: Rule, *, expected_version: int) -> Rule:
    found = problems(rule, TRIGGER_TYPES)
    if found:
        raise errors.InvalidArgument([errors.FieldViolation(name, description) for name, description in found])
    store = RuleStore(uow.session)
    if not TemplateStore(uow.session).for_key(rule.template):
        raise errors.InvalidArgument(
            [errors.FieldViolation("rule.template_key", f"no template is stored for {rule.template!r}; put one first")]
        )
    stored = store.put(rule, expected_version=expected_version)
    if stored is None:
        current = store.get(rule.rule_id)
        raise errors.Aborted(
            f"rule {rule.rule_id} is at version {current.version if current else 0}, not {expected_version}"
        )
    return stored


def list_rules(uow: UnitOfWork, event_type: str = "") -> list[Rule]:
    return RuleStore(uow.session).list(event_type)
