"""``python -m bench.customer360.view``: customer-360 at scale, on PostgreSQL and RabbitMQ, in the production layout.

What issue 5 asks: GetCustomerView latency with 1,000,000 customers and 10,000,000 timeline
entries; how soon an event from another system shows on the view under a steady event load; and
how many events per second the consumer applies.

The population is bulk-loaded with COPY into customer-360's migrated tables of a throwaway database
(the tables' own indexes are dropped for the load and rebuilt from their definitions afterwards, then
everything is vacuumed and analyzed, as autovacuum would have done long before). Customers differ as
they do in service: most have a handful of timeline entries, one in two hundred has hundreds; each has
a phone, most an email, many another system's id; about 1.5 products; tickets (the open ones in the
view), ratings, the value items behind their tier, the odd open anomaly, and some "known from events"
profiles, half of them merged into a customer.

Then customer360 runs as in production (one process per role: api, consumer, relay) on a fresh
RabbitMQ vhost, and the bench measures through the real gRPC API and the real exchange:

* GetCustomerView for random customers and for heavy ones, at concurrency 1 and ``--concurrency``;
  FindCustomers by phone as the network presents it (the screen pop); the plan of every statement
  the view sends (EXPLAIN ANALYZE), for the heaviest customer.
* Visibility: call.ended / order.placed / payment.received published to integration.events at
  ``--rate`` per second for ``--seconds``, each for an existing customer. Per event, the time from
  publish to its timeline row being committed, seen by one watcher that asks the database for all
  events still pending every 5 ms (one indexed query however many are pending, and less often when
  a backlog makes it slow, so watching does not load the service); and, for every ``--sample``-th
  event, the time until GetCustomerView shows it (pollers call the view every 10 ms, less often as
  the wait grows). The inbox's recorded applied_at (when the consumer claimed the event, inside its
  transaction) splits the broker's share from the apply's.
* Ingest: a burst of ``--burst`` events published as fast as possible; events applied per second
  from the inbox's applied_at (first to last claim), and the whole drain.

``--ddl`` runs statements (an index, say) after the first view measurements and measures again.
Everything the bench creates (database, vhost, processes) is removed on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import math
import os
import platform
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import psycopg
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]
from kombu.connection import Connection
from kombu.messaging import Producer
from pydantic import SecretStr
from sqlalchemy import event

from bench import layouts
from bench.arguments import at_least
from bench.desk import Measured, _measured, _ms, closed_loop
from bench.progress import Progress
from services.customer360.api import convert
from services.customer360.app import SERVICE as DEFINITION
from services.customer360.domain import anomaly as detectors
from services.customer360.domain import identity
from services.customer360.domain import value as value_domain
from services.customer360.service import views
from switchboard import logs
from switchboard.composition import Runtime
from switchboard.customer360.v1 import customer360_pb2 as pb
from switchboard.customer360.v1 import customer360_pb2_grpc
from switchboard.envelope import seal, to_json
from switchboard.events.v1 import integration_events_pb2 as integration
from switchboard.ids import new_id
from switchboard.rpc import auth
from switchboard.runner import ROLES, declare_topology
from switchboard.settings import Settings
from switchboard.timestamps import timestamp
from tests import support

RESULTS = Path(__file__).parents[1] / "results"
REPO = Path(__file__).parents[2]
SERVICE = DEFINITION.name  # also its schema in PostgreSQL
_CALL_TIMEOUT = 10.0
_SECRET = SecretStr("bench-secret-not-for-production-0123456789")

# --- the population -------------------------------------------------------------------------------

_GIVEN = (
    "Anna", "Lukas", "Mia", "Leon", "Emma", "Finn", "Sofia", "Paul", "Hannah", "Jonas", "Lea", "Elias", "Marie",
    "Noah", "Lena", "Ben", "Clara", "Felix", "Ida", "Max", "Olivia", "James", "Amelia", "Oliver", "Wei", "Mei",
    "Jun", "Li", "Ayşe", "Mehmet", "Zofia", "Jan", "Chiara", "Luca", "Inès", "Hugo", "Sven", "Ingrid",
)  # fmt: skip
_FAMILY = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger",
    "Hofmann", "Hartmann", "Lange", "Smith", "Jones", "Brown", "Wang", "Zhang", "Chen", "Demir", "Kowalski",
    "Rossi", "Dubois", "Jansen", "Andersson", "Novak",
)  # fmt: skip
_CITIES = (
    ("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "München"), ("50667", "Köln"), ("60311", "Frankfurt am Main"),
    ("70173", "Stuttgart"), ("40213", "Düsseldorf"), ("04109", "Leipzig"), ("44135", "Dortmund"), ("45127", "Essen"),
    ("28195", "Bremen"), ("01067", "Dresden"), ("30159", "Hannover"), ("90402", "Nürnberg"), ("47051", "Duisburg"),
)  # fmt: skip
_STREETS = ("Hauptstraße", "Schulstraße", "Gartenweg", "Bahnhofstraße", "Lindenallee", "Am Markt", "Rosenweg")
_STATUS = ("single", "married", "married", "partnered", "divorced", "widowed", "")
_OCCUPATIONS = ("engineer", "teacher", "nurse", "retired", "student", "self-employed", "sales", "civil servant", "")
_INCOME = ("under 20k", "20k-40k", "40k-70k", "70k-120k", "over 120k", "")
_INTERESTS = ("cooking", "gardening", "smart home", "cycling", "coffee", "energy saving", "travel", "baking")
_PREFERENCES = ("online", "in store", "instalments", "express delivery", "bundles", "eco products")
_LANGUAGES = ("de", "de", "de", "en", "tr", "pl", "zh")
_CHANNELS = ("", "email", "sms", "phone", "chat")
_PRODUCTS = (
    ("WM-800", "Washing machine WM800"), ("DW-450", "Dishwasher DW450"), ("FR-300", "Fridge-freezer FR300"),
    ("OV-610", "Oven OV610"), ("HP-9", "Heat pump HP9"), ("BL-24", "Boiler BL24"), ("CM-2", "Coffee machine CM2"),
    ("RV-7", "Robot vacuum RV7"), ("AC-12", "Air conditioner AC12"), ("TH-1", "Smart thermostat TH1"),
)  # fmt: skip
_SUBJECTS = (
    "leaks water", "will not start", "makes a grinding noise", "shows error E21", "does not heat", "trips the breaker",
    "door will not open", "loses connection to the app", "stops mid-cycle",
)  # fmt: skip
_FAULT_CODES = ("E21", "E07", "F3", "P-12", "LOW_PRESSURE")
_TX_KINDS = ("withdrawal", "deposit", "purchase", "transfer_out", "transfer_in")
_TX_CHANNELS = ("atm", "online", "branch", "card")
_NOTICES = ("Your visit is confirmed", "How did we do?", "Your order has shipped", "Payment received, thank you")
# (kind, weight) of the timeline's single events; "ticket" starts a story of several entries.
_KINDS = (
    ("call", 22), ("task", 8), ("transaction", 16), ("order", 10), ("payment", 9), ("notification", 8),
    ("ticket", 14), ("visit", 5), ("fault", 3), ("work", 5),
)  # fmt: skip
_KIND_NAMES = tuple(k for k, _ in _KINDS)
_KIND_CUM = tuple(itertools.accumulate(w for _, w in _KINDS))
HEAVY_SHARE = 0.005  # one customer in 200 ...
HEAVY_ENTRIES = (200, 800)  # ... has hundreds of timeline entries
_LIGHT_CAP = 150
_YEARS = 3
_THRESHOLDS = "silver=50000,gold=200000,platinum=1000000"  # the service's default (config.tier_thresholds)
_WINDOW_DAYS = 365  # the service's default (config.value_window_days)
_AGENT_MINUTE, _TECH_MINUTE, _VISIT, _PART = 120, 150, 4500, 1500  # the service's default rates

# The columns the seed writes, per table, in the order of its COPY (every column: the rows are as the
# service writes them).
COLUMNS = {
    "profiles": (
        "customer_id", "version", "details", "name_key", "tier", "contribution_minor", "tier_changed_at",
        "baselines", "merged_into", "known_from_events", "erased", "created_at", "updated_at",
    ),
    "identifiers": ("kind", "value", "customer_id", "source", "added_at"),
    "merges": ("merge_id", "survivor_id", "merged_id", "actor", "merged_at", "unmerged_at", "unmerged_by"),
    "timeline": (
        "entry_id", "customer_id", "occurred_at", "kind", "event_type", "title", "summary", "refs", "amount_minor",
        "currency",
    ),
    "tickets": ("ticket_id", "customer_id", "number", "subject", "status", "priority", "status_at", "updated_at"),
    "products": (
        "serial", "customer_id", "model", "name", "installed_at", "warranty_end", "site_address", "order_id",
        "source", "as_of",
    ),
    "ratings": ("ticket_id", "customer_id", "score", "comment", "rated_at"),
    "value_items": (
        "event_id", "customer_id", "occurred_at", "event_type", "revenue_minor", "cost_minor", "currency", "counted",
    ),
    "anomalies": (
        "anomaly_id", "customer_id", "kind", "metric", "observed", "baseline", "score", "reason", "asset_id",
        "source_event_id", "source_event_type", "detected_at", "acknowledged_at", "acknowledged_by",
    ),
    "timers": ("service", "kind", "key", "due_at", "payload", "scheduled_at", "attempts", "last_error"),
}  # fmt: skip
NULL = "\\N"


def customer(index: int) -> str:
    return f"C-{index:07d}"


def mobile(index: int) -> str:
    """The customer's mobile number, E.164 (as stored)."""
    return f"+49151{index:08d}"


