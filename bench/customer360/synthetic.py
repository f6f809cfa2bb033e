"""A seeded, synthetic population of customers and ~6 months of their events, with labelled anomalies.

Customers differ: which transaction kinds they use, how often (from once a month to several times a
day), their usual amounts (tens to thousands of euros) and how much those vary, whether they order
from the shop, pay a monthly bill, call for help, and own connected products that sometimes fail.
Days differ too (a busy day, a quiet day, a holiday), amounts have natural outliers (the odd big
purchase, 1.5 to 3.5 times the usual), and some customers change a habit half-way through (a pay rise):
all of that is normal, and a finding about it counts as a false positive.

Injected after a warm-up, one per chosen customer, each labelled with the events that make it up:

* amount: one transaction or order (of a habit seen at least weekly) far outside the customer's own
  spread for that kind (4.5 to 7 of their standard deviations of log amount, and at least 4 times their
  usual amount and 200.00), or three such withdrawals within a week (the seed story);
* frequency: 5 to 10 extra transactions or orders of one kind within a few hours, at ordinary amounts;
* ticket_rate: 4 to 7 extra tickets within 1 to 3 weeks from a customer who rarely needs help (and
  whom we know from other events too);
* repeated_fault: 3 to 5 failures of one product within 5 to 25 days (each a device fault report and
  usually the ticket opened for it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

DAY = 86_400.0
START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
KINDS = ("withdrawal", "deposit", "purchase", "transfer_out", "transfer_in")
FAULT_CODES = ("E21", "E07", "F3", "P-12", "LOW_PRESSURE")
# Injected anomalies start after this many days, so each customer has some history by then.
WARM_UP_DAYS = 75


@dataclass(frozen=True)
class Event:
    at: float  # epoch seconds
    event_id: str
    customer: int
    event_type: str
    # account.transaction: (kind, amount_minor); payment.received: (amount_minor,); order.placed:
    # (total_minor,); ticket.created: (asset_id, created_by); device.fault_reported: (asset_id, code).
    data: tuple[str | int, ...]


@dataclass(frozen=True)
class Incident:
    kind: str
    customer: int
    event_ids: frozenset[str]
    note: str


@dataclass
class Population:
    customers: int
    days: int
    seed: int
    events: list[Event] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)


@dataclass(frozen=True)
class _Stream:
    """One customer's habit: events of one type/kind, their rate and amounts."""

    event_type: str
    kind: str
    per_day: float
    median_minor: float
    sigma: float
    # Once a month on about the same day (salary, a bill) rather than at random.
    monthly: bool = False


