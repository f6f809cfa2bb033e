"""Unusual behaviour as specifications: which events are watched, and when each detector speaks up and why."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.message import Message

from services.customer360.domain.anomaly import (
    Baselines,
    DetectorConfig,
    Finding,
    Observation,
    observations_of,
    observe,
)
from switchboard.events.v1 import integration_events_pb2 as integration
from switchboard.events.v1 import ticketing_events_pb2 as ticketing

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CONFIG = DetectorConfig()


def at(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def transaction(amount: int, when: datetime, kind: str = "withdrawal", currency: str = "EUR") -> Message:
    message = integration.AccountTransaction(
        transaction_id="tx", kind=kind, amount_minor=amount, currency=currency, channel="branch"
    )
    message.occurred_at.FromDatetime(when)
    return message


def ticket(when: datetime, asset_id: str = "", created_by: str = "anna") -> Message:
    message = ticketing.TicketCreated(ticket_id="t", asset_id=asset_id, created_by=created_by, subject="Help")
    message.created_at.FromDatetime(when)
    return message


def fault(asset_id: str, when: datetime) -> Message:
    message = integration.DeviceFaultReported(asset_id=asset_id, customer_id="C-1", fault_code="E21")
    message.detected_at.FromDatetime(when)
    return message


class Customer:
    """One customer's baselines, fed event by event as the service would, keeping every finding."""

    def __init__(self, config: DetectorConfig = CONFIG) -> None:
        self.config = config
        self.baselines = Baselines.empty()
        self.findings: list[Finding] = []
        self._events = 0

    def sees(self, event_type: str, payload: Message, event_id: str = "") -> list[Finding]:
        self._events += 1
        event_id = event_id or f"e{self._events}"
        found: list[Finding] = []
        for observation in observations_of(event_type, payload, T0, event_id):
            # The stored state is text: every step goes through it, as on the profile row.
            self.baselines, new = observe(Baselines.from_json(self.baselines.to_json()), observation, self.config)
            found += new
        self.findings += found
        return found

    def withdraws(self, amounts: Iterable[int], every_days: float = 4, start: float = 0) -> None:
        for n, amount in enumerate(amounts):
            self.sees("account.transaction", transaction(amount, at(start + n * every_days)))