def presented(index: int) -> str:
    """The customer's mobile number as the phone network presents it on a call: national format."""
    return f"0151 {index:08d}"


def _ts(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def _uuid7(seconds: float, rng: random.Random) -> str:
    """A UUIDv7 of that moment, as switchboard.ids.new_id makes an event id."""
    digits = f"{int(seconds * 1000):012x}7{rng.getrandbits(12):03x}{0x8000000000000000 | rng.getrandbits(62):016x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _copy_text(text: str) -> str:
    """JSON (or any text) as one COPY text field: backslashes doubled; the seed writes no tabs or newlines."""
    return text.replace("\\", "\\\\")


def _baseline_templates(rng: random.Random, count: int = 24) -> list[str]:
    """Anomaly baselines as the detectors leave them after a few months of a customer's money events:
    the profile rows carry real state (its size is what the view and each event read and write)."""
    templates = []
    start = datetime.now(UTC) - timedelta(days=180)
    for n in range(count):
        state = detectors.Baselines.empty()
        kinds = rng.sample(_TX_KINDS, rng.randint(1, 3))
        usual = {k: rng.uniform(2_000, 150_000) for k in kinds}
        events = rng.randint(10, 60)
        for j in range(events):
            at = start + timedelta(days=180 * j / events, hours=rng.uniform(0, 12))
            tx_id = f"T-{n}-{j}"
            if rng.random() < 0.2:
                payload: Message = integration.OrderPlaced(
                    order_id=f"O-{n}-{j}", total_minor=int(rng.uniform(2_000, 90_000)), currency="EUR",
                    placed_at=timestamp(at),
                )  # fmt: skip
                kind = "order.placed"
            else:
                k = rng.choice(kinds)
                payload = integration.AccountTransaction(
                    transaction_id=tx_id, kind=k, amount_minor=max(1, int(rng.lognormvariate(math.log(usual[k]), 0.4))),
                    currency="EUR", channel="online", occurred_at=timestamp(at),
                )  # fmt: skip
                kind = "account.transaction"
            for observation in detectors.observations_of(kind, payload, at, tx_id):
                state, _ = detectors.observe(state, observation, detectors.DetectorConfig())
        templates.append(state.to_json())
    return templates


@dataclass
class Seeded:
    seconds: float
    load_seconds: float
    index_seconds: float
    vacuum_seconds: float
    rows: dict[str, int]
    heavy: list[int]  # customer indexes with hundreds of entries
    customers: int
    heaviest: str  # the customer with the most entries


class Population:
    """The rows of every table, customer by customer, as COPY text lines."""

    def __init__(self, customers: int, entries: int, seed: int) -> None:
        self.customers = customers
        self.rng = random.Random(seed)
        average = entries / customers
        heavy_mean = sum(HEAVY_ENTRIES) / 2
        self.heavy_share = HEAVY_SHARE if average > HEAVY_SHARE * heavy_mean * 2 else 0.0
        # Light customers' entries are exponential (most have a few, some dozens); the mean makes the total.
        self.light_mean = max(average - self.heavy_share * heavy_mean, 0.5) / (1 - self.heavy_share)
        self.end = time.time() - 3600  # every seeded entry is older than the events the bench publishes
        self.start = self.end - _YEARS * 365 * 86400
        self.window_start = time.time() - _WINDOW_DAYS * 86400
        self.thresholds = value_domain.parse_thresholds(_THRESHOLDS)
        self.baselines = [_copy_text(t) for t in _baseline_templates(self.rng)]
        self.heavy: list[int] = []
        self.heaviest = (0, 1)  # (entries, customer index) of the customer with the most entries
        self.out: dict[str, list[str]] = {table: [] for table in COLUMNS}
        self.rows = dict.fromkeys(COLUMNS, 0)
        self._ticket = 0
        self._serial = 0

    def take(self) -> dict[str, str]:
        """The lines made since the last take, per table."""
        made = {}
        for table, lines in self.out.items():
            if lines:
                self.rows[table] += len(lines)
                made[table] = "".join(lines)
                lines.clear()
        return made

    def add(self, i: int) -> int:
        """Customer i's rows; the number of timeline entries made."""
        rng = self.rng
        cid = customer(i)
        if rng.random() < self.heavy_share:
            n = rng.randint(*HEAVY_ENTRIES)
            self.heavy.append(i)
        else:
            n = min(int(rng.expovariate(1 / (self.light_mean + 0.5))), _LIGHT_CAP)
        self.heaviest = max(self.heaviest, (n, i))
        since = rng.uniform(self.start, self.end - 86400)
        made = self._identifiers(i, cid, since)
        counted, oldest, money = self._history(cid, n, since)
        tier = value_domain.tier_for(counted, self.thresholds)
        details = self._details(i, rng)
        name_key = details["display_name"].lower()[:200]
        baselines = rng.choice(self.baselines) if money else ""
        stamp = _ts(since)
        self.out["profiles"].append(
            f"{cid}\t{rng.randint(1, 6)}\t{_copy_text(json.dumps(details, ensure_ascii=False))}\t{name_key}\t{tier}\t"
            f"{counted}\t{stamp if tier > 1 else NULL}\t{baselines}\t{NULL}\tf\tf\t{stamp}\t{_ts(self.end)}\n"
        )
        if oldest is not None:
            due = oldest + _WINDOW_DAYS * 86400 + 1
            self.out["timers"].append(f"{SERVICE}\tvalue.window\t{cid}\t{_ts(due)}\t{{}}\t{_ts(self.end)}\t0\t{NULL}\n")
        if rng.random() < 0.01:
            self._anomaly(cid, rng)
        if rng.random() < 0.01:
            made += self._known_from_events(i, cid, rng)
        return n + made

    def _identifiers(self, i: int, cid: str, since: float) -> int:
        rng, at, lines = self.rng, _ts(since), self.out["identifiers"]
        lines.append(f"phone\t{mobile(i)}\t{cid}\tapi\t{at}\n")
        if rng.random() < 0.3:
            lines.append(f"phone\t+4930{i:08d}\t{cid}\tapi\t{at}\n")
        if rng.random() < 0.9:
            lines.append(f"email\tcustomer{i}@example.com\t{cid}\tapi\t{at}\n")
        if rng.random() < 0.4:
            lines.append(f"external\tshop:{i + 100_000}\t{cid}\torder.placed\t{at}\n")
        if rng.random() < 0.3:
            lines.append(f"external\tbilling:B{i:08d}\t{cid}\tpayment.received\t{at}\n")
        return 0

    def _details(self, i: int, rng: random.Random) -> dict[str, Any]:
        given, family = rng.choice(_GIVEN), rng.choice(_FAMILY)
        postcode, city = rng.choice(_CITIES)
        home = {
            "kind": "home", "lines": [f"{rng.choice(_STREETS)} {rng.randint(1, 180)}"], "postcode": postcode,
            "city": city, "country": "DE",
        }  # fmt: skip
        addresses = [home]
        if rng.random() < 0.15:
            addresses.append({**home, "kind": "billing", "lines": [f"Postfach {rng.randint(100, 9999)}"]})
        return {
            "display_name": f"{given} {family}",
            "given_name": given,
            "family_name": family,
            "birth_date": f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "family_status": rng.choice(_STATUS),
            "occupation": rng.choice(_OCCUPATIONS),
            "income_band": rng.choice(_INCOME),
            "addresses": addresses,
            "interests": rng.sample(_INTERESTS, rng.randint(0, 3)),
            "purchase_preferences": rng.sample(_PREFERENCES, rng.randint(0, 2)),
            "preferred_language": rng.choice(_LANGUAGES),
            "time_zone": "Europe/Berlin",
            "consents": {
                "email": rng.random() < 0.7,
                "sms": rng.random() < 0.4,
                "phone": rng.random() < 0.5,
                "chat": rng.random() < 0.3,
                "marketing": rng.random() < 0.25,
            },
            "preferred_channel": rng.choice(_CHANNELS),
            "do_not_contact": "weekdays before 09:00" if rng.random() < 0.1 else "",
            "account_owner": f"agent-{rng.randint(1, 300):03d}" if rng.random() < 0.2 else "",
            "attributes": {"segment": rng.choice(("private", "premium", "business"))} if rng.random() < 0.3 else {},
        }

    def _history(self, cid: str, n: int, since: float) -> tuple[int, float | None, bool]:
        """n timeline entries (with their tickets, ratings, products and value items) between since and
        now; (contribution in the window, the oldest counted item in it, whether money moved)."""
        rng = self.rng
        times = sorted(rng.uniform(since, self.end) for _ in range(n))
        timeline, values = self.out["timeline"], self.out["value_items"]
        revenue = cost = 0
        oldest: float | None = None
        money = False
        products = rng.choices((0, 1, 2, 3, 4), cum_weights=(15, 55, 85, 95, 100))[0]
        j = 0
        while j < n:
            at = times[j]
            eid = _uuid7(at, rng)
            if products:  # each product arrives with its installation on the timeline
                products -= 1
                serial = self._product(cid, at, eid)
                timeline.append(
                    f"{eid}\t{cid}\t{_ts(at)}\tproduct\tproduct.installed\tProduct installed ({serial})\t\t"
                    f'{{"serial":"{serial}"}}\t0\t\n'
                )
                j += 1
                continue
            kind = rng.choices(_KIND_NAMES, cum_weights=_KIND_CUM)[0]
            if kind == "ticket":
                j += self._ticket_story(cid, times[j:], rng)
                continue
            amount, currency, counted_at = 0, "", None
            if kind == "call":
                d = rng.randint(20, 1500)
                line = (
                    "call", "call.ended", f"Inbound call answered, {d} s", "",
                    f'{{"call_id":"CALL-{rng.getrandbits(40):x}","agent_id":"agent-{rng.randint(1, 300):03d}"}}',
                )  # fmt: skip
            elif kind == "task":
                line = (
                    "call", "task.assigned", f"Taken by agent-{rng.randint(1, 300):03d} after {rng.randint(2, 240)} s",
                    "", f'{{"task_id":"{_uuid7(at, rng)}"}}',
                )  # fmt: skip
            elif kind == "transaction":
                tx = rng.choice(_TX_KINDS)
                amount, currency, money = int(rng.lognormvariate(9, 1.2)) + 100, "EUR", True
                line = (
                    "transaction", "account.transaction",
                    f"{tx.replace('_', ' ').capitalize()} via {rng.choice(_TX_CHANNELS)}", "",
                    f'{{"transaction_id":"TX-{rng.getrandbits(40):x}","account_id":"DE{rng.getrandbits(60):018d}"}}',
                )  # fmt: skip
            elif kind == "order":
                lines = rng.randint(1, 4)
                amount = int(rng.lognormvariate(10, 1.0)) * (-1 if rng.random() < 0.05 else 1)
                currency, money = ("USD" if rng.random() < 0.02 else "EUR"), True
                order = f"O-{rng.getrandbits(36):x}"
                line = (
                    "order", "order.placed", f"Order {order} placed ({lines} line{'s' if lines != 1 else ''})", "",
                    f'{{"order_id":"{order}","sales_channel":"{rng.choice(("web", "store", "phone"))}"}}',
                )  # fmt: skip
                counted = currency == "EUR"
                values.append(
                    f"{eid}\t{cid}\t{_ts(at)}\torder.placed\t{amount}\t0\t{currency}\t{'t' if counted else 'f'}\n"
                )
                if counted and at >= self.window_start:
                    revenue += amount
                    counted_at = at
            elif kind == "payment":
                amount, currency, money = int(rng.lognormvariate(9.5, 1.0)) + 100, "EUR", True
                line = (
                    "payment", "payment.received", f"Payment received ({rng.choice(('card', 'transfer', 'cash'))})", "",
                    f'{{"payment_id":"P-{rng.getrandbits(40):x}"}}',
                )  # fmt: skip
            elif kind == "notification":
                channel = rng.choice(("email", "sms"))
                line = (
                    "notification", "notification.status_changed",
                    f"{channel} {rng.choice(('sent', 'delivered'))}: {rng.choice(_NOTICES)}", "",
                    f'{{"notification_id":"{_uuid7(at, rng)}"}}',
                )  # fmt: skip
            elif kind == "visit":
                minutes, parts = rng.randint(20, 180), rng.randint(0, 3)
                line = (
                    "visit", "work_order.completed", f"Visit completed: {minutes} min, {parts} part(s)", "",
                    f'{{"work_order_id":"WO-{rng.getrandbits(40):x}","technician_id":"tech-{rng.randint(1, 80):02d}"}}',
                )  # fmt: skip
                spent = _VISIT + minutes * _TECH_MINUTE + parts * _PART
                values.append(f"{eid}\t{cid}\t{_ts(at)}\twork_order.completed\t0\t{spent}\tEUR\tt\n")
                if at >= self.window_start:
                    cost += spent
                    counted_at = at
            elif kind == "fault":
                line = (
                    "fault", "device.fault_reported", f"Device reported fault {rng.choice(_FAULT_CODES)}",
                    "Pressure dropped below the minimum twice within an hour.",
                    f'{{"asset_id":"SN{rng.getrandbits(40):x}"}}',
                )  # fmt: skip
            else:  # work logged on a ticket
                minutes = rng.randint(5, 90)
                line = (
                    "work", "ticket.work_logged", f"{minutes} min of work on ticket {rng.randint(1, 9_999_999)}",
                    "Called the customer back about the part.", f'{{"ticket_id":"{_uuid7(at, rng)}"}}',
                )  # fmt: skip
                spent = minutes * _AGENT_MINUTE
                values.append(f"{eid}\t{cid}\t{_ts(at)}\tticket.work_logged\t0\t{spent}\tEUR\tt\n")
                if at >= self.window_start:
                    cost += spent
                    counted_at = at
            if counted_at is not None and (oldest is None or counted_at < oldest):
                oldest = counted_at
            k, etype, title, summary, refs = line
            timeline.append(
                f"{eid}\t{cid}\t{_ts(at)}\t{k}\t{etype}\t{title}\t{summary}\t{refs}\t{amount}\t{currency}\n"
            )
            j += 1
        while products:  # more products than entries: registered through the API
            products -= 1
            self._product(cid, rng.uniform(since, self.end), "")
        return revenue - cost, oldest, money

    def _product(self, cid: str, at: float, order_event: str) -> str:
        rng = self.rng
        self._serial += 1
        serial = f"SN{self._serial:09d}"
        model, name = rng.choice(_PRODUCTS)
        warranty = datetime.fromtimestamp(at + 2 * 365 * 86400, UTC).date().isoformat()
        postcode, city = rng.choice(_CITIES)
        source = "product.installed" if order_event else "api"
        self.out["products"].append(
            f"{serial}\t{cid}\t{model}\t{name}\t{_ts(at)}\t{warranty}\t{rng.choice(_STREETS)} {rng.randint(1, 180)}, "
            f"{postcode} {city}\tO-{rng.getrandbits(36):x}\t{source}\t{_ts(at)}\n"
        )
        return serial

    def _ticket_story(self, cid: str, times: Sequence[float], rng: random.Random) -> int:
        """A ticket and what followed it (assigned, a public reply, resolved, closed, rated), as far as
        the customer's remaining entries go; the ticket is open if the story stops before resolved."""
        self._ticket += 1
        number = f"T-{self._ticket:08d}"
        _model, name = rng.choice(_PRODUCTS)
        subject = f"{name.split(' ')[0]} {rng.choice(_SUBJECTS)}"
        ticket_id = _uuid7(times[0], rng)
        refs = f'{{"ticket_id":"{ticket_id}","ticket_number":"{number}"}}'
        length = min(len(times), rng.choices((1, 2, 3, 4, 5, 6), cum_weights=(8, 20, 32, 45, 85, 100))[0])
        steps = (
            ("ticket.created", f"Ticket {number} opened: {subject}", ""),
            ("ticket.assigned", f"Ticket {number} assigned to agent-{rng.randint(1, 300):03d}", ""),
            ("ticket.commented", f"Reply by agent-{rng.randint(1, 300):03d} on ticket {number}",
             "We have ordered the part; a technician will call to arrange a visit."),
            ("ticket.resolved", f"Ticket {number} resolved (fixed)", ""),
            ("ticket.closed", f"Ticket {number} closed", ""),
            ("ticket.rated", "", ""),
        )  # fmt: skip
        score = rng.choices((1, 2, 3, 4, 5), cum_weights=(6, 12, 25, 55, 100))[0]
        timeline = self.out["timeline"]
        for step in range(length):
            at = times[step]
            etype, title, summary = steps[step]
            kind = "comment" if step == 2 else "rating" if step == 5 else "ticket"
            if step == 5:
                title = f"Rated ticket {number} {score} of 5"
                summary = "Quick and friendly." if score >= 4 else "Took three visits to fix." if score <= 2 else ""
                self.out["ratings"].append(f"{ticket_id}\t{cid}\t{score}\t{summary}\t{_ts(at)}\n")
            timeline.append(f"{_uuid7(at, rng)}\t{cid}\t{_ts(at)}\t{kind}\t{etype}\t{title}\t{summary}\t{refs}\t0\t\n")
        status = ("new", "assigned", "in_progress", "resolved", "closed", "closed")[length - 1]
        last = times[length - 1]
        if length < 4 and last < self.end - 60 * 86400:
            status = "closed"  # closed long ago; its later events are older than the customer's history shows
        self.out["tickets"].append(
            f"{ticket_id}\t{cid}\t{number}\t{subject}\t{status}\t{rng.choice((1, 2, 3, 3, 4))}\t{_ts(last)}\t"
            f"{_ts(last)}\n"
        )
        return length

    def _anomaly(self, cid: str, rng: random.Random) -> None:
        at = self.end - rng.uniform(0, 30 * 86400)
        observed, usual = rng.randint(200_000, 900_000), rng.randint(5_000, 40_000)
        reason = (
            f"A withdrawal of {observed / 100:,.2f} EUR is {observed / usual:.1f} times this customer's usual "
            f"{usual / 100:,.2f} EUR."
        )
        self.out["anomalies"].append(
            f"{_uuid7(at, rng)}\t{cid}\tamount\taccount.transaction:withdrawal\t{observed}\t{usual}\t"
            f"{rng.uniform(4.5, 9):.2f}\t{reason}\t\t{_uuid7(at, rng)}\taccount.transaction\t{_ts(at)}\t{NULL}\t\n"
        )

    def _known_from_events(self, i: int, cid: str, rng: random.Random) -> int:
        """A profile first known from another system's calls, from a number of the customer's own; half of
        them since merged into the customer (the pointer, a merges row), the rest not yet linked."""
        number = f"+49160{i:08d}"
        kid = identity.generated_id(identity.Identifier("phone", number))
        at = rng.uniform(self.start, self.end - 86400)
        merged = rng.random() < 0.5
        self.out["identifiers"].append(f"phone\t{number}\t{kid}\tcall.ended\t{_ts(at)}\n")
        self.out["profiles"].append(
            f"{kid}\t{2 if merged else 1}\t{_copy_text(json.dumps(_BLANK_DETAILS))}\t\t1\t0\t{NULL}\t\t"
            f"{cid if merged else NULL}\tt\tf\t{_ts(at)}\t{_ts(at)}\n"
        )
        if merged:
            self.out["merges"].append(
                f"{_uuid7(at, rng)}\t{cid}\t{kid}\tidentity-resolution\t{_ts(at + 60)}\t{NULL}\t\n"
            )
        calls = rng.randint(1, 3)
        for _ in range(calls):
            t = rng.uniform(at, self.end)
            self.out["timeline"].append(
                f"{_uuid7(t, rng)}\t{kid}\t{_ts(t)}\tcall\tcall.ended\tInbound call missed, 0 s\t\t"
                f'{{"call_id":"CALL-{rng.getrandbits(40):x}"}}\t0\t\n'
            )
        return calls


_BLANK_DETAILS = {
    "display_name": "", "given_name": "", "family_name": "", "birth_date": "", "family_status": "", "occupation": "",
    "income_band": "", "addresses": [], "interests": [], "purchase_preferences": [], "preferred_language": "",
    "time_zone": "", "consents": {"email": False, "sms": False, "phone": False, "chat": False, "marketing": False},
    "preferred_channel": "", "do_not_contact": "", "account_owner": "", "attributes": {},
}  # fmt: skip


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(_libpq(url), autocommit=True, options=f"-c search_path={SERVICE}")


def _keys_and_indexes(db: psycopg.Connection[Any], table: str) -> tuple[list[str], list[str], list[str]]:
    """(drop statements, re-create statements, index names) of a table's primary key and indexes, as the
    migration made them: re-created from their own definitions, so the loaded table is the migrated one."""
    drops, creates = [], []
    keys = db.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
        (f"{SERVICE}.{table}",),
    ).fetchall()
    for name, definition in keys:
        drops.append(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        creates.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    indexes = db.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s", (SERVICE, table)
    ).fetchall()
    names = [name for name, _ in indexes]
    for name, definition in indexes:
        if name not in {k for k, _ in keys}:
            drops.append(f'DROP INDEX "{name}"')
            creates.append(definition)
    return drops, creates, names


