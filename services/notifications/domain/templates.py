# ruff: noqa: RUF001, RUF003  (Chinese copy uses full-width punctuation，：（）; ranges use en dashes)
"""Message templates: checked when stored, rendered per recipient in their locale and time zone.

A template is Jinja2 source for a subject and a body, keyed by the trigger's template key (the event type,
``ticket.resolved``; an audience variant after a colon, ``work_order.scheduled:customer``; or a custom key for
ad hoc sends) and a locale. :func:`check` refuses, at the moment a template is stored, any variable its event
does not carry, so a typo is an INVALID_ARGUMENT for the author instead of a failed send at three in the
morning. Rendering runs in Jinja's immutable sandbox with StrictUndefined: templates come from API callers, and
a missing value must fail loudly rather than print an empty string to a customer.

The context a template sees (NOTIFY-CORE builds it):
- the event payload's top-level fields by their proto names (``ticket_id``, ``window_start``...), timestamps as
  RFC 3339 strings or datetimes;
- ``event``: ``id``, ``type``, ``occurred_at`` (and optionally ``source``, ``customer_id``);
- ``recipient``: ``id``, ``name``, ``locale``, ``time_zone``; ``customer``: ``id``, ``name``; ``link``: a URL.
The ``digest`` key instead gets ``items`` (each ``subject``, ``body``, ``at``, ``category``, ``priority``),
``count``, ``recipient`` and ``link``.

Filters: ``when`` (an instant in the recipient's zone, e.g. zh "2026年11月25日 14:00"), ``date``, ``time``,
``window`` (``{{ window_start | window(window_end) }}``: "Nov 25, 2026, 2:00 - 4:00 PM") and ``money``
(``{{ amount_minor | money(currency) }}``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_interval, format_skeleton, format_time
from babel.numbers import UnknownCurrencyError, format_currency, get_currency_precision
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2 import Template as JinjaTemplate
from jinja2.sandbox import ImmutableSandboxedEnvironment

from switchboard.catalog import EVENT_TYPES
from switchboard.errors import FieldViolation, InvalidArgument


@dataclass(frozen=True)
class Template:
    key: str  # the trigger's template key: an event type, "event.type:variant", or a custom ad hoc key
    locale: str  # "en", "zh", "zh-CN", "de", ...
    subject: str  # Jinja2 source ("" allowed for console/SMS)
    body: str  # Jinja2 source
    version: int = 0


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


# What the shared names carry; attribute access beyond these is refused when the template is stored.
EVENT_FIELDS = frozenset({"id", "type", "occurred_at", "source", "customer_id"})
RECIPIENT_FIELDS = frozenset({"id", "name", "locale", "time_zone"})
CUSTOMER_FIELDS = frozenset({"id", "name"})
DIGEST_ITEM_FIELDS = frozenset({"subject", "body", "at", "category", "priority"})
_STRUCTURED = {"event": EVENT_FIELDS, "recipient": RECIPIENT_FIELDS, "customer": CUSTOMER_FIELDS}

COMMON_VARIABLES = frozenset({"event", "recipient", "customer", "link"})
ADHOC_VARIABLES = frozenset({"subject", "body", "recipient", "link", "event"})
DIGEST_VARIABLES = frozenset({"items", "count", "recipient", "link"})
DIGEST_KEY = "digest"
ADHOC_KEY = "adhoc"
FALLBACK_LOCALE = "en"


def variables_for(key: str) -> frozenset[str]:
    """The names a template for ``key`` may use; a ``:variant`` takes its event type's names."""
    event_type = key.split(":", 1)[0]
    if event_type == DIGEST_KEY:
        return DIGEST_VARIABLES
    known = EVENT_TYPES.get(event_type)
    if known is None:
        return ADHOC_VARIABLES
    return frozenset(f.name for f in known.payload.DESCRIPTOR.fields) | COMMON_VARIABLES


