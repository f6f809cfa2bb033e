"""After a failed attempt: retry on the schedule, fail a critical message over, dead-letter the hopeless."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifications.domain.delivery import after_failure, retry_delay
from services.notifications.domain.recipients import Recipient, failover_order, reach

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
SCHEDULE = (5.0, 30.0, 120.0)


def test_retries_follow_the_schedule_and_its_last_delay_repeats() -> None:
    middle = lambda: 0.5  # noqa: E731 - no jitter at the middle of the range

    assert [retry_delay(n, SCHEDULE, 0.2, middle) for n in (1, 2, 3, 4, 9)] == [5.0, 30.0, 120.0, 120.0, 120.0]


def test_jitter_stays_within_its_share_either_way() -> None:
    assert retry_delay(2, SCHEDULE, 0.2, lambda: 0.0) == 24.0
    assert retry_delay(2, SCHEDULE, 0.2, lambda: 1.0) == 36.0


def _after(**overrides: object) -> object:
    values: dict[str, object] = {
        "error": "connection refused",
        "permanent": False,
        "attempts": 1,
        "max_attempts": 3,
        "priority": "normal",
        "failover_to": None,
        "now": NOW,
        "delay": 5.0,
    }
    values.update(overrides)
    return after_failure(**values)  # type: ignore[arg-type]


def test_a_transient_failure_is_retried_after_the_delay() -> None:
    outcome = _after()

    assert (outcome.action, outcome.retry_at) == ("retry", NOW + timedelta(seconds=5))  # type: ignore[attr-defined]


def test_the_last_attempt_fails_with_the_count_and_the_error() -> None:
    outcome = _after(attempts=3)

    assert (outcome.action, outcome.reason) == ("fail", "gave up after 3 attempts: connection refused")  # type: ignore[attr-defined]


def test_a_permanent_failure_is_never_retried() -> None:
    outcome = _after(permanent=True, error="550 no such user")

    assert (outcome.action, outcome.reason) == ("fail", "permanent failure: 550 no such user")  # type: ignore[attr-defined]


def test_a_critical_message_fails_over_at_its_first_failure_even_a_permanent_one() -> None:
    outcome = _after(priority="critical", failover_to="sms", permanent=True)

    assert (outcome.action, outcome.failover_to) == ("failover", "sms")  # type: ignore[attr-defined]


def test_a_critical_message_with_nowhere_to_go_keeps_retrying() -> None:
    assert _after(priority="critical", failover_to=None).action == "retry"  # type: ignore[attr-defined]


def test_a_customer_is_reached_only_with_consent_and_an_address() -> None:
    customer = Recipient(
        "C-1001",
        kind="customer",
        emails=("li.wei@example.cn",),
        phones=("+8613800138000",),
        consents=frozenset({"email"}),
    )

    assert reach(customer, "email").address == "li.wei@example.cn"
    assert reach(customer, "sms").refusal == "no consent to contact by sms"
    assert reach(customer, "console").refusal == "customers have no console"


def test_staff_need_no_consent_but_an_address() -> None:
    alice = Recipient("alice", emails=("alice@example.com",))

    assert reach(alice, "console").address == "alice"
    assert reach(alice, "sms").refusal == "no sms address on file"


def test_failover_tries_the_recipients_own_channels_first_then_the_rest() -> None:
    assert failover_order(("email", "console")) == ("email", "console", "sms", "chat", "webhook")