def seed(url: str, customers: int, entries: int, *, seed: int) -> Seeded:
    """COPY the population into customer-360's migrated (empty) tables; rebuild their indexes; vacuum."""
    progress = Progress()
    started = time.monotonic()
    population = Population(customers, entries, seed)
    with contextlib.ExitStack() as stack:
        admin = stack.enter_context(_connect(url))
        rebuild: list[str] = []
        for table in COLUMNS:
            drops, creates, _ = _keys_and_indexes(admin, table)
            for statement in drops:
                admin.execute(statement.encode())
            rebuild += creates
        copies = {}
        for table, columns in COLUMNS.items():
            cursor = stack.enter_context(stack.enter_context(_connect(url)).cursor())
            copies[table] = stack.enter_context(cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN".encode()))
        made = 0
        for i in range(1, customers + 1):
            made += population.add(i)
            if i % 2000 == 0 or i == customers:
                for table, text in population.take().items():
                    copies[table].write(text)
                elapsed = time.monotonic() - started
                progress.show(
                    f"seeding: {i:,}/{customers:,} customers, {made:,} timeline entries, {elapsed:.0f}s",
                    final=i == customers,
                )
        stack.close()  # ends every COPY (commits it)
    loaded = time.monotonic()
    with _connect(url) as db:
        db.execute("SET maintenance_work_mem = '1GB'")
        for statement in rebuild:
            progress.show(f"seeding: {statement[:100]}", final=True)
            db.execute(statement.encode())
        indexed = time.monotonic()
        for table in COLUMNS:
            progress.show(f"seeding: VACUUM (ANALYZE) {table}", final=True)
            db.execute(f"VACUUM (ANALYZE) {table}".encode())
    done = time.monotonic()
    progress.show(f"seeding: done in {done - started:.0f}s ({population.rows})", final=True)
    return Seeded(
        seconds=done - started,
        load_seconds=loaded - started,
        index_seconds=indexed - loaded,
        vacuum_seconds=done - indexed,
        rows=population.rows,
        heavy=population.heavy,
        customers=customers,
        heaviest=customer(population.heaviest[1]),
    )


def apply_ddl(url: str, statements: Sequence[str]) -> float:
    """Run each statement (as a migration would), then analyze; seconds taken."""
    progress = Progress()
    started = time.monotonic()
    with _connect(url) as db:
        db.execute("SET maintenance_work_mem = '512MB'")
        for statement in statements:
            progress.show(f"ddl: {statement}", final=True)
            db.execute(statement.encode())  # bytes: the caller's own SQL, run as written
        db.execute(b"ANALYZE")
    return time.monotonic() - started


# --- the service, as production runs it ------------------------------------------------------------


@dataclass
class Service:
    settings: Settings
    processes: dict[str, subprocess.Popen[bytes]]
    log: Path

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds (user + system) each role's process has used so far."""
        return {role: _cpu_of(p.pid) for role, p in self.processes.items()}


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@contextlib.contextmanager
def running(settings: Settings, workdir: Path, consumers: int = 1) -> Iterator[Service]:
    """customer360 as `switchboard up` runs it in production: one process per role (``consumers`` consumer
    replicas), stopped on exit."""
    declare_topology(settings, [DEFINITION])
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(
        {
            f"SWITCHBOARD_{name.upper()}": str(value.get_secret_value() if isinstance(value, SecretStr) else value)
            for name, value in settings.model_dump().items()
            if value is not None
        }
    )
    log = workdir / "customer360.log"
    processes: dict[str, subprocess.Popen[bytes]] = {}
    with log.open("wb") as sink:
        try:
            replicas = [(role, role) for role in ROLES if role != "consumer"]
            replicas += [("consumer", "consumer" if n == 1 else f"consumer-{n}") for n in range(1, consumers + 1)]
            for role, name in replicas:
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "switchboard", "serve", SERVICE, "--role", role],
                    env=env,
                    cwd=REPO,
                    stdout=sink,
                    stderr=sink,
                    start_new_session=True,
                )
            try:
                _wait_until_serving(settings, processes)
            except BaseException:
                sink.flush()
                print(f"customer360 did not start; its log ends:\n{_tail(log)}", file=sys.stderr)
                raise
            yield Service(settings, processes, log)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(timeout=settings.shutdown_grace + 15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait_until_serving(
    settings: Settings, processes: dict[str, subprocess.Popen[bytes]], timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"{settings.host}:{settings.port_of(DEFINITION.port_offset)}") as channel:
        while True:
            for role, process in processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"customer360 {role} exited with status {process.returncode}")
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"customer360 did not answer health within {timeout:.0f}s")
            time.sleep(0.5)
    time.sleep(2)  # the consumer connects after the api answers; give it a moment