def usual_withdrawals(count: int = 40) -> list[int]:
    return [60_000, 65_000, 70_000] * (count // 3) + [65_000] * (count % 3)


# --- what is observed ------------------------------------------------------------------------------


def test_a_transaction_gives_its_amount_per_kind_in_its_currency_and_counts_towards_its_frequency() -> None:
    observations = observations_of(
        "account.transaction", transaction(900_000, at(3), kind="Withdrawal"), at(4), "evt-1"
    )

    assert [(o.kind, o.metric, o.value, o.currency) for o in observations] == [
        ("amount", "account.transaction:withdrawal", 900_000.0, "EUR"),
        ("frequency", "account.transaction:withdrawal", 1.0, ""),
    ]
    # The time is the payload's own (when the money moved), not the envelope's.
    assert {(o.at, o.event_id, o.event_type) for o in observations} == {(at(3), "evt-1", "account.transaction")}


def test_orders_and_payments_give_amounts_and_a_refund_has_a_baseline_of_its_own() -> None:
    order = integration.OrderPlaced(order_id="o1", total_minor=12_000, currency="EUR")
    refund = integration.OrderPlaced(order_id="o2", total_minor=-5_000, currency="EUR")
    payment = integration.PaymentReceived(payment_id="p1", amount_minor=3_000, currency="EUR")

    assert [(o.kind, o.metric, o.value) for o in observations_of("order.placed", order, at(), "e1")] == [
        ("amount", "order.placed", 12_000.0),
        ("frequency", "order.placed", 1.0),
    ]
    assert [(o.kind, o.metric, o.value) for o in observations_of("order.placed", refund, at(), "e2")] == [
        ("amount", "order.placed:refund", 5_000.0)
    ]
    assert [(o.kind, o.metric, o.at) for o in observations_of("payment.received", payment, at(2), "e3")] == [
        ("amount", "payment.received", at(2))  # no time in the payload: the envelope's
    ]


def test_a_ticket_counts_towards_the_ticket_rate_and_with_an_asset_towards_its_faults_as_do_fault_reports() -> None:
    plain = observations_of("ticket.created", ticket(at(1)), at(), "e1")
    for_asset = observations_of("ticket.created", ticket(at(1), "SN-9", created_by="evt-fault"), at(), "e2")
    reported = observations_of("device.fault_reported", fault("SN-9", at(1)), at(), "e3")

    assert [(o.kind, o.metric) for o in plain] == [("ticket_rate", "ticket.created")]
    assert [(o.kind, o.asset_id, o.caused_by) for o in for_asset] == [
        ("ticket_rate", "", ""),
        ("repeated_fault", "SN-9", "evt-fault"),
    ]
    assert [(o.kind, o.metric, o.asset_id) for o in reported] == [("repeated_fault", "device.fault_reported", "SN-9")]


def test_events_the_detectors_do_not_watch_give_nothing_and_a_wrong_payload_is_refused() -> None:
    assert observations_of("ticket.commented", ticketing.TicketCommented(), at(), "e1") == []
    with pytest.raises(TypeError, match=r"account\.transaction carries switchboard\.events\.v1\.AccountTransaction"):
        observations_of("account.transaction", ticketing.TicketCreated(), at(), "e1")


# --- amounts ---------------------------------------------------------------------------------------


def test_the_seed_story_a_withdrawal_far_above_her_habit_is_flagged_with_a_reason_to_call_her() -> None:
    customer = Customer()
    customer.withdraws(usual_withdrawals(42))
    assert customer.findings == []

    found = customer.sees("account.transaction", transaction(900_000, at(200)), "evt-big")

    (finding,) = found
    assert (finding.kind, finding.metric, finding.observed, finding.baseline) == (
        "amount",
        "account.transaction:withdrawal",
        900_000.0,
        65_000.0,
    )
    assert (finding.source_event_id, finding.source_event_type) == ("evt-big", "account.transaction")
    assert finding.score > CONFIG.z_threshold
    assert finding.reason == (
        "withdrawal of 9,000.00 EUR is 14 times this customer's usual 650.00 EUR (median of their last "
        f"{CONFIG.amount_memory} withdrawals)"
    )


def test_no_amount_is_judged_before_there_is_enough_history() -> None:
    customer = Customer()
    customer.withdraws(usual_withdrawals(CONFIG.min_history - 1))

    assert customer.sees("account.transaction", transaction(5_000_000, at(100))) == []


def test_a_flagged_outlier_does_not_teach_the_baseline_that_outliers_are_normal() -> None:
    customer = Customer()
    customer.withdraws(usual_withdrawals(30))

    customer.withdraws([900_000] * 5, every_days=1, start=150)

    # Every one of them is still far from her habit: the baseline learnt them at the boundary only.
    assert [f.kind for f in customer.findings] == ["amount"] * 5
    assert {f.baseline for f in customer.findings} == {65_000.0}
    kept = max(value for _, value in customer.baselines.amounts["account.transaction:withdrawal EUR"].samples)
    assert 65_000 < kept < 900_000


def test_small_sums_and_modest_rises_are_not_worth_a_call() -> None:
    regular = Customer()
    regular.withdraws([5_000] * 20)  # 50.00, always exactly

    coffee = regular.sees("account.transaction", transaction(9_000, at(100)))  # 90.00: under min_amount
    a_bit_more = regular.sees("account.transaction", transaction(6_500, at(101)))  # 30% more than ever

    assert coffee == a_bit_more == []


def test_amounts_in_another_currency_or_of_another_kind_have_their_own_baselines() -> None:
    customer = Customer()
    customer.withdraws(usual_withdrawals(20))

    in_dollars = customer.sees("account.transaction", transaction(900_000, at(100), currency="USD"))
    a_deposit = customer.sees("account.transaction", transaction(900_000, at(101), kind="deposit"))

    assert in_dollars == a_deposit == []


# --- frequency -------------------------------------------------------------------------------------


def test_a_burst_of_withdrawals_from_a_weekly_customer_is_flagged_once() -> None:
    customer = Customer()
    customer.withdraws(usual_withdrawals(12), every_days=7)

    customer.withdraws([60_000] * 8, every_days=1 / 24, start=90)

    (finding,) = customer.findings
    assert (finding.kind, finding.metric) == ("frequency", "account.transaction:withdrawal")
    assert finding.observed == CONFIG.frequency_min_count
    assert finding.reason.startswith(
        f"{CONFIG.frequency_min_count} withdrawals in the last 24 hours, against this customer's usual 0.9 a week "
        "(12 withdrawals in the 3 months before)"
    )


def test_a_busy_day_of_a_customer_who_buys_daily_is_not_a_burst() -> None:
    customer = Customer()
    for day in range(60):
        customer.sees("account.transaction", transaction(2_500, at(day), kind="purchase"))
        if day % 7 == 5:
            customer.sees("account.transaction", transaction(4_000, at(day, hours=3), kind="purchase"))

    for hour in (1, 4, 6):
        customer.sees("account.transaction", transaction(3_000, at(60, hours=hour), kind="purchase"))

    assert customer.findings == []


def test_frequency_is_not_judged_on_a_new_metric() -> None:
    customer = Customer()

    customer.withdraws([60_000] * 10, every_days=1 / 24)

    assert customer.findings == []


# --- ticket rate -----------------------------------------------------------------------------------


def test_a_customer_who_never_needed_help_opening_ticket_after_ticket_is_flagged() -> None:
    customer = Customer()
    customer.withdraws(usual_withdrawals(30), every_days=5)  # known for five months, no tickets

    for n in range(5):
        customer.sees("ticket.created", ticket(at(150 + 2 * n)), f"ticket-{n}")

    (finding,) = customer.findings
    assert (finding.kind, finding.metric, finding.source_event_id) == ("ticket_rate", "ticket.created", "ticket-3")
    assert finding.observed == 4
    assert finding.reason.startswith(
        "4 tickets in the last 30 days, against this customer's usual 0.2 a month (0 tickets in the 4 months before)"
    )


def test_a_customer_who_often_calls_calling_a_little_more_is_not_flagged() -> None:
    customer = Customer()
    for day in range(0, 180, 15):  # two tickets a month, for six months
        customer.sees("ticket.created", ticket(at(day)))

    for day in (181, 186, 192, 200):
        customer.sees("ticket.created", ticket(at(day)))

    assert customer.findings == []


# --- repeated faults -------------------------------------------------------------------------------


def test_a_product_failing_three_times_within_the_window_is_flagged_on_the_third_failure() -> None:
    customer = Customer()

    customer.sees("device.fault_reported", fault("SN-9", at(1)), "f1")
    customer.sees("device.fault_reported", fault("SN-9", at(9)), "f2")
    found = customer.sees("device.fault_reported", fault("SN-9", at(13)), "f3")

    (finding,) = found
    assert (finding.kind, finding.asset_id, finding.observed, finding.source_event_id) == (
        "repeated_fault",
        "SN-9",
        3.0,
        "f3",
    )
    assert finding.reason == (
        "product SN-9 has failed 3 times in 12 days (since 2026-01-06); the repairs are not holding: "
        "consider a senior technician or a replacement"
    )


def test_a_report_and_the_ticket_opened_for_it_or_a_report_repeated_soon_after_are_one_failure() -> None:
    customer = Customer()

    for day, event_id in ((1, "f1"), (9, "f2")):
        customer.sees("device.fault_reported", fault("SN-9", at(day)), event_id)
        customer.sees("ticket.created", ticket(at(day, hours=2), "SN-9", created_by=event_id))
        customer.sees("device.fault_reported", fault("SN-9", at(day, hours=1)))

    assert customer.findings == []


def test_a_product_is_flagged_once_per_run_of_failures_and_others_do_not_add_up() -> None:
    customer = Customer()
    for day in (1, 5, 9, 12, 15):
        customer.sees("device.fault_reported", fault("SN-9", at(day)))
    customer.sees("device.fault_reported", fault("SN-1", at(16)))
    customer.sees("device.fault_reported", fault("SN-2", at(17)))

    assert [(f.asset_id, f.observed) for f in customer.findings] == [("SN-9", 3.0)]

    customer.sees("device.fault_reported", fault("SN-9", at(18)))  # the third since the finding

    assert [(f.asset_id, f.observed) for f in customer.findings] == [("SN-9", 3.0), ("SN-9", 3.0)]


def test_failures_further_apart_than_the_window_never_add_up() -> None:
    customer = Customer()

    for day in (0, 40, 80, 120):
        customer.sees("device.fault_reported", fault("SN-9", at(day)))

    assert customer.findings == []
    # Old failures are forgotten, so the state stays small.
    assert len(customer.baselines.assets["SN-9"].failures) == 1


# --- the state ------------------------------------------------------------------------------------


def test_the_state_is_empty_text_at_first_and_refuses_text_that_is_not_baselines() -> None:
    assert Baselines.from_json("") == Baselines.empty()
    assert Baselines.from_json(Baselines.empty().to_json()) == Baselines.empty()
    with pytest.raises(ValueError, match="not a customer's baselines"):
        Baselines.from_json('{"format": 99}')
    with pytest.raises(ValueError, match="not a customer's baselines"):
        Baselines.from_json("[1, 2")


def test_an_event_that_arrives_late_is_learnt_in_its_place() -> None:
    customer = Customer()
    customer.withdraws(usual_withdrawals(12))

    customer.sees("account.transaction", transaction(61_000, at(2)))

    samples = customer.baselines.amounts["account.transaction:withdrawal EUR"].samples
    assert [when for when, _ in samples] == sorted(when for when, _ in samples)
    assert customer.findings == []


def test_an_unknown_observation_kind_and_a_nonsense_config_are_refused() -> None:
    odd = Observation("mood", "x", 1.0, at(), "e1", "x.happened")
    with pytest.raises(ValueError, match="unknown observation kind 'mood'"):
        observe(Baselines.empty(), odd, CONFIG)
    with pytest.raises(ValueError, match=r"DetectorConfig\.z_threshold must be positive"):
        DetectorConfig(z_threshold=0)
    with pytest.raises(ValueError, match=r"DetectorConfig\.ticket_p_value must be between 0 and 1"):
        DetectorConfig(ticket_p_value=1.5)
