"""Unusual behaviour: each customer's own baselines over their event streams, and departures from them.

The seed story: a bank noticed that a 77-year-old customer was withdrawing far larger sums than she ever
had, called her, and kept her savings from a fraudster. So every judgement is against the customer's
own history, never against everyone's, and every finding says in one sentence what was seen and what
was usual, so that whoever gets it can pick up the phone.

Four detectors, each on its own observations (``observations_of`` turns an event into them):

* amount: a robust z-score of the log amount against a time-weighted median and MAD of the customer's
  recent amounts of the same metric (amounts are roughly log-normal; median and MAD ignore the odd
  outlier that a mean and variance would chase), the spread shrunk towards a typical one while there
  are few amounts. It must also be ``min_ratio`` times the usual amount and at least ``min_amount``,
  so a customer with very regular amounts is not flagged for paying a little more.
* frequency: events in a sliding window (a day) against the customer's long-run rate of that metric
  (a decayed count over the time before the window). The chance of the count is the negative binomial
  tail, the gamma-Poisson mixture: the rate is only estimated, and people have busy days, so a plain
  Poisson tail would cry wolf. Plus a minimum count and ratio.
* ticket_rate: tickets in the last 30 days against the customer's long-run rate the same way, with a
  weak prior so that a customer who never needed help before can still be judged.
* repeated_fault: N failures of the same product within D days, where a fault report and the ticket
  opened for it (or reports close together) are one failure; flagged once per run of N.

Judging always happens against the baseline as it was before the observation; then the baseline
learns it, clipped (an outlying amount enters at the detection boundary, a flagged burst not at all),
so that one fraud does not teach the detector that fraud is normal. No finding is made until there is
enough history. Everything is pure: ``observe`` takes the state and returns the next state.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from services.customer360.domain.value import money
from switchboard.events.v1 import integration_events_pb2, ticketing_events_pb2

KINDS = ("amount", "frequency", "ticket_rate", "repeated_fault")
_DAY = 86_400.0
_LN2 = math.log(2.0)
# The MAD of a normal distribution is this fraction of its standard deviation.
_MAD_TO_SIGMA = 1.4826
# Bounds on what one customer's state may hold, so the JSON on the profile row stays small.
_MAX_METRICS = 48
_MAX_ASSETS = 64
_MAX_RECENT = 256
_FORMAT = 1
_V = TypeVar("_V")


@dataclass(frozen=True)
class Observation:
    kind: str  # "amount" | "frequency" | "ticket_rate" | "repeated_fault"
    metric: str  # "account.transaction:withdrawal", "order.placed", "ticket.created", ...
    value: float  # amounts in minor units; 1 for a counted event
    at: datetime
    event_id: str
    event_type: str
    asset_id: str = ""
    # Amounts: ISO 4217. Amounts in different currencies never share a baseline.
    currency: str = ""
    # Repeated faults: the event this one follows from (a ticket opened for a fault report names the
    # report's event id as its creator), so that the two count as one failure.
    caused_by: str = ""


@dataclass(frozen=True)
class Finding:
    kind: str
    metric: str
    observed: float
    # The usual value: a median amount (minor units), an expected count in the window, or for
    # repeated faults the count that triggers a finding.
    baseline: float
    # In the detector's own scale: robust z-score (amount), observed/expected (frequency, ticket
    # rate), failures counted (repeated fault).
    score: float
    reason: str
    asset_id: str
    source_event_id: str
    source_event_type: str


@dataclass(frozen=True)
class DetectorConfig:
    # Amounts. Judged only once this many amounts of the metric are known.
    min_history: int = 10
    # The most recent amounts kept per metric.
    amount_memory: int = 40
    z_threshold: float = 5.0
    # ... and at least this many times the usual amount ...
    min_ratio: float = 3.0
    # ... and at least this much (minor units): a 6-times-usual coffee is not worth a call.
    min_amount: float = 10_000.0
    # Floor on the spread of log amounts, so that a customer who always pays the same sum is not
    # flagged for paying 30% more (log 1.25 ≈ 0.22).
    min_log_spread: float = 0.25
    # A few amounts say little about how much a customer's amounts vary: their spread is shrunk
    # towards this typical one (log units; 0.5 is "within a factor of 1.65 either way") as if it had
    # been seen prior_spread_weight times.
    prior_log_spread: float = 0.5
    prior_spread_weight: float = 15.0
    # Memory decay: an amount or event this old weighs half as much in a baseline.
    half_life: timedelta = timedelta(days=90)
    # Frequency (events of one metric per window, against the customer's long-run rate).
    frequency_window: timedelta = timedelta(days=1)
    frequency_min_count: int = 5
    frequency_ratio: float = 4.0
    # Judged once the metric has this much history before the window and this many events.
    frequency_min_history: timedelta = timedelta(days=21)
    frequency_min_events: int = 6
    # A count is unusual when the chance of at least that many, had the customer kept to their
    # baseline, is below this (see _count_tail).
    frequency_p_value: float = 1e-4
    # Day-to-day variation of a customer's activity beyond chance (a busy day, payday): the counts
    # are taken as negative binomial with at most this size; smaller is more forgiving.
    frequency_dispersion: float = 1.0
    # Ticket rate (tickets per window against the customer's long-run rate, with a weak prior of
    # ticket_prior tickets per window as if seen over ticket_prior_span).
    ticket_window: timedelta = timedelta(days=30)
    ticket_min_count: int = 3
    ticket_ratio: float = 3.0
    ticket_min_history: timedelta = timedelta(days=30)
    ticket_prior: float = 0.5
    ticket_prior_span: timedelta = timedelta(days=60)
    ticket_p_value: float = 1e-3
    ticket_dispersion: float = 2.0
    # Repeated faults: fault_count failures of one asset within fault_window; reports of the same
    # asset within fault_merge of each other are one failure.
    fault_count: int = 3
    fault_window: timedelta = timedelta(days=30)
    fault_merge: timedelta = timedelta(days=1)

    def __post_init__(self) -> None:
        positive = {
            "min_history": self.min_history,
            "amount_memory": self.amount_memory,
            "z_threshold": self.z_threshold,
            "min_ratio": self.min_ratio,
            "min_log_spread": self.min_log_spread,
            "frequency_min_count": self.frequency_min_count,
            "frequency_ratio": self.frequency_ratio,
            "ticket_min_count": self.ticket_min_count,
            "ticket_ratio": self.ticket_ratio,
            "fault_count": self.fault_count,
        }
        for name, number in positive.items():
            if number <= 0:
                raise ValueError(f"DetectorConfig.{name} must be positive, not {number}")
        for name in ("half_life", "frequency_window", "ticket_window", "fault_window"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"DetectorConfig.{name} must be a positive duration")
        for name in ("frequency_p_value", "ticket_p_value"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"DetectorConfig.{name} must be between 0 and 1, not {getattr(self, name)}")
        for name in ("frequency_dispersion", "ticket_dispersion"):
            if getattr(self, name) <= 0:
                raise ValueError(f"DetectorConfig.{name} must be positive, not {getattr(self, name)}")


# --- state -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AmountHistory:
    """One metric's recent amounts: (epoch seconds, minor units), oldest first."""

    samples: tuple[tuple[float, float], ...] = ()
    # Every amount ever seen, including those that fell out of memory.
    seen: int = 0