# --- measuring the reads ---------------------------------------------------------------------------


class Client:
    """The agent desktop's calls, with an agent's token."""

    def __init__(self, settings: Settings) -> None:
        self.channel = grpc.insecure_channel(f"{settings.host}:{settings.port_of(DEFINITION.port_offset)}")
        self.stub = customer360_pb2_grpc.CustomerServiceStub(self.channel)
        token = auth.issue(settings, "bench-c360", [auth.AGENT])
        self.metadata = (("authorization", f"Bearer {token}"),)

    def close(self) -> None:
        self.channel.close()

    def view(self, customer_id: str) -> pb.CustomerView:
        request = pb.GetCustomerViewRequest(customer_id=customer_id)
        return self.stub.GetCustomerView(request, metadata=self.metadata, timeout=_CALL_TIMEOUT).view

    def find_phone(self, number: str) -> int:
        request = pb.FindCustomersRequest(phone=number)
        return len(self.stub.FindCustomers(request, metadata=self.metadata, timeout=_CALL_TIMEOUT).customers)


def _view_entries(view: pb.CustomerView) -> int:
    return len(view.recent_timeline) + len(view.open_tickets) + len(view.products)


def reads(client: Client, runtime: Runtime, seeded: Seeded, args: argparse.Namespace, phase: str) -> list[Measured]:
    """GetCustomerView of random and of heavy customers, and the screen pop, at concurrency 1 and more; and
    the view's use case called in this process (its SQL and the reply's encoding, without gRPC), at
    concurrency 1, to tell the service's own time from the transport's."""
    customers, heavy = seeded.customers, seeded.heavy or [1]

    def random_view(i: int) -> int:
        return _view_entries(client.view(customer(1 + i * 7919 * 104_729 % customers)))

    def heavy_view(i: int) -> int:
        return _view_entries(client.view(customer(heavy[i * 7919 % len(heavy)])))

    def screen_pop(i: int) -> int:
        return client.find_phone(presented(1 + i * 15_485_863 % customers))

    def in_process(i: int) -> int:
        with runtime.reader() as uow:
            found = views.customer_view(uow, customer(1 + i * 7919 * 104_729 % customers))
        return _view_entries(convert.view(found, datetime.now(UTC).date()))

    results = []
    run = closed_loop(in_process, args.calls, 1, seconds=args.query_seconds, label=f"{phase}: view use case")
    results.append(_measured(phase, "view use case, in-process, random", 1, run))
    measures = (
        ("GetCustomerView, random customer", random_view),
        ("GetCustomerView, heavy customer", heavy_view),
        ("FindCustomers by phone", screen_pop),
    )
    offset = 0
    for name, call in measures:
        # Warm-up: connections, the plan cache; not measured.
        closed_loop(call, 20, 1, seconds=10, label=f"{phase}: {name} warm-up")
        for concurrency in sorted({1, args.concurrency}):
            calls = args.calls * (concurrency if concurrency > 1 else 1)
            base = offset = offset + 100_003

            def shifted(i: int, call: Callable[[int], int] = call, base: int = base) -> int:
                return call(base + i)

            run = closed_loop(shifted, calls, concurrency, seconds=args.query_seconds, label=f"{phase}: {name}")
            results.append(_measured(phase, name, concurrency, run))
    return results