def context_for(
    key: str,
    payload: Message | Mapping[str, object],
    *,
    event: Mapping[str, object] | None = None,
    recipient: Mapping[str, object] | None = None,
    customer: Mapping[str, object] | None = None,
    link: str = "",
) -> dict[str, object]:
    """The context :func:`render` expects, with every name a checked template may use present.

    StrictUndefined refuses a missing value, so a field the event left at its default (an empty string, an
    unset timestamp) and the shared structures' unknown parts are filled with empty values here: a template
    that passed :func:`check` then always renders. A protobuf payload is mapped with its proto field names,
    timestamps as RFC 3339 strings, enums by name.
    """
    if isinstance(payload, Message):
        values: dict[str, object] = MessageToDict(
            payload, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
    else:
        values = dict(payload)
    known = EVENT_TYPES.get(key.split(":", 1)[0])
    if known is not None:
        for f in known.payload.DESCRIPTOR.fields:
            values.setdefault(f.name, _empty(f))
    context: dict[str, object] = {name: value for name, value in values.items() if not name.startswith("_")}
    context["event"] = _filled(event, EVENT_FIELDS)
    context["recipient"] = _filled(recipient, RECIPIENT_FIELDS)
    context["customer"] = _filled(customer, CUSTOMER_FIELDS)
    context["link"] = link
    for name in ("subject", "body"):
        context.setdefault(name, "")
    return context


def digest_context(
    items: Sequence[Mapping[str, object]], *, recipient: Mapping[str, object] | None = None, link: str = ""
) -> dict[str, object]:
    """The context of a ``digest`` template: each item with every field a checked template may use."""
    filled = [_filled(item, DIGEST_ITEM_FIELDS) for item in items]
    return {"items": filled, "count": len(filled), "recipient": _filled(recipient, RECIPIENT_FIELDS), "link": link}


def check(template: Template) -> None:
    """Refuse a template that could not render for its event: bad syntax, unknown names, unknown locale."""
    violations: list[FieldViolation] = []
    if not template.key.strip():
        violations.append(FieldViolation("template.key", "must not be empty"))
    if not template.body.strip():
        violations.append(FieldViolation("template.body", "must not be empty"))
    if _babel_locale(template.locale) is None:
        violations.append(FieldViolation("template.locale", f"unknown locale {template.locale!r}"))
    allowed = variables_for(template.key)
    for part, source in (("subject", template.subject), ("body", template.body)):
        problem = _problem(source, allowed)
        if problem:
            violations.append(FieldViolation(f"template.{part}", problem))
    if violations:
        raise InvalidArgument(violations)


def render(template: Template, context: Mapping[str, object], *, time_zone: str) -> Rendered:
    """The subject and body for one recipient; InvalidArgument naming the part when it cannot render."""
    locale = _babel_locale(template.locale) or Locale.parse(FALLBACK_LOCALE)
    token = _SETTINGS.set(_Settings(locale, _zone(time_zone)))
    try:
        # A subject is one line (an email header cannot hold a line break); a body loses stray blank edges.
        subject = " ".join(_render_part("subject", template.subject, context).split())
        return Rendered(subject=subject, body=_render_part("body", template.body, context).strip())
    finally:
        _SETTINGS.reset(token)


def choose(templates: Sequence[Template], key: str, locale: str) -> Template | None:
    """The template for ``key`` closest to ``locale``: exact, then the language ("zh-CN" → "zh"), then English.

    Among equally good matches the highest version wins, so a list holding old versions still picks the newest.
    """
    wanted = _normal(locale)
    language = wanted.split("-", 1)[0]
    candidates = [(t, _normal(t.locale)) for t in templates if t.key == key]
    # Exact; the bare language; a sibling of the language ("zh-TW" when only that exists); English likewise.
    for exact, lang in ((wanted, ""), (language, ""), ("", language), (FALLBACK_LOCALE, ""), ("", FALLBACK_LOCALE)):
        matches = [t for t, have in candidates if have == exact or (lang and have.split("-", 1)[0] == lang)]
        if matches:
            return max(matches, key=lambda t: t.version)
    return None


def _empty(f: Any) -> object:  # a FieldDescriptor (the upb and pure-Python classes differ for mypy)
    if f.is_repeated:
        return {} if f.message_type is not None and f.message_type.GetOptions().map_entry else []
    if f.message_type is not None:
        return "" if f.message_type.full_name == "google.protobuf.Timestamp" else {}
    if f.type == FieldDescriptor.TYPE_BOOL:
        return False
    if f.cpp_type in (FieldDescriptor.CPPTYPE_STRING, FieldDescriptor.CPPTYPE_ENUM):
        return ""
    return 0


def _filled(values: Mapping[str, object] | None, fields: frozenset[str]) -> dict[str, object]:
    filled: dict[str, object] = dict.fromkeys(fields, "")
    filled.update(values or {})
    return filled


# ---- checking


def _problem(source: str, allowed: frozenset[str]) -> str:
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return f"syntax error on line {exc.lineno}: {exc.message}"
    unknown = meta.find_undeclared_variables(tree) - allowed
    if unknown:
        return (
            f"unknown variable{'s' if len(unknown) > 1 else ''} {', '.join(sorted(unknown))}; "
            f"this template may use: {', '.join(sorted(allowed))}"
        )
    bad_fields = sorted(_unknown_attributes(tree, allowed))
    if bad_fields:
        return f"unknown field{'s' if len(bad_fields) > 1 else ''} {', '.join(bad_fields)}"
    return ""


def _unknown_attributes(tree: nodes.Template, allowed: frozenset[str]) -> Iterator[str]:
    """``recipient.nmae`` and the like: the shared structures' fields are known, so a typo is caught now.

    Only direct access on the shared names is checked (a loop variable's fields are the author's business,
    except the digest's items, whose fields are known too).
    """
    structured = {name: fields for name, fields in _STRUCTURED.items() if name in allowed}
    loop_items = set()
    if "items" in allowed:
        for loop in tree.find_all(nodes.For):
            if isinstance(loop.iter, nodes.Name) and loop.iter.name == "items" and isinstance(loop.target, nodes.Name):
                loop_items.add(loop.target.name)
    for access in tree.find_all(nodes.Getattr):
        if not isinstance(access.node, nodes.Name):
            continue
        name = access.node.name
        fields = structured.get(name) or (DIGEST_ITEM_FIELDS if name in loop_items else None)
        if fields is not None and access.attr not in fields:
            yield f"{name}.{access.attr} (known: {', '.join(sorted(fields))})"


# ---- rendering


@dataclass(frozen=True)
class _Settings:
    locale: Locale
    zone: ZoneInfo


# Filters read the recipient's locale and zone from here, set for the duration of one render: the compiled
# templates are shared, so these cannot be baked into the environment.
_SETTINGS: ContextVar[_Settings] = ContextVar("template_settings")


def _render_part(part: str, source: str, context: Mapping[str, object]) -> str:
    if not source:
        return ""
    try:
        return _compiled(source).render(dict(context))
    except (TemplateError, ValueError, TypeError, ArithmeticError, LookupError) as exc:
        raise InvalidArgument([FieldViolation(f"template.{part}", f"cannot render: {exc}")]) from exc


@lru_cache(maxsize=512)
def _compiled(source: str) -> JinjaTemplate:
    return _ENV.from_string(source)


def _instant(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        # RFC 3339 from protobuf's JSON mapping may carry nanoseconds; datetime keeps microseconds.
        text = _NANOS.sub(lambda m: m.group(1)[:7], value.strip())
        moment = datetime.fromisoformat(text)
    else:
        raise TypeError(f"not a timestamp: {value!r}")
    # A naive value is taken as UTC, as the suite stores every time in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_NANOS = re.compile(r"(\.\d+)(?=Z|[+-]\d\d:?\d\d$|$)")


def _when(value: object) -> str:
    moment = _instant(value)
    if moment is None:
        return ""
    settings = _SETTINGS.get()
    local = moment.astimezone(settings.zone)
    clock = format_time(local, "short", locale=settings.locale)
    return _plain(_combine(settings.locale, _day(local, settings.locale), clock))


def _date(value: object) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return _plain(format_skeleton("yMMMd", value, locale=_SETTINGS.get().locale))
    moment = _instant(value)
    if moment is None:
        return ""
    settings = _SETTINGS.get()
    return _day(moment.astimezone(settings.zone), settings.locale)


def _time(value: object) -> str:
    if isinstance(value, time):
        return _plain(format_time(value, "short", locale=_SETTINGS.get().locale))
    moment = _instant(value)
    if moment is None:
        return ""
    settings = _SETTINGS.get()
    return _plain(format_time(moment.astimezone(settings.zone), "short", locale=settings.locale))


def _window(start: object, end: object) -> str:
    """A visit window: one date and a time range when both ends fall on the same local day."""
    first, last = _instant(start), _instant(end)
    if first is None or last is None:
        return _when(start) or _when(end)
    settings = _SETTINGS.get()
    first, last = first.astimezone(settings.zone), last.astimezone(settings.zone)
    if first.date() != last.date():
        return f"{_when(first)} - {_when(last)}"
    # The locale's own hour cycle: 2:00 - 4:00 PM in English, 14:00-16:00 in Chinese and German.
    skeleton = "hm" if "h" in settings.locale.time_formats["short"].pattern else "Hm"
    span = format_interval(first, last, skeleton, tzinfo=settings.zone, locale=settings.locale)
    return _plain(_combine(settings.locale, _day(first, settings.locale), str(span)))


def _money(minor_units: object, currency: object) -> str:
    if not isinstance(minor_units, int | str | Decimal) or isinstance(minor_units, bool):
        raise TypeError(f"money needs whole minor units, got {minor_units!r}")
    code = str(currency).upper()
    try:
        digits = get_currency_precision(code)
        amount = Decimal(minor_units).scaleb(-digits)
        return _plain(format_currency(amount, code, locale=_SETTINGS.get().locale))
    except UnknownCurrencyError:
        raise ValueError(f"unknown currency {currency!r}") from None


# CLDR typesets with thin, narrow no-break and no-break spaces and en dashes ("7:00\u2009–\u20099:00\u202fAM").
# None of them is in the GSM 03.38 alphabet, and one such character switches a whole SMS to UCS-2: 70
# characters a part instead of 160. Plain spaces and a hyphen read the same in every channel.
_PLAIN = str.maketrans({"\u2009": " ", "\u202f": " ", "\u00a0": " ", "\u2013": "-"})


def _plain(text: object) -> str:
    return str(text).translate(_PLAIN)


def _day(local: datetime, locale: Locale) -> str:
    return _plain(format_skeleton("yMMMd", local, locale=locale))


def _combine(locale: Locale, day: str, clock: str) -> str:
    # The locale's own way of joining a date and a time ("{1}, {0}" in English, "{1} {0}" in Chinese).
    pattern = str(locale.datetime_formats["medium"])
    return pattern.replace("{1}", day).replace("{0}", clock)


# ---- locales and zones


def _normal(locale: str) -> str:
    return locale.strip().replace("_", "-").lower()


@lru_cache(maxsize=128)
def _babel_locale(locale: str) -> Locale | None:
    try:
        return Locale.parse(locale.strip(), sep="-" if "-" in locale else "_")
    except (UnknownLocaleError, ValueError, TypeError):
        return None


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument([FieldViolation("recipient.time_zone", f"unknown time zone {name!r}")]) from None


def _make_environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,  # plain text: email bodies, SMS, chat; nothing here is HTML
        # Whitespace is literal, as authors of SMS and plain-text mail expect: "{% if link %}\n{{ link }}" keeps
        # its line break. (The rendered body is stripped at both ends.)
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=False,
    )
    env.filters.update({"when": _when, "date": _date, "time": _time, "window": _window, "money": _money})
    return env


_ENV = _make_environment()


# ---- the defaults every installation starts with


def _t(key: str, locale: str, subject: str, body: str) -> Template:
    return Template(key=key, locale=locale, subject=subject, body=body)


DEFAULT_TEMPLATES: tuple[Template, ...] = (
    _t(
        "offer.created",
        "en",
        "New task offered to you",
        "Task {{ task_id }}{% if ticket_id %} (ticket {{ ticket_id }}){% endif %} from queue {{ queue_id }} is "
        "waiting for you. Accept it before {{ expires_at | time }}.",
    ),
    _t(
        "offer.created",
        "zh",
        "有新任务分配给您",
        "来自队列 {{ queue_id }} 的任务 {{ task_id }}{% if ticket_id %}（工单 {{ ticket_id }}）{% endif %}"
        "正在等您处理，请在 {{ expires_at | time }} 前接受。",
    ),
    _t(
        "work_order.scheduled",
        "en",
        "Visit booked: work order {{ work_order_id }}",
        "Hello {{ recipient.name }},\n\n"
        "you have a visit for work order {{ work_order_id }} (ticket {{ ticket_id }}), "
        "customer {{ customer.name or customer_id }}, on {{ window_start | window(window_end) }}.\n"
        "{% if stock_location_id %}Parts are reserved at {{ stock_location_id }}.\n{% endif %}",
    ),
    _t(
        "work_order.scheduled",
        "zh",
        "已安排上门：工单 {{ work_order_id }}",
        "{{ recipient.name }}，您好：\n\n"
        "您有一次上门服务，工单 {{ work_order_id }}（服务单 {{ ticket_id }}），"
        "客户 {{ customer.name or customer_id }}，时间 {{ window_start | window(window_end) }}。\n"
        "{% if stock_location_id %}备件已在 {{ stock_location_id }} 预留。\n{% endif %}",
    ),
    _t(
        "work_order.scheduled:customer",
        "en",
        "Your service visit is booked",
        "Hello {{ customer.name or recipient.name }}, our technician will visit you on "
        "{{ window_start | window(window_end) }} (reference {{ work_order_id }}). "
        "{% if link %}Need another time? {{ link }}{% else %}Need another time? Just reply or call us.{% endif %}",
    ),
    _t(
        "work_order.scheduled:customer",
        "zh",
        "您的上门服务已预约",
        "{{ customer.name or recipient.name }}您好，我们的技术人员将于 {{ window_start | window(window_end) }} "
        "上门服务（编号 {{ work_order_id }}）。"
        "{% if link %}如需改约：{{ link }}{% else %}如需改约，请回复或致电我们。{% endif %}",
    ),
    _t(
        "ticket.sla_warning",
        "en",
        "SLA warning: ticket {{ number or ticket_id }} is due {{ due_at | when }}",
        "Ticket {{ number or ticket_id }} has used {{ percent }}% of its time and is due {{ due_at | when }}.\n"
        "Team: {{ team or '-' }}, assignee: {{ assignee or 'nobody yet' }}.{% if link %}\n{{ link }}{% endif %}",
    ),
    _t(
        "ticket.sla_warning",
        "zh",
        "SLA 预警：工单 {{ number or ticket_id }} 将于 {{ due_at | when }} 到期",
        "工单 {{ number or ticket_id }} 已用去 {{ percent }}% 的处理时限，将于 {{ due_at | when }} 到期。\n"
        "团队：{{ team or '-' }}，处理人：{{ assignee or '尚未分配' }}。{% if link %}\n{{ link }}{% endif %}",
    ),
    _t(
        "ticket.sla_breached",
        "en",
        "SLA breached: ticket {{ number or ticket_id }}",
        "Ticket {{ number or ticket_id }} missed its deadline of {{ due_at | when }}.\n"
        "Team: {{ team or '-' }}, assignee: {{ assignee or 'nobody yet' }}."
        "{% if escalation_queue %} It has been escalated to {{ escalation_queue }}.{% endif %}"
        "{% if link %}\n{{ link }}{% endif %}",
    ),
    _t(
        "ticket.sla_breached",
        "zh",
        "SLA 已超时：工单 {{ number or ticket_id }}",
        "工单 {{ number or ticket_id }} 已超过 {{ due_at | when }} 的处理时限。\n"
        "团队：{{ team or '-' }}，处理人：{{ assignee or '尚未分配' }}。"
        "{% if escalation_queue %}已升级至 {{ escalation_queue }}。{% endif %}"
        "{% if link %}\n{{ link }}{% endif %}",
    ),
    _t(
        "customer.anomaly_detected",
        "en",
        "Unusual activity: customer {{ customer.name or customer_id }}",
        "We noticed something unusual for {{ customer.name or customer_id }} ({{ customer_id }}):\n"
        "{{ reason }}\n"
        "Detected {{ detected_at | when }}.{% if open_ticket %} A ticket has been opened.{% endif %}"
        "{% if link %}\n{{ link }}{% endif %}",
    ),
    _t(
        "customer.anomaly_detected",
        "zh",
        "异常提醒：客户 {{ customer.name or customer_id }}",
        "客户 {{ customer.name or customer_id }}（{{ customer_id }}）出现异常情况：\n"
        "{{ reason }}\n"
        "发现时间：{{ detected_at | when }}。{% if open_ticket %}已为此创建工单。{% endif %}"
        "{% if link %}\n{{ link }}{% endif %}",
    ),
    _t(
        "ticket.resolved",
        "en",
        "How did we do? Ticket {{ number or ticket_id }}",
        "Hello {{ customer.name or recipient.name }},\n\n"
        "your request {{ number or ticket_id }} has been resolved. Tell us how we did, it takes a minute:\n"
        "{{ link }}\n\nThank you!",
    ),
    _t(
        "ticket.resolved",
        "zh",
        "请为我们的服务评分：工单 {{ number or ticket_id }}",
        "{{ customer.name or recipient.name }}您好：\n\n"
        "您的请求 {{ number or ticket_id }} 已处理完毕。欢迎花一分钟为我们的服务评分：\n"
        "{{ link }}\n\n谢谢！",
    ),
    _t(
        "work_order.status_changed",
        "en",
        "Update on your service visit {{ work_order_id }}",
        "{% set labels = {'scheduled': 'scheduled', 'en_route': 'on the way to you', 'on_site': 'on site', "
        "'completed': 'completed', 'needs_revisit': 'needs another visit', 'cancelled': 'cancelled'} %}"
        "Hello {{ customer.name or recipient.name }}, your service visit {{ work_order_id }} is now "
        "{{ labels.get(to_status, to_status) }}.{% if note %} {{ note }}{% endif %}",
    ),
    _t(
        "work_order.status_changed",
        "zh",
        "上门服务 {{ work_order_id }} 状态更新",
        "{% set labels = {'scheduled': '已预约', 'en_route': '技术人员正在路上', 'on_site': '技术人员已到达', "
        "'completed': '已完成', 'needs_revisit': '需要再次上门', 'cancelled': '已取消'} %}"
        "{{ customer.name or recipient.name }}您好，您的上门服务 {{ work_order_id }} 状态："
        "{{ labels.get(to_status, to_status) }}。{% if note %}{{ note }}{% endif %}",
    ),
    _t(ADHOC_KEY, "en", "{{ subject }}", "{{ body }}"),
    _t(ADHOC_KEY, "zh", "{{ subject }}", "{{ body }}"),
    _t(
        DIGEST_KEY,
        "en",
        "{{ count }} update{{ 's' if count != 1 }} for you",
        "Hello {{ recipient.name }}, here is a summary of your recent updates:\n"
        "{% for item in items %}\n- {{ item.at | when }}: {{ item.subject or item.body }}{% endfor %}"
        "{% if link %}\n\n{{ link }}{% endif %}",
    ),
    _t(
        DIGEST_KEY,
        "zh",
        "您有 {{ count }} 条新消息",
        "{{ recipient.name }}您好，以下是近期的消息汇总：\n"
        "{% for item in items %}\n- {{ item.at | when }}：{{ item.subject or item.body }}{% endfor %}"
        "{% if link %}\n\n{{ link }}{% endif %}",
    ),
)


def default_keys() -> Collection[str]:
    """Every key the defaults cover (each in English and Chinese)."""
    return sorted({t.key for t in DEFAULT_TEMPLATES})
