"""Templates as specifications: refused when stored if they could not render for their event, rendered in the
recipient's language and time zone, and chosen by locale with sensible fallbacks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notifications.domain.templates import (
    ADHOC_VARIABLES,
    DEFAULT_TEMPLATES,
    DIGEST_VARIABLES,
    Template,
    check,
    choose,
    context_for,
    default_keys,
    digest_context,
    render,
    variables_for,
)
from switchboard.errors import InvalidArgument
from switchboard.events.v1 import ticketing_events_pb2, work_order_events_pb2


def scheduled(start: datetime, end: datetime) -> work_order_events_pb2.WorkOrderScheduled:
    event = work_order_events_pb2.WorkOrderScheduled(
        work_order_id="WO-7", ticket_id="T-1001", customer_id="C-1001", technician_id="bob"
    )
    event.window_start.FromDatetime(start)
    event.window_end.FromDatetime(end)
    return event


def violations(template: Template) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as refused:
        check(template)
    return {v.field: v.description for v in refused.value.violations}


# ---- what a template may use


def test_an_event_template_may_use_the_payload_fields_and_the_shared_names() -> None:
    names = variables_for("ticket.resolved")
    assert {"ticket_id", "number", "resolved_at", "customer_id"} <= names
    assert {"event", "recipient", "customer", "link"} <= names
    assert "window_start" not in names


def test_a_variant_key_takes_the_variables_of_its_event_type() -> None:
    assert variables_for("work_order.scheduled:customer") == variables_for("work_order.scheduled")
    assert "window_end" in variables_for("work_order.scheduled:customer")


def test_an_unknown_key_is_an_ad_hoc_message_and_the_digest_has_its_own_names() -> None:
    assert variables_for("promo.summer") == ADHOC_VARIABLES == {"subject", "body", "recipient", "link", "event"}
    assert variables_for("digest") == DIGEST_VARIABLES


# ---- checked when stored


def test_a_variable_the_event_does_not_carry_is_refused_naming_the_part_and_the_allowed_names() -> None:
    refused = violations(Template("ticket.resolved", "en", "Ticket {{ ticket_id }}", "Due {{ due_at }}"))
    assert set(refused) == {"template.body"}
    assert "unknown variable due_at" in refused["template.body"]
    assert "resolved_at" in refused["template.body"]  # lists what is allowed


def test_a_syntax_error_is_refused_with_its_line_number() -> None:
    refused = violations(Template("ticket.resolved", "en", "", "Hello\n{{ number }\nbye"))
    assert refused["template.body"].startswith("syntax error on line 2")


def test_a_typo_in_a_shared_structure_is_caught_when_stored_not_at_send_time() -> None:
    refused = violations(Template("ticket.resolved", "en", "Hi {{ recipient.nmae }}", "{{ link }}"))
    assert "recipient.nmae" in refused["template.subject"]
    assert "name" in refused["template.subject"]


def test_a_digest_item_field_typo_is_caught_too() -> None:
    refused = violations(Template("digest", "en", "", "{% for i in items %}{{ i.subjetc }}{% endfor %}"))
    assert "i.subjetc" in refused["template.body"]


def test_an_unknown_locale_and_an_empty_body_are_refused() -> None:
    refused = violations(Template("ticket.resolved", "xx-nowhere", "", " "))
    assert set(refused) == {"template.locale", "template.body"}


def test_variables_set_inside_the_template_are_its_own() -> None:
    template = Template("ticket.resolved", "en", "", "{% set n = number or ticket_id %}{{ n }}")

    check(template)

    assert render(template, {"number": "T-000042", "ticket_id": "t-1"}, time_zone="UTC").body == "T-000042"


def test_every_default_template_passes_the_check_in_english_and_chinese() -> None:
    for template in DEFAULT_TEMPLATES:
        check(template)
    for key in default_keys():
        locales = {t.locale for t in DEFAULT_TEMPLATES if t.key == key}
        assert {"en", "zh"} <= locales, key
    assert {
        "offer.created",
        "work_order.scheduled",
        "work_order.scheduled:customer",
        "ticket.sla_warning",
        "ticket.sla_breached",
        "customer.anomaly_detected",
        "ticket.resolved",
        "work_order.status_changed",
        "adhoc",
        "digest",
    } <= set(default_keys())


# ---- rendering


def test_the_customer_visit_sms_shows_the_window_in_the_customers_zone_and_language() -> None:
    event = scheduled(datetime(2026, 11, 25, 6, 0, tzinfo=UTC), datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    context = context_for("work_order.scheduled:customer", event, customer={"id": "C-1001", "name": "王芳"})
    zh = render(choose(DEFAULT_TEMPLATES, "work_order.scheduled:customer", "zh-CN"), context, time_zone="Asia/Shanghai")  # type: ignore[arg-type]
    assert "2026年11月25日 14:00-16:00" in zh.body
    assert zh.body.startswith("王芳您好")
    en = render(choose(DEFAULT_TEMPLATES, "work_order.scheduled:customer", "en"), context, time_zone="Europe/Berlin")  # type: ignore[arg-type]
    assert "Nov 25, 2026, 7:00 - 9:00 AM" in en.body


def test_when_formats_an_instant_for_the_locale_in_the_recipients_zone() -> None:
    template = Template("ticket.sla_warning", "zh", "", "{{ due_at | when }}")
    rendered = render(template, {"due_at": "2026-11-25T06:00:00Z"}, time_zone="Asia/Shanghai")
    assert rendered.body == "2026年11月25日 14:00"
    english = Template(
        "ticket.sla_warning", "en", "", "{{ due_at | when }} / {{ due_at | date }} / {{ due_at | time }}"
    )
    rendered = render(english, {"due_at": datetime(2026, 11, 25, 6, 0, tzinfo=UTC)}, time_zone="America/New_York")
    assert rendered.body == "Nov 25, 2026, 1:00 AM / Nov 25, 2026 / 1:00 AM"


def test_formatted_values_stay_in_the_sms_alphabet() -> None:
    template = Template("adhoc", "en", "", "{{ body | window(subject) }}")
    context = {"body": "2026-11-25T14:00:00Z", "subject": "2026-11-25T16:00:00Z"}
    rendered = render(template, context, time_zone="UTC").body
    assert rendered == "Nov 25, 2026, 2:00 - 4:00 PM"
    assert rendered.isascii()


def test_protobuf_timestamps_with_nanoseconds_render() -> None:
    template = Template("ticket.sla_warning", "en", "", "{{ due_at | when }}")
    rendered = render(template, {"due_at": "2026-11-25T06:00:00.123456789Z"}, time_zone="UTC")
    assert rendered.body == "Nov 25, 2026, 6:00 AM"


def test_money_is_minor_units_in_the_currencys_own_precision() -> None:
    template = Template("adhoc", "de", "", "{{ body | money('EUR') }} / {{ 1500 | money('JPY') }}")
    assert render(template, {"body": 12345}, time_zone="UTC").body == "123,45 € / 1.500 ¥"
    english = Template("adhoc", "en", "", "{{ body | money('usd') }}")
    assert render(english, {"body": "99"}, time_zone="UTC").body == "$0.99"


def test_a_missing_value_fails_loudly_naming_the_part() -> None:
    with pytest.raises(InvalidArgument) as failed:
        render(Template("adhoc", "en", "{{ subject }}", "{{ body }}"), {"subject": "x"}, time_zone="UTC")
    assert failed.value.violations[0].field == "template.body"


def test_the_sandbox_refuses_reaching_into_python() -> None:
    sneaky = Template("adhoc", "en", "", "{{ body.__class__.__mro__ }}")
    with pytest.raises(InvalidArgument):
        render(sneaky, {"body": "x"}, time_zone="UTC")
    mutating = Template("adhoc", "en", "", "{{ body.append(1) }}")
    with pytest.raises(InvalidArgument):
        render(mutating, {"body": []}, time_zone="UTC")


def test_a_subject_is_always_one_line() -> None:
    template = Template("adhoc", "en", "{{ subject }}", "{{ body }}")
    rendered = render(template, {"subject": "Hi\r\nBcc: evil@example.com", "body": "x"}, time_zone="UTC")
    assert rendered.subject == "Hi Bcc: evil@example.com"


def test_context_for_fills_what_the_event_left_unset_so_checked_templates_always_render() -> None:
    resolved = ticketing_events_pb2.TicketResolved(ticket_id="T-1001", customer_id="C-1001")  # no number, no time
    context = context_for("ticket.resolved", resolved, link="https://survey.example/t/T-1001")
    assert context["number"] == "" and context["resolved_at"] == ""
    for locale in ("en", "zh"):
        rendered = render(choose(DEFAULT_TEMPLATES, "ticket.resolved", locale), context, time_zone="UTC")  # type: ignore[arg-type]
        assert "T-1001" in rendered.subject
        assert "https://survey.example/t/T-1001" in rendered.body


def test_every_default_renders_from_an_empty_event() -> None:
    for template in DEFAULT_TEMPLATES:
        context = context_for(template.key, {"body": "Hello"}, recipient={"id": "alice", "name": "Alice"})
        context["items"] = [{"subject": "Ticket T-1 updated", "body": "", "at": "2026-11-25T06:00:00Z"}]
        context["count"] = 1
        rendered = render(template, context, time_zone="Europe/Berlin")
        assert rendered.body, template.key


def test_the_digest_lists_its_items() -> None:
    digest = choose(DEFAULT_TEMPLATES, "digest", "en")
    assert digest is not None
    items = [
        {"subject": "Ticket T-1 was updated", "body": "", "at": "2026-11-25T06:00:00Z"},
        {"subject": "", "body": "Your invoice is ready", "at": "2026-11-25T07:30:00Z"},
    ]
    rendered = render(digest, {"items": items, "count": 2, "recipient": {"name": "Alice"}, "link": ""}, time_zone="UTC")
    assert rendered.subject == "2 updates for you"
    assert "- Nov 25, 2026, 6:00 AM: Ticket T-1 was updated" in rendered.body
    assert "- Nov 25, 2026, 7:30 AM: Your invoice is ready" in rendered.body


# ---- choosing


def test_choose_prefers_the_exact_locale_then_the_language_then_english() -> None:
    templates = [
        Template("ticket.resolved", "en", "", "en"),
        Template("ticket.resolved", "zh", "", "zh"),
        Template("ticket.resolved", "zh-TW", "", "zh-TW"),
        Template("ticket.resolved", "pt-BR", "", "pt-BR"),
    ]
    assert choose(templates, "ticket.resolved", "zh-TW").body == "zh-TW"  # type: ignore[union-attr]
    assert choose(templates, "ticket.resolved", "zh_CN").body == "zh"  # type: ignore[union-attr]
    assert choose(templates, "ticket.resolved", "pt").body == "pt-BR"  # type: ignore[union-attr]
    assert choose(templates, "ticket.resolved", "de").body == "en"  # type: ignore[union-attr]
    assert choose(templates, "ticket.closed", "en") is None


def test_choose_takes_the_newest_version() -> None:
    templates = [Template("adhoc", "en", "", "old", version=1), Template("adhoc", "en", "", "new", version=2)]
    assert choose(templates, "adhoc", "en-GB").body == "new"  # type: ignore[union-attr]


def test_digest_context_fills_item_fields_so_any_checked_digest_renders() -> None:
    custom = Template(
        "digest", "en", "", "{% for i in items %}[{{ i.priority }}] {{ i.subject }} {{ i.at | when }}\n{% endfor %}"
    )
    check(custom)
    naive_utc = datetime(2026, 11, 25, 6, 0)
    context = digest_context([{"subject": "Survey", "at": naive_utc}], recipient={"name": "Li Wei"})
    assert render(custom, context, time_zone="Asia/Shanghai").body == "[] Survey Nov 25, 2026, 2:00 PM"