def explain_view(runtime: Runtime, customer_id: str) -> list[dict[str, Any]]:
    """EXPLAIN ANALYZE of every statement GetCustomerView sends for this customer, as sent."""
    sent: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        _connection, _cursor, statement, parameters, _context, _many = args
        sent.append((statement, parameters))

    engine = runtime.db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with runtime.reader() as uow:
            views.customer_view(uow, customer_id)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    with engine.connect() as connection:
        for statement, parameters in sent:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            explained = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
            lines = [str(line) for line in explained.scalars()]
            took = next((float(x.split()[2]) for x in lines if x.startswith("Execution Time")), 0.0)
            plans.append({"sql": " ".join(statement.split())[:160], "execution_ms": took, "plan": lines})
    return plans


# --- events from other systems ---------------------------------------------------------------------


class Events:
    """Integration events for existing customers (call.ended, order.placed, payment.received), sealed in the
    suite's envelope as another system would publish them."""

    def __init__(self, customers: int, heavy: list[int], seed: int) -> None:
        self.customers, self.heavy = customers, heavy
        self.rng = random.Random(seed)

    def next(self) -> tuple[str, str, str, bytes]:
        """(event id, customer id, routing key, body) of a new event, happening now."""
        rng = self.rng
        i = rng.choice(self.heavy) if self.heavy and rng.random() < 0.05 else rng.randint(1, self.customers)
        cid, now = customer(i), datetime.now(UTC)
        event_id = new_id()
        kind = rng.random()
        payload: Message
        if kind < 0.5:
            payload = integration.CallEnded(
                call_id=f"CALL-{event_id}",
                customer_id=cid,
                contact=integration.ContactPoint(phone=presented(i)),
                direction="inbound",
                agent_id=f"agent-{rng.randint(1, 300):03d}",
                started_at=timestamp(now),
                duration_seconds=rng.randint(20, 900),
                outcome="answered",
            )
        elif kind < 0.8:
            serial = f"SNB{event_id[-12:]}"
            payload = integration.OrderPlaced(
                order_id=f"O-{event_id}",
                customer_id=cid,
                contact=integration.ContactPoint(external_system="shop", external_id=str(i + 100_000)),
                lines=[integration.OrderLine(sku="CM-2", description="Coffee machine CM2", quantity=1,
                                             unit_price_minor=39_900, serials=[serial], model="CM-2")]
                if rng.random() < 0.3 else [],
                total_minor=int(rng.lognormvariate(10, 1.0)),
                currency="EUR",
                placed_at=timestamp(now),
                sales_channel="web",
            )  # fmt: skip
        else:
            payload = integration.PaymentReceived(
                payment_id=f"P-{event_id}",
                customer_id=cid,
                amount_minor=int(rng.lognormvariate(9.5, 1.0)) + 100,
                currency="EUR",
                method="card",
                received_at=timestamp(now),
            )
        envelope = seal(payload, correlation_id=f"bench-{event_id}", customer_id=cid, event_id=event_id)
        return event_id, cid, envelope.type, to_json(envelope)