@dataclass(frozen=True)
class RateHistory:
    """One metric's event rate: events in the sliding window, and a decayed count of those before it."""

    # The first event (epoch seconds): the baseline's exposure runs from here.
    first: float
    # The decayed count of events that left the window, as of the epoch ``ref``.
    weight: float = 0.0
    ref: float = 0.0
    # Events inside the window: (epoch seconds, weight) oldest first; weight 0 for a flagged burst,
    # which never enters the baseline.
    recent: tuple[tuple[float, float], ...] = ()
    seen: int = 0
    # After a finding, no other until the window has passed: one burst, one call.
    quiet_until: float = 0.0


@dataclass(frozen=True)
class AssetHistory:
    """One product's failures inside the fault window: (epoch seconds, event ids of the failure)."""

    failures: tuple[tuple[float, tuple[str, ...]], ...] = ()
    # The epoch of the last finding: only failures after it count towards the next.
    flagged_at: float = 0.0


@dataclass(frozen=True)
class Baselines:
    """All of one customer's baselines; stored as JSON text on the profile row."""

    # The first observation of any kind (epoch seconds): how long we have known the customer.
    since: float | None = None
    amounts: Mapping[str, AmountHistory] = field(default_factory=dict)
    rates: Mapping[str, RateHistory] = field(default_factory=dict)
    assets: Mapping[str, AssetHistory] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> Baselines:
        return cls()

    def to_json(self) -> str:
        # Times and values as parallel lists: half the text of pairs, and zipped back at C speed.
        document = {
            "format": _FORMAT,
            "since": self.since,
            "amounts": {
                key: {"seen": h.seen, "at": [at for at, _ in h.samples], "value": [v for _, v in h.samples]}
                for key, h in self.amounts.items()
            },
            "rates": {
                key: {
                    "first": h.first,
                    "weight": h.weight,
                    "ref": h.ref,
                    "recent_at": [at for at, _ in h.recent],
                    "recent_weight": [w for _, w in h.recent],
                    "seen": h.seen,
                    "quiet_until": h.quiet_until,
                }
                for key, h in self.rates.items()
            },
            "assets": {
                key: {"failures": [[at, list(ids)] for at, ids in h.failures], "flagged_at": h.flagged_at}
                for key, h in self.assets.items()
            },
        }
        return json.dumps(document, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Baselines:
        """The state ``to_json`` wrote; "" is the empty state. ValueError when the text is not one."""
        if not text.strip():
            return cls.empty()
        try:
            document = json.loads(text)
            if document.get("format") != _FORMAT:
                raise ValueError(f"unknown baselines format {document.get('format')!r}")
            return cls(
                since=None if document["since"] is None else _number(document["since"]),
                amounts={
                    key: AmountHistory(samples=_pairs(h["at"], h["value"]), seen=int(h["seen"]))
                    for key, h in document["amounts"].items()
                },
                rates={
                    key: RateHistory(
                        first=_number(h["first"]),
                        weight=_number(h["weight"]),
                        ref=_number(h["ref"]),
                        recent=_pairs(h["recent_at"], h["recent_weight"]),
                        seen=int(h["seen"]),
                        quiet_until=_number(h["quiet_until"]),
                    )
                    for key, h in document["rates"].items()
                },
                assets={
                    key: AssetHistory(
                        failures=tuple((_number(at), tuple(str(i) for i in ids)) for at, ids in h["failures"]),
                        flagged_at=_number(h["flagged_at"]),
                    )
                    for key, h in document["assets"].items()
                },
            )
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise ValueError(f"not a customer's baselines: {error}") from error


def _number(value: object) -> float:
    """A number as JSON held it (an int stays an int, so the text round-trips unchanged)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, not {value!r}")
    return value


def _pairs(first: list[float], second: list[float]) -> tuple[tuple[float, float], ...]:
    # The text is our own: the lengths are checked, the numbers are trusted (checking each one
    # would double the cost of reading the state, on every event).
    if len(first) != len(second):
        raise TypeError("expected two lists of the same length")
    return tuple(zip(first, second, strict=True))


# --- events to observations ------------------------------------------------------------------------


def _when(payload: Message, name: str, fallback: datetime) -> datetime:
    """The payload's own time when it has one (the event happened then), else the envelope's."""
    if payload.HasField(name):
        stamp: Timestamp = getattr(payload, name)
        return stamp.ToDatetime(tzinfo=UTC)
    return fallback


def _transaction(payload: Message, at: datetime, event_id: str) -> list[Observation]:
    assert isinstance(payload, integration_events_pb2.AccountTransaction)
    when = _when(payload, "occurred_at", at)
    metric = f"account.transaction:{payload.kind.strip().lower()}"
    found = [Observation("frequency", metric, 1.0, when, event_id, "account.transaction")]
    if payload.amount_minor > 0:
        amount = float(payload.amount_minor)
        found.insert(
            0, Observation("amount", metric, amount, when, event_id, "account.transaction", currency=payload.currency)
        )
    return found


def _payment(payload: Message, at: datetime, event_id: str) -> list[Observation]:
    assert isinstance(payload, integration_events_pb2.PaymentReceived)
    if payload.amount_minor <= 0:
        return []
    when = _when(payload, "received_at", at)
    return [
        Observation(
            "amount",
            "payment.received",
            float(payload.amount_minor),
            when,
            event_id,
            "payment.received",
            currency=payload.currency,
        )
    ]


def _order(payload: Message, at: datetime, event_id: str) -> list[Observation]:
    assert isinstance(payload, integration_events_pb2.OrderPlaced)
    when = _when(payload, "placed_at", at)
    total = payload.total_minor
    if total < 0:  # a refund or cancellation: its own baseline
        return [
            Observation(
                "amount",
                "order.placed:refund",
                float(-total),
                when,
                event_id,
                "order.placed",
                currency=payload.currency,
            )
        ]
    found = [Observation("frequency", "order.placed", 1.0, when, event_id, "order.placed")]
    if total > 0:
        found.insert(
            0,
            Observation(
                "amount", "order.placed", float(total), when, event_id, "order.placed", currency=payload.currency
            ),
        )
    return found


def _ticket(payload: Message, at: datetime, event_id: str) -> list[Observation]:
    assert isinstance(payload, ticketing_events_pb2.TicketCreated)
    when = _when(payload, "created_at", at)
    found = [Observation("ticket_rate", "ticket.created", 1.0, when, event_id, "ticket.created")]
    if payload.asset_id:
        found.append(
            Observation(
                "repeated_fault",
                "ticket.created",
                1.0,
                when,
                event_id,
                "ticket.created",
                asset_id=payload.asset_id,
                caused_by=payload.created_by,
            )
        )
    return found


def _fault(payload: Message, at: datetime, event_id: str) -> list[Observation]:
    assert isinstance(payload, integration_events_pb2.DeviceFaultReported)
    when = _when(payload, "detected_at", at)
    return [
        Observation(
            "repeated_fault",
            "device.fault_reported",
            1.0,
            when,
            event_id,
            "device.fault_reported",
            asset_id=payload.asset_id,
        )
    ]


_READERS: dict[str, tuple[type[Message], Callable[[Message, datetime, str], list[Observation]]]] = {
    "account.transaction": (integration_events_pb2.AccountTransaction, _transaction),
    "payment.received": (integration_events_pb2.PaymentReceived, _payment),
    "order.placed": (integration_events_pb2.OrderPlaced, _order),
    "ticket.created": (ticketing_events_pb2.TicketCreated, _ticket),
    "device.fault_reported": (integration_events_pb2.DeviceFaultReported, _fault),
}
OBSERVED_EVENT_TYPES = frozenset(_READERS)


def observations_of(event_type: str, payload: Message, at: datetime, event_id: str) -> list[Observation]:
    """What the detectors learn from one event; [] for an event type they do not watch.

    ``at`` is the envelope's occurred-at, used when the payload has no time of its own.
    """
    reader = _READERS.get(event_type)
    if reader is None:
        return []
    expected, read = reader
    if not isinstance(payload, expected):
        raise TypeError(f"{event_type} carries {expected.DESCRIPTOR.full_name}, not {payload.DESCRIPTOR.full_name}")
    return read(payload, _aware(at), event_id)


# --- the detectors ---------------------------------------------------------------------------------


def observe(baselines: Baselines, observation: Observation, config: DetectorConfig) -> tuple[Baselines, list[Finding]]:
    """Judge one observation against the customer's baselines, then learn it. Pure and deterministic."""
    # Whole seconds: finer does not change a judgement, and keeps the stored JSON short.
    at = round(_aware(observation.at).timestamp())
    since = at if baselines.since is None else min(baselines.since, at)
    state = replace(baselines, since=since) if since != baselines.since else baselines
    if observation.kind == "amount":
        return _observe_amount(state, observation, at, config)
    if observation.kind == "frequency":
        return _observe_frequency(state, observation, at, config)
    if observation.kind == "ticket_rate":
        return _observe_tickets(state, observation, at, config)
    if observation.kind == "repeated_fault":
        return _observe_fault(state, observation, at, config)
    raise ValueError(f"unknown observation kind {observation.kind!r}; expected one of {', '.join(KINDS)}")


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _decay(age_seconds: float, config: DetectorConfig) -> float:
    return float(0.5 ** (max(age_seconds, 0.0) / config.half_life.total_seconds()))


def _weighted_median(pairs: list[tuple[float, float]]) -> float:
    """The median of (value, weight) pairs."""
    pairs.sort()
    half = sum(w for _, w in pairs) / 2.0
    running = 0.0
    for number, weight in pairs:
        running += weight
        if running >= half:
            return number
    return pairs[-1][0]


def _bounded(entries: dict[str, _V], key: str, entry: _V, latest: Callable[[_V], float], cap: int) -> dict[str, _V]:
    """``entries`` with ``key`` set; when over ``cap``, the entry least recently active is forgotten."""
    entries[key] = entry
    if len(entries) > cap:
        stalest = min((k for k in entries if k != key), key=lambda k: latest(entries[k]))
        del entries[stalest]
    return entries


def _observe_amount(
    state: Baselines, observation: Observation, at: float, config: DetectorConfig
) -> tuple[Baselines, list[Finding]]:
    amount = observation.value
    if not amount > 0 or not math.isfinite(amount):
        return state, []
    key = f"{observation.metric} {observation.currency}".rstrip()
    history = state.amounts.get(key, AmountHistory())
    findings: list[Finding] = []
    stored: float = amount
    if len(history.samples) >= config.min_history:
        pairs = [(math.log(v), _decay(at - when, config)) for when, v in history.samples]
        centre = _weighted_median(list(pairs))
        spread = _weighted_median([(abs(x - centre), w) for x, w in pairs])
        n, k = len(pairs), config.prior_spread_weight
        shrunk = math.sqrt((n * (_MAD_TO_SIGMA * spread) ** 2 + k * config.prior_log_spread**2) / (n + k))
        scale = max(shrunk, config.min_log_spread)
        z = (math.log(amount) - centre) / scale
        usual = math.exp(centre)
        ratio = amount / usual
        if z >= config.z_threshold and ratio >= config.min_ratio and amount >= config.min_amount:
            findings.append(
                Finding(
                    kind="amount",
                    metric=observation.metric,
                    observed=amount,
                    baseline=round(usual, 2),
                    score=z,
                    reason=_amount_reason(observation, usual, ratio, history),
                    asset_id=observation.asset_id,
                    source_event_id=observation.event_id,
                    source_event_type=observation.event_type,
                )
            )
        # An outlier enters the baseline at the detection boundary, not at its own size.
        stored = min(amount, round(math.exp(centre + config.z_threshold * scale), 2))
    samples = (*history.samples, (at, stored))[-config.amount_memory :]
    if samples and len(samples) > 1 and samples[-1][0] < samples[-2][0]:
        samples = tuple(sorted(samples))  # an event that arrived late
    entries = _bounded(
        dict(state.amounts),
        key,
        AmountHistory(samples=samples, seen=history.seen + 1),
        lambda h: h.samples[-1][0] if h.samples else 0.0,
        _MAX_METRICS,
    )
    return replace(state, amounts=entries), findings


def _count_tail(count: int, mean: float, size: float) -> float:
    """P(N >= count) for N negative binomial with this mean and size (Poisson as size grows).

    The gamma-Poisson mixture: the customer's rate is uncertain (estimated from few events) and
    varies from day to day, so the count has a heavier tail than Poisson. Summed upwards from
    ``count`` so that far-tail probabilities keep their precision.
    """
    if count <= 0:
        return 1.0
    if mean <= 0.0:
        return 0.0
    q = mean / (mean + size)  # the chance of "one more" in the negative binomial's terms
    log_pmf = (
        math.lgamma(count + size)
        - math.lgamma(size)
        - math.lgamma(count + 1)
        + size * math.log1p(-q)
        + count * math.log(q)
    )
    if count <= mean:
        return 1.0  # not even above the usual: never unusual
    total, term, k = 0.0, math.exp(log_pmf), count
    while term > total * 1e-10 and k < count + 10_000:
        total += term
        term *= (k + size) / (k + 1) * q
        k += 1
    return min(total, 1.0)


@dataclass(frozen=True)
class _RateRule:
    kind: str
    window: timedelta
    min_count: int
    ratio: float
    min_history: timedelta
    min_events: int
    p_value: float
    dispersion: float
    # Pseudo-events and pseudo-exposure (seconds) added to the baseline.
    prior_events: float
    prior_seconds: float
    # Whose history the exposure runs from: the metric's first event, or the customer's first.
    from_customer: bool


def _frequency_rule(config: DetectorConfig) -> _RateRule:
    return _RateRule(
        "frequency",
        config.frequency_window,
        config.frequency_min_count,
        config.frequency_ratio,
        config.frequency_min_history,
        config.frequency_min_events,
        config.frequency_p_value,
        config.frequency_dispersion,
        0.0,
        0.0,
        from_customer=False,
    )


def _ticket_rule(config: DetectorConfig) -> _RateRule:
    span = config.ticket_prior_span.total_seconds()
    return _RateRule(
        "ticket_rate",
        config.ticket_window,
        config.ticket_min_count,
        config.ticket_ratio,
        config.ticket_min_history,
        0,
        config.ticket_p_value,
        config.ticket_dispersion,
        config.ticket_prior * span / config.ticket_window.total_seconds(),
        span,
        from_customer=True,
    )


def _observe_frequency(
    state: Baselines, observation: Observation, at: float, config: DetectorConfig
) -> tuple[Baselines, list[Finding]]:
    return _observe_rate(state, observation, at, config, _frequency_rule(config))


def _observe_tickets(
    state: Baselines, observation: Observation, at: float, config: DetectorConfig
) -> tuple[Baselines, list[Finding]]:
    return _observe_rate(state, observation, at, config, _ticket_rule(config))


def _observe_rate(
    state: Baselines, observation: Observation, at: float, config: DetectorConfig, rule: _RateRule
) -> tuple[Baselines, list[Finding]]:
    key = f"{rule.kind}:{observation.metric}"
    window = rule.window.total_seconds()
    start = at - window
    history = state.rates.get(key) or RateHistory(first=at, ref=start)
    # Events that have left the window join the long-run count, decayed to the window's start.
    ref = max(history.ref, start)
    weight = history.weight * _decay(ref - history.ref, config)
    recent = list(history.recent)
    while recent and (recent[0][0] <= start or len(recent) >= _MAX_RECENT):
        when, w = recent.pop(0)
        weight += w * _decay(ref - when, config)
    first = min(history.first, at)
    origin = min(first, state.since if rule.from_customer and state.since is not None else first)
    findings: list[Finding] = []
    count = 1 + len(recent)
    quiet = at < history.quiet_until
    exposure = start - origin  # seconds of history before the window
    if (
        not quiet
        and count >= rule.min_count
        and exposure >= rule.min_history.total_seconds()
        and history.seen >= rule.min_events
    ):
        half_life = config.half_life.total_seconds()
        decayed_exposure = half_life / _LN2 * (1.0 - 0.5 ** (exposure / half_life))
        # The rate's gamma posterior: events before the window (plus the prior) over the time they
        # took; the window's count is then negative binomial, whose size is how sure we are.
        events = max(weight, 0.5 if not rule.prior_events else 0.0) + rule.prior_events
        expected = events / (decayed_exposure + rule.prior_seconds) * window
        ratio = count / expected
        if ratio >= rule.ratio and _count_tail(count, expected, min(events, rule.dispersion)) <= rule.p_value:
            findings.append(
                Finding(
                    kind=rule.kind,
                    metric=observation.metric,
                    observed=float(count),
                    baseline=expected,
                    score=ratio,
                    reason=_rate_reason(rule, observation, count, expected, history.seen - len(recent), start - origin),
                    asset_id=observation.asset_id,
                    source_event_id=observation.event_id,
                    source_event_type=observation.event_type,
                )
            )
    quiet_until = history.quiet_until
    if findings:
        # The burst stays out of the baseline (weight 0), and is reported once.
        recent = [(when, 0) for when, _ in recent]
        quiet_until = at + window
    recent.append((at, 0 if findings or quiet else 1))
    if len(recent) > 1 and recent[-1][0] < recent[-2][0]:
        recent.sort()
    entry = RateHistory(
        first=first,
        weight=round(weight, 6),  # more digits would only lengthen the stored text
        ref=ref,
        recent=tuple(recent),
        seen=history.seen + 1,
        quiet_until=quiet_until,
    )
    entries = _bounded(dict(state.rates), key, entry, lambda h: h.recent[-1][0] if h.recent else h.ref, _MAX_METRICS)
    return replace(state, rates=entries), findings


def _observe_fault(
    state: Baselines, observation: Observation, at: float, config: DetectorConfig
) -> tuple[Baselines, list[Finding]]:
    asset = observation.asset_id
    if not asset:
        return state, []
    horizon = at - config.fault_window.total_seconds()
    merge = config.fault_merge.total_seconds()
    history = state.assets.get(asset, AssetHistory())
    failures = [(when, ids) for when, ids in history.failures if when > horizon]
    # The same failure again: a ticket opened for a report, or another report close to one.
    same = next(
        (
            i
            for i, (when, ids) in enumerate(failures)
            if (observation.caused_by and observation.caused_by in ids) or abs(when - at) <= merge
        ),
        None,
    )
    findings: list[Finding] = []
    flagged_at = history.flagged_at
    if same is not None:
        when, ids = failures[same]
        failures[same] = (when, (*ids, observation.event_id)[-8:])
    else:
        failures.append((at, (observation.event_id,)))
        failures.sort()
        counted = [when for when, _ in failures if when > flagged_at]
        if len(counted) >= config.fault_count:
            findings.append(
                Finding(
                    kind="repeated_fault",
                    metric=observation.metric,
                    observed=float(len(counted)),
                    baseline=float(config.fault_count),
                    score=float(len(counted)),
                    reason=_fault_reason(asset, len(counted), counted[0], at),
                    asset_id=asset,
                    source_event_id=observation.event_id,
                    source_event_type=observation.event_type,
                )
            )
            flagged_at = at
    assets = {
        key: entry
        for key, entry in state.assets.items()
        if key != asset and entry.failures and entry.failures[-1][0] > horizon
    }
    assets = _bounded(
        assets,
        asset,
        AssetHistory(failures=tuple(failures), flagged_at=flagged_at),
        lambda h: h.failures[-1][0] if h.failures else 0.0,
        _MAX_ASSETS,
    )
    return replace(state, assets=assets), findings


# --- reasons ---------------------------------------------------------------------------------------

# Transaction kinds whose noun is not the kind itself.
_NOUNS = {
    "transfer_out": ("outgoing transfer", "outgoing transfers"),
    "transfer_in": ("incoming transfer", "incoming transfers"),
    "order.placed": ("order", "orders"),
    "order.placed:refund": ("refund", "refunds"),
    "payment.received": ("payment", "payments"),
    "ticket.created": ("ticket", "tickets"),
}


def _nouns(metric: str) -> tuple[str, str]:
    if metric in _NOUNS:
        return _NOUNS[metric]
    kind = metric.rpartition(":")[2] or metric
    if kind in _NOUNS:
        return _NOUNS[kind]
    noun = kind.replace("_", " ")
    return noun, noun if noun.endswith("s") else f"{noun}s"


def _money(minor: float, currency: str) -> str:
    return money(round(minor), currency)


def _times(ratio: float) -> str:
    return f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}".removesuffix(".0")