class _Builder:
    def __init__(self, customers: int, days: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.population = Population(customers, days, seed)
        self.days = days
        self._next = 0
        self._prefix = f"s{seed}-"

    def event(self, at: float, customer: int, event_type: str, data: tuple[str | int, ...]) -> Event:
        self._next += 1
        made = Event(at, f"{self._prefix}{self._next:08d}", customer, event_type, data)
        self.population.events.append(made)
        return made

    def _log_uniform(self, low: float, high: float) -> float:
        return float(math.exp(self.rng.uniform(math.log(low), math.log(high))))

    def _moment(self, day: float) -> float:
        """A time on ``day`` between 07:00 and 22:00."""
        return START + day * DAY + float(self.rng.uniform(7 * 3600, 22 * 3600))

    def streams(self) -> list[_Stream]:
        rng = self.rng
        found: list[_Stream] = []
        if rng.random() < 0.6:  # a bank customer
            for kind in KINDS:
                if rng.random() > (0.9 if kind in ("withdrawal", "purchase") else 0.5):
                    continue
                if kind == "deposit" and rng.random() < 0.6:
                    found.append(
                        _Stream("account.transaction", kind, 1 / 30, self._log_uniform(80_000, 600_000), 0.02, True)
                    )
                    continue
                top = 2.0 if kind == "purchase" else 0.7
                found.append(
                    _Stream(
                        "account.transaction",
                        kind,
                        self._log_uniform(1 / 30, top),
                        self._log_uniform(1_500, 200_000),
                        float(rng.uniform(0.15, 0.9)),
                    )
                )
        if rng.random() < 0.7:
            found.append(
                _Stream(
                    "order.placed",
                    "",
                    self._log_uniform(0.3, 6) / 30,
                    self._log_uniform(1_500, 80_000),
                    float(rng.uniform(0.3, 1.0)),
                )
            )
        if rng.random() < 0.5:
            found.append(_Stream("payment.received", "", 1 / 30, self._log_uniform(2_000, 30_000), 0.05, True))
        return found

    def amount(self, stream: _Stream, scale: float = 1.0) -> int:
        value = stream.median_minor * scale * math.exp(float(self.rng.normal(0.0, stream.sigma)))
        if self.rng.random() < 0.005:  # the odd big purchase, a normal thing to do now and then
            value *= float(self.rng.uniform(1.5, 3.5))
        return max(1, round(value))

    def emit(self, customer: int, stream: _Stream, at: float, scale: float = 1.0) -> Event:
        amount = self.amount(stream, scale)
        if stream.event_type == "account.transaction":
            return self.event(at, customer, stream.event_type, (stream.kind, amount))
        if stream.event_type == "order.placed":
            # A few orders are refunds of an earlier one.
            return self.event(at, customer, stream.event_type, (-amount if self.rng.random() < 0.04 else amount,))
        return self.event(at, customer, stream.event_type, (amount,))

    def customer(self, customer: int) -> dict[str, object]:
        rng = self.rng
        days = self.days
        # A busy or quiet day scales all of the customer's activity; a few days off do nothing.
        activity = rng.gamma(3.0, 1 / 3.0, size=days) * (rng.random(days) > 0.05)
        streams = self.streams()
        shift_day, shifted = (
            (int(rng.integers(30, days)), int(rng.integers(len(streams))))
            if streams and rng.random() < 0.05
            else (days, -1)
        )
        for index, stream in enumerate(streams):
            if stream.monthly:
                offset = float(rng.uniform(0, 28))
                for month in range(int(days / 30.4) + 1):
                    moment = month * 30.4 + offset + float(rng.normal(0, 1))
                    if 0 <= moment < days:
                        self.emit(customer, stream, self._moment(math.floor(moment)))
                continue
            counts = rng.poisson(stream.per_day * activity).tolist()
            for day, count in enumerate(counts):
                for _ in range(count):
                    scale = float(rng.uniform(1.5, 2.5)) if index == shifted and day >= shift_day else 1.0
                    self.emit(customer, stream, self._moment(day), scale)
        tickets_per_day = self._log_uniform(0.03, 1.5) / 30
        for day, count in enumerate(rng.poisson(tickets_per_day, size=days).tolist()):
            for _ in range(count):
                self.event(self._moment(day), customer, "ticket.created", ("", f"user-{customer}"))
        assets = [f"SN-{customer:05d}-{n}" for n in range(int(rng.choice([0, 0, 1, 1, 2, 3])))]
        for asset in assets:
            per_day = self._log_uniform(0.01, 0.1) / 30
            for day, count in enumerate(rng.poisson(per_day, size=days).tolist()):
                for _ in range(count):
                    self.failure(customer, asset, START + day * DAY + float(rng.uniform(0, DAY)))
        return {"streams": streams, "tickets_per_day": tickets_per_day, "assets": assets}

    def failure(self, customer: int, asset: str, at: float) -> list[Event]:
        rng = self.rng
        fault = self.event(at, customer, "device.fault_reported", (asset, str(rng.choice(FAULT_CODES))))
        made = [fault]
        if rng.random() < 0.8:  # ticketing opens a ticket for the report a little later
            made.append(
                self.event(at + float(rng.uniform(30, 1800)), customer, "ticket.created", (asset, fault.event_id))
            )
        if rng.random() < 0.15:  # and sometimes the customer calls about it as well
            made.append(
                self.event(
                    at + float(rng.uniform(2 * 3600, 48 * 3600)),
                    customer,
                    "ticket.created",
                    (asset, f"user-{customer}"),
                )
            )
        return made


def _inject(builder: _Builder, customer: int, habits: dict[str, object], kind: str) -> Incident | None:
    rng = builder.rng
    days = builder.days
    streams: list[_Stream] = habits["streams"]  # type: ignore[assignment]
    start = WARM_UP_DAYS + float(rng.uniform(0, days - WARM_UP_DAYS - 30))
    if kind == "amount":
        # Habits seen at least weekly, so that there is a baseline by the time of the anomaly.
        fit = [s for s in streams if s.median_minor * 5 >= 20_000 and s.per_day >= 1 / 7 and not s.monthly]
        if not fit:
            return None
        stream = fit[int(rng.integers(len(fit)))]
        story = stream.kind == "withdrawal" and rng.random() < 0.3
        made = []
        for n in range(3 if story else 1):
            # Unusual for this customer: far outside their own spread, and at least 4 times their usual.
            factor = max(4.0, math.exp(stream.sigma * float(rng.uniform(4.5, 7.0))))
            amount = max(20_000, round(stream.median_minor * factor))
            at = builder._moment(math.floor(start + n * float(rng.uniform(1, 3))))
            data: tuple[str | int, ...] = (stream.kind, amount) if stream.kind else (amount,)
            made.append(builder.event(at, customer, stream.event_type, data))
        note = "three large withdrawals in a week" if story else f"{stream.kind or stream.event_type} x large"
        return Incident(kind, customer, frozenset(e.event_id for e in made), note)
    if kind == "frequency":
        fit = [s for s in streams if s.event_type != "payment.received" and not s.monthly and s.per_day <= 1.0]
        if not fit:
            return None
        stream = fit[int(rng.integers(len(fit)))]
        begin = builder._moment(math.floor(start))
        burst = int(rng.integers(5, 11))
        span = float(rng.uniform(3600, 6 * 3600))
        made = [builder.emit(customer, stream, begin + span * float(rng.random())) for _ in range(burst)]
        return Incident(
            kind, customer, frozenset(e.event_id for e in made), f"{burst} x {stream.kind or stream.event_type}"
        )
    if kind == "ticket_rate":
        # A customer who rarely needs help, and whom we know from more than their tickets.
        if float(habits["tickets_per_day"]) * 30 > 0.5 or not streams:  # type: ignore[arg-type]
            return None
        count = int(rng.integers(4, 8))
        span = float(rng.uniform(7, 21))
        made = [
            builder.event(
                builder._moment(math.floor(start + span * float(rng.random()))),
                customer,
                "ticket.created",
                ("", f"user-{customer}"),
            )
            for _ in range(count)
        ]
        return Incident(kind, customer, frozenset(e.event_id for e in made), f"{count} tickets in {span:.0f} days")
    assets: list[str] = habits["assets"]  # type: ignore[assignment]
    if not assets:
        return None
    asset = assets[int(rng.integers(len(assets)))]
    count = int(rng.integers(3, 6))
    span = float(rng.uniform(5, 25))
    moments = sorted(start + span * float(rng.random()) for _ in range(count))
    # Failures at least a day apart: the same failure reported twice is not a repeated one.
    made = [e for n, day in enumerate(moments) for e in builder.failure(customer, asset, START + (day + n) * DAY)]
    return Incident(
        kind, customer, frozenset(e.event_id for e in made), f"{asset} failed {count} times in {span:.0f} days"
    )


def generate(customers: int, days: int, seed: int, share: float = 0.05) -> Population:
    """``customers`` customers over ``days`` days; about ``share`` of them get an anomaly of each kind."""
    builder = _Builder(customers, days, seed)
    population = builder.population
    kinds = ("amount", "frequency", "ticket_rate", "repeated_fault")
    for customer in range(customers):
        habits = builder.customer(customer)
        draw = float(builder.rng.random())
        if draw < share * len(kinds):
            incident = _inject(builder, customer, habits, kinds[int(draw / share)])
            if incident is not None:
                population.incidents.append(incident)
    population.events.sort(key=lambda e: (e.at, e.event_id))
    return population