class Publisher:
    """One AMQP connection to integration.events; with confirms, each publish returns once the broker has it."""

    def __init__(self, url: str, *, confirm: bool) -> None:
        options = {"confirm_publish": True} if confirm else {}
        self.connection = Connection(url, transport_options=options)  # type: ignore[no-untyped-call]
        self.producer = Producer(self.connection.channel())  # type: ignore[no-untyped-call]

    def publish(self, routing_key: str, body: bytes) -> None:
        self.producer.publish(  # type: ignore[no-untyped-call]
            body,
            exchange="integration.events",
            routing_key=routing_key,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
        )

    def close(self) -> None:
        self.connection.release()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Visibility:
    rate: float  # events per second asked for
    achieved_rate: float  # and published
    events: int
    seen: int
    commit_p50_ms: float  # publish -> timeline row committed (the database watcher)
    commit_p99_ms: float
    commit_max_ms: float
    claimed_p50_ms: float  # publish -> the consumer's inbox claim (applied_at, recorded in its transaction)
    claimed_p99_ms: float
    view_samples: int
    view_p50_ms: float  # publish -> GetCustomerView shows it (sampled pollers)
    view_p99_ms: float
    view_max_ms: float
    cpu: dict[str, float]  # share of one core each role used, and the machine's busy share


def _histogram() -> HdrHistogram:
    return HdrHistogram(1, 3_600_000_000, 3)