def _amount_reason(observation: Observation, usual: float, ratio: float, history: AmountHistory) -> str:
    one, many = _nouns(observation.metric)
    n = len(history.samples)
    of = f"median of {n} {many}" if history.seen <= n else f"median of their last {n} {many}"
    return (
        f"{one} of {_money(observation.value, observation.currency)} is {_times(ratio)} times this customer's "
        f"usual {_money(usual, observation.currency)} ({of})"
    )


def _span(seconds: float) -> str:
    days = seconds / _DAY
    if days < 2:
        return f"{seconds / 3600:.0f} hours"
    if days < 60:
        return f"{days:.0f} days"
    return f"{days / 30.4:.0f} months"


def _rate(per_window: float, window: float) -> str:
    """An expected count in a natural unit: "2.5 a day", "1.2 a week", "0.3 a month"."""
    per_day = per_window / (window / _DAY)
    for unit, days in (("day", 1.0), ("week", 7.0), ("month", 30.0)):
        if per_day * days >= (1.0 if unit == "day" else 0.5) or unit == "month":
            figure = per_day * days
            return f"{figure:.1f} a {unit}" if figure < 10 else f"{figure:.0f} a {unit}"
    raise AssertionError("unreachable")


def _rate_reason(
    rule: _RateRule, observation: Observation, count: int, expected: float, before: int, known: float
) -> str:
    one, many = _nouns(observation.metric)
    window = rule.window.total_seconds()
    head = f"{count} {many} in the last {_span(window)}, against this customer's usual {_rate(expected, window)}"
    basis = f"{before} {one if before == 1 else many} in the {_span(known)} before"
    if rule.kind == "ticket_rate":
        return f"{head} ({basis}): something keeps going wrong for them; worth a call before they give up on us"
    return f"{head} ({basis}); check with the customer that these were theirs"


def _fault_reason(asset: str, count: int, first: float, at: float) -> str:
    since = datetime.fromtimestamp(first, UTC).strftime("%Y-%m-%d")
    return (
        f"product {asset} has failed {count} times in {_span(max(at - first, 3600.0))} (since {since}); "
        "the repairs are not holding: consider a senior technician or a replacement"
    )
