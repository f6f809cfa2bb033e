"""Which events notify whom: the default rules name the people the issue asks for, and nobody else."""

from __future__ import annotations

from services.notifications.domain.ids import notification_id
from services.notifications.domain.rules import DEFAULT_RULES, TRIGGER_TYPES, Rule, Target, matches, problems, targets


def _rules(event_type: str) -> list[Rule]:
    return [r for r in DEFAULT_RULES if r.event_type == event_type]


def test_an_offer_goes_to_the_offered_agents_console_as_critical() -> None:
    [rule] = _rules("offer.created")

    assert targets(rule, {"worker_id": "alice", "customer_id": "C-1001"}) == [Target("staff", "alice")]
    assert (rule.channels, rule.priority, rule.category) == (("console",), "critical", "offers")


def test_a_dispatch_tells_the_technician_and_the_customer_by_sms_with_the_window() -> None:
    technician, customer = _rules("work_order.scheduled")
    payload = {"technician_id": "tom", "customer_id": "C-1001", "window_start": "2026-03-30T08:00:00Z"}

    assert targets(technician, payload) == [Target("staff", "tom")]
    assert targets(customer, payload) == [Target("customer", "C-1001")]
    assert customer.channels[0] == "sms"
    assert customer.template == "work_order.scheduled:customer"


def test_sla_events_go_to_the_assignee_and_the_teams_supervisors_a_breach_critically() -> None:
    [warning] = _rules("ticket.sla_warning")
    [breach] = _rules("ticket.sla_breached")
    payload = {"assignee": "alice", "team": "heating"}

    assert targets(warning, payload) == [Target("staff", "alice"), Target("team", "heating")]
    assert (warning.priority, breach.priority) == ("high", "critical")


def test_an_unassigned_ticket_names_only_the_team() -> None:
    [warning] = _rules("ticket.sla_warning")

    assert targets(warning, {"assignee": "", "team": "heating"}) == [Target("team", "heating")]


def test_unusual_behaviour_goes_to_the_account_owner_and_a_resolved_ticket_asks_the_customer() -> None:
    [anomaly] = _rules("customer.anomaly_detected")
    [survey] = _rules("ticket.resolved")

    assert targets(anomaly, {"account_owner": "olga", "customer_id": "C-1001"}) == [Target("staff", "olga")]
    assert targets(survey, {"customer_id": "C-1001", "assignee": "alice"}) == [Target("customer", "C-1001")]
    assert survey.priority == "normal"  # a survey should not wait for a digest


def test_progress_reaches_the_customer_only_for_the_moves_they_care_about() -> None:
    [progress] = _rules("work_order.status_changed")

    assert matches(progress, {"to_status": "en_route"})
    assert not matches(progress, {"to_status": "open"})


def test_a_disabled_rule_matches_nothing() -> None:
    [rule] = _rules("offer.created")

    assert not matches(Rule(**{**rule.__dict__, "enabled": False}), {"worker_id": "alice"})


def test_every_default_rule_is_for_a_consumed_event_and_well_formed() -> None:
    for rule in DEFAULT_RULES:
        assert problems(rule, TRIGGER_TYPES) == [], rule.rule_id


def test_a_rule_for_an_event_notifications_does_not_consume_is_refused_naming_the_field() -> None:
    rule = Rule("x", "ticket.created", ("customer",), "misc", "urgent", ("pigeon",))

    assert [name for name, _ in problems(rule, TRIGGER_TYPES)] == ["rule.event_type", "rule.priority", "rule.channels"]


def test_a_notification_id_is_the_same_for_the_same_event_recipient_and_channel_only() -> None:
    first = notification_id("01a2-event", "alice", "console")

    assert notification_id("01a2-event", "alice", "console") == first
    assert (
        len({first, notification_id("01a2-event", "alice", "email"), notification_id("01a2-other", "alice", "console")})
        == 3
    )