def visibility(service: Service, client: Client, url: str, args: argparse.Namespace, seeded: Seeded) -> Visibility:
    """Events at a steady rate; per event, publish to committed, to claimed, and (sampled) to shown."""
    settings = service.settings
    assert settings.broker_url is not None
    events = Events(seeded.customers, seeded.heavy, args.seed + 1)
    total = int(args.rate * args.seconds)
    sent: dict[str, tuple[float, float]] = {}  # event id -> (perf_counter, wall clock) at publish
    pending: dict[str, float] = {}
    lock = threading.Lock()
    commit, view = _histogram(), _histogram()
    stop = threading.Event()
    failures: list[BaseException] = []
    samples: queue.Queue[tuple[str, str, float] | None] = queue.Queue()
    publisher = Publisher(settings.broker_url, confirm=True)
    published = [0]

    def publish() -> None:
        try:
            began = time.perf_counter()
            for n in range(total):
                due = began + n / args.rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                if stop.is_set():
                    return
                event_id, cid, key, body = events.next()
                at, wall = time.perf_counter(), time.time()
                with lock:
                    sent[event_id] = (at, wall)
                    pending[event_id] = at
                publisher.publish(key, body)
                published[0] += 1
                if n % args.sample == 0:
                    samples.put((event_id, cid, at))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
            stop.set()

    def watch() -> None:
        try:
            with _connect(url) as db:
                while not stop.is_set() or pending:
                    with lock:
                        waiting = list(pending)
                    asked = time.perf_counter()
                    if waiting:
                        found = db.execute(
                            "SELECT entry_id FROM timeline WHERE entry_id = ANY(%s)", (waiting,)
                        ).fetchall()
                        now = time.perf_counter()
                        with lock:
                            for (entry_id,) in found:
                                commit.record_value(max(1, round((now - pending.pop(entry_id)) * 1e6)))
                    if stop.is_set() and time.perf_counter() > give_up[0]:
                        return
                    # Every 5 ms, or less often when a backlog makes the query slow: watching stays a
                    # small share of the database's time whatever the backlog.
                    time.sleep(max(0.005, 3 * (time.perf_counter() - asked)))
        except BaseException as exc:
            failures.append(exc)
            stop.set()

    def poll_view() -> None:
        try:
            while True:
                sample = samples.get()
                if sample is None:
                    return
                event_id, cid, at = sample
                deadline = at + 60
                while time.perf_counter() < deadline:
                    shown = client.view(cid)
                    waited = time.perf_counter() - at
                    if any(e.entry_id == event_id for e in shown.recent_timeline):
                        with lock:
                            view.record_value(max(1, round(waited * 1e6)))
                        break
                    # Every 10 ms, then a twentieth of the wait so far: the polls stay few (and the
                    # error within 5%) when events take seconds to show.
                    time.sleep(max(0.01, waited / 20))
        except BaseException as exc:
            failures.append(exc)
            stop.set()

    give_up = [math.inf]
    progress = Progress()
    cpu_before, busy_before = service.cpu_seconds(), _machine_busy()
    started = time.perf_counter()
    threads = [threading.Thread(target=publish, daemon=True), threading.Thread(target=watch, daemon=True)]
    pollers = [threading.Thread(target=poll_view, daemon=True) for _ in range(args.pollers)]
    for thread in threads + pollers:
        thread.start()
    try:
        while threads[0].is_alive():
            threads[0].join(0.5)
            progress.show(
                f"visibility: {published[0]}/{total} published, {len(pending)} pending, "
                f"{time.perf_counter() - started:.0f}s"
            )
        publish_seconds = time.perf_counter() - started
        cpu_after, busy_after = service.cpu_seconds(), _machine_busy()
        give_up[0] = time.perf_counter() + 120
        stop.set()
        for _ in pollers:
            samples.put(None)
        for thread in [threads[1], *pollers]:
            while thread.is_alive():
                thread.join(0.5)
                progress.show(f"visibility: waiting for {len(pending)} events to show")
    finally:
        stop.set()
        publisher.close()
    progress.show(f"visibility: {total} events in {publish_seconds:.1f}s", final=True)
    if failures:
        raise RuntimeError(f"visibility: {failures[0]!r}") from failures[0]
    claimed = _histogram()
    with _connect(url) as db:
        rows = db.execute("SELECT event_id, applied_at FROM inbox WHERE event_id = ANY(%s)", (list(sent),)).fetchall()
    for event_id, applied_at in rows:
        claimed.record_value(max(1, round((applied_at.timestamp() - sent[event_id][1]) * 1e6)))
    return Visibility(
        rate=args.rate,
        achieved_rate=published[0] / publish_seconds,
        events=published[0],
        seen=int(commit.get_total_count()),
        commit_p50_ms=_ms(commit, 50),
        commit_p99_ms=_ms(commit, 99),
        commit_max_ms=float(commit.get_max_value()) / 1000,
        claimed_p50_ms=_ms(claimed, 50),
        claimed_p99_ms=_ms(claimed, 99),
        view_samples=int(view.get_total_count()),
        view_p50_ms=_ms(view, 50),
        view_p99_ms=_ms(view, 99),
        view_max_ms=float(view.get_max_value()) / 1000,
        cpu=_cpu_shares(cpu_before, cpu_after, busy_before, busy_after, publish_seconds),
    )


def _cpu_shares(
    before: dict[str, float], after: dict[str, float], busy0: tuple[float, float], busy1: tuple[float, float], s: float
) -> dict[str, float]:
    shares = {role: round((after[role] - before[role]) / s, 2) for role in after}
    shares["machine (share of all cores)"] = round((busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1), 2)
    return shares


@dataclass(frozen=True)
class Ingest:
    events: int
    publish_per_s: float
    applied: int
    applied_per_s: float  # first to last inbox claim
    drain_seconds: float  # first publish to the last event applied
    cpu: dict[str, float]
    dead_letters: int = 0  # in customer360.dead-letter afterwards
    first_reason: str = ""  # the reason the first of them gives


def ingest(service: Service, url: str, args: argparse.Namespace, seeded: Seeded) -> Ingest:
    """A burst published as fast as one connection can; how fast the consumer applies it."""
    settings = service.settings
    assert settings.broker_url is not None
    events = Events(seeded.customers, seeded.heavy, args.seed + 2)
    progress = Progress()
    bodies = [events.next() for _ in range(args.burst)]
    with _connect(url) as db:
        before = db.execute("SELECT count(*) FROM inbox").fetchone()
        already = int(before[0]) if before else 0
        publisher = Publisher(settings.broker_url, confirm=False)
        cpu_before, busy_before = service.cpu_seconds(), _machine_busy()
        began_wall, began = datetime.now(UTC), time.perf_counter()
        try:
            for n, (_, _, key, body) in enumerate(bodies, start=1):
                publisher.publish(key, body)
                if n % 1000 == 0:
                    progress.show(f"ingest: {n:,}/{args.burst:,} published")
        finally:
            publisher.close()
        published = time.perf_counter() - began
        applied, last_change, last = 0, time.perf_counter(), 0
        while applied < args.burst:
            time.sleep(0.5)
            row = db.execute("SELECT count(*) FROM inbox").fetchone()
            applied = (int(row[0]) if row else 0) - already
            now = time.perf_counter()
            if applied != last:
                last, last_change = applied, now
            elif now - last_change > 60:
                break  # stalled: report what was applied
            progress.show(f"ingest: {applied:,}/{args.burst:,} applied, {now - began:.0f}s")
        drained = time.perf_counter() - began
        cpu_after, busy_after = service.cpu_seconds(), _machine_busy()
        row = db.execute(
            "SELECT count(*), min(applied_at), max(applied_at) FROM inbox WHERE applied_at >= %s", (began_wall,)
        ).fetchone()
    progress.show(f"ingest: {applied:,} applied in {drained:.1f}s", final=True)
    assert row is not None
    count, first, final = int(row[0]), row[1], row[2]
    span = (final - first).total_seconds() if first and final else 0.0
    dead = support.queue_depth(settings.broker_url, "customer360.dead-letter")
    taken = support.get_message(settings.broker_url, "customer360.dead-letter") if dead else None
    return Ingest(
        events=args.burst,
        publish_per_s=args.burst / published,
        applied=applied,
        applied_per_s=(count - 1) / span if span else 0.0,
        drain_seconds=drained,
        cpu=_cpu_shares(cpu_before, cpu_after, busy_before, busy_after, drained),
        dead_letters=dead,
        first_reason=str(taken.headers.get("x-switchboard-reason", "")) if taken else "",
    )


# --- the command ----------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.customer360.view",
        description="Customer-360 at scale: GetCustomerView and the screen pop, event-to-view visibility, ingest.",
        epilog="The issue's size: --customers 1000000 --entries 10000000.",
    )
    parser.add_argument("--customers", type=at_least(1), default=20_000, help="customers loaded (default 20000)")
    parser.add_argument(
        "--entries", type=at_least(0), default=None, help="timeline entries loaded, about (default 10 per customer)"
    )
    parser.add_argument(
        "--calls", type=at_least(1), default=1000, help="reads measured per measure and caller (default 1000)"
    )
    parser.add_argument("--concurrency", type=at_least(1), default=8, help="reads in flight, besides 1 (default 8)")
    parser.add_argument(
        "--query-seconds", type=float, default=20.0, help="at most this long per read measure (default 20)"
    )
    parser.add_argument("--rate", type=float, default=200.0, help="events per second of the steady load (default 200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of steady load (default 30)")
    parser.add_argument(
        "--sample", type=at_least(1), default=10, help="every n-th event is watched on the view (default 10)"
    )
    parser.add_argument("--pollers", type=at_least(1), default=2, help="threads polling the view (default 2)")
    parser.add_argument(
        "--consumers", type=at_least(1), default=1, help="consumer processes (production runs any number; default 1)"
    )
    parser.add_argument("--burst", type=at_least(1), default=20_000, help="events of the ingest burst (default 20000)")
    parser.add_argument(
        "--ddl",
        action="append",
        default=[],
        metavar="SQL",
        help="a statement run after the first read measures, before measuring the reads again (repeatable)",
    )
    parser.add_argument("--explain", action="store_true", help="print the view's plans after the table")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the population (default 7)")
    args = parser.parse_args(argv)
    if args.entries is None:
        args.entries = args.customers * 10
    return args


# Header, Measured field, width, format. Latencies are in milliseconds.
_COLUMNS = (
    ("phase", "phase", 10, "{}"),
    ("measure", "name", 33, "{}"),
    ("calls", "calls", 6, "{:d}"),
    ("conc", "concurrency", 4, "{:d}"),
    ("per s", "per_s", 6, "{:.0f}"),
    ("rows", "rows", 5, "{:.0f}"),
    ("p50", "p50_ms", 7, "{:.1f}"),
    ("p99", "p99_ms", 7, "{:.1f}"),
    ("max", "max_ms", 7, "{:.1f}"),
)


def _row(cells: list[str]) -> str:
    widths = [width for _, _, width, _ in _COLUMNS]
    return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))


def table(results: list[Measured], seeded: Seeded, seen: Visibility | None, burst: Ingest | None) -> str:
    rows = seeded.rows
    lines = [
        f"Switchboard bench customer360: PostgreSQL + RabbitMQ, per role; {rows['profiles']:,} profiles, "
        f"{rows['timeline']:,} timeline entries, {rows['identifiers']:,} identifiers, {rows['products']:,} products, "
        f"{rows['tickets']:,} tickets (loaded in {seeded.seconds:.0f}s); latencies in ms",
        _row([header for header, _, _, _ in _COLUMNS]),
    ]
    for result in results:
        values = dataclasses.asdict(result)
        lines.append(_row([fmt.format(values[field]) for _, field, _, fmt in _COLUMNS]))
    if seen is not None:
        lines.append(
            f"visibility at {seen.achieved_rate:.0f} events/s ({seen.events} events): publish -> committed "
            f"p50 {seen.commit_p50_ms:.1f}, p99 {seen.commit_p99_ms:.1f}, max {seen.commit_max_ms:.1f}; "
            f"-> claimed p50 {seen.claimed_p50_ms:.1f}, p99 {seen.claimed_p99_ms:.1f}; "
            f"-> on GetCustomerView ({seen.view_samples} sampled) p50 {seen.view_p50_ms:.1f}, "
            f"p99 {seen.view_p99_ms:.1f}, max {seen.view_max_ms:.1f}"
        )
        lines.append(f"  cpu (cores) during the steady load: {seen.cpu}")
    if burst is not None:
        lines.append(
            f"ingest: {burst.applied:,}/{burst.events:,} events applied at {burst.applied_per_s:.0f}/s "
            f"(published at {burst.publish_per_s:.0f}/s; drained in {burst.drain_seconds:.1f}s); "
            f"{burst.dead_letters} dead-lettered"
            + (f", the first because: {burst.first_reason}" if burst.dead_letters else "")
        )
        lines.append(f"  cpu (cores) during the burst: {burst.cpu}")
    return "\n".join(lines)


def _commit() -> str | None:
    git = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=REPO, check=False)
    return git.stdout.strip() or None


def save(document: dict[str, Any], started: datetime) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"customer360-view-{started:%Y%m%dT%H%M%SZ}.json"
    document = {
        "benchmark": "customer360_view",
        "started_at": started.isoformat(),
        **document,
        # Figures only compare on like code and like machines: say which these were.
        "commit": _commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    # SIGTERM unwinds like Ctrl-C, so the database, vhost and processes are removed either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    started = datetime.now(UTC)
    results: list[Measured] = []
    plans: dict[str, list[dict[str, Any]]] = {}
    seen: Visibility | None = None
    burst: Ingest | None = None
    ddl_seconds = None
    try:
        support.require_postgres()
        support.require_rabbitmq()
        with contextlib.ExitStack() as stack:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="switchboard-bench-c360-")))
            url = stack.enter_context(support.postgres_database())
            broker_url = stack.enter_context(support.rabbitmq_vhost())
            layouts._apply_broker_definitions(broker_url)  # production's topology, as layouts uses it
            settings = Settings(
                data_dir=workdir / "var",
                database_url=url,
                broker_url=broker_url,
                base_port=support.free_base_port(),
                auth_secret=_SECRET,
                log_level="WARNING",  # one line per call would cost more than the work being measured
                shutdown_grace=0.5,
            )
            logs.configure(settings)
            runtime = DEFINITION.open(settings)  # creates the schema and migrates it
            stack.callback(runtime.db.dispose)
            seeded = seed(url, args.customers, args.entries, seed=args.seed)
            service = stack.enter_context(running(settings, workdir, args.consumers))
            client = Client(settings)
            stack.callback(client.close)
            try:
                heaviest = seeded.heaviest
                results += reads(client, runtime, seeded, args, "baseline")
                plans["baseline"] = explain_view(runtime, heaviest)
                if args.ddl:
                    ddl_seconds = apply_ddl(url, args.ddl)
                    results += reads(client, runtime, seeded, args, "with --ddl")
                    plans["with --ddl"] = explain_view(runtime, heaviest)
                seen = visibility(service, client, url, args, seeded)
                burst = ingest(service, url, args, seeded)
            except BaseException:
                print(f"customer360's log ends:\n{_tail(service.log)}", file=sys.stderr)
                raise
            log_lines = sum(1 for line in service.log.read_text(errors="replace").splitlines() if line.strip())
    except KeyboardInterrupt:
        print("interrupted; everything the bench created is removed", file=sys.stderr)
        return 130
    print(table(results, seeded, seen, burst))
    if args.ddl:
        print(f"--ddl applied in {ddl_seconds:.0f}s: " + "; ".join(args.ddl))
    for phase, explained in plans.items():
        total = sum(p["execution_ms"] for p in explained)
        print(f"{phase}: the view's {len(explained)} statements for {heaviest} take {total:.2f} ms in PostgreSQL")
        if args.explain:
            for p in explained:
                print(f"\n  {p['sql']}\n    " + "\n    ".join(p["plan"]))
    document = {
        "args": vars(args),
        "seed": {**dataclasses.asdict(seeded), "heavy": len(seeded.heavy)},
        "service_log_lines": log_lines,
        "ddl_seconds": ddl_seconds,
        "results": [dataclasses.asdict(r) for r in results],
        "visibility": dataclasses.asdict(seen) if seen else None,
        "ingest": dataclasses.asdict(burst) if burst else None,
        "plans": {"customer": heaviest, **plans},
    }
    print(f"results: {save(document, started)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
