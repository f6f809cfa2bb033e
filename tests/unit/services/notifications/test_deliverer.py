"""The deliverer: sends what is due, retries transient failures on the schedule, fails a critical
message over to the recipient's next channel, dead-letters permanent failures with the reason, sends
held low-priority messages as one digest, and announces every status change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notifications.config import NotificationsConfig
from services.notifications.domain.preferences import Preferences
from services.notifications.domain.recipients import Recipient
from services.notifications.service import notifications, planning
from services.notifications.service.deliverer import Deliverer
from services.notifications.store.preferences import PreferenceStore
from switchboard.composition import Runtime
from switchboard.events.v1.ticketing_events_pb2 import TicketSlaBreached
from tests.unit.builders import as_event
from tests.unit.services.notifications.support import (
    FakeChannel,
    by_channel,
    ledger,
    put,
    scheduled,
    status_events,
    tom,
)

START = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
CONFIG = NotificationsConfig(retry_schedule=(5.0, 30.0), retry_jitter=0.2, max_attempts=3)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _deliverer(runtime: Runtime, clock: Clock, **channels: FakeChannel) -> Deliverer:
    return Deliverer(runtime, channels=channels, config=CONFIG, clock=clock, rand=lambda: 0.5)


def _dispatch(runtime: Runtime, clock: Clock) -> None:
    with runtime.uow() as uow:
        planning.notify(uow, as_event(scheduled()), now=clock())
        uow.commit()


def test_a_due_email_is_sent_once_and_its_status_announced(runtime: Runtime) -> None:
    put(runtime, tom())
    clock, email = Clock(), FakeChannel("email")
    _dispatch(runtime, clock)
    deliverer = _deliverer(runtime, clock, email=email)

    assert deliverer.step() == 1
    assert deliverer.step() == 0

    [message] = email.sent
    row = by_channel(runtime.db, "tom")["email"]
    assert (message.address, message.notification_id) == ("tom@example.com", row.notification_id)
    assert (row.status, row.attempts, row.provider_ref) == ("sent", 1, f"<{row.notification_id}@test>")
    assert [s for s in status_events(runtime.db) if s[:2] == ("email", "tom")] == [
        ("email", "tom", "queued"),
        ("email", "tom", "sent"),
    ]


def test_transient_failures_are_retried_on_the_schedule_until_one_goes_through(runtime: Runtime) -> None:
    put(runtime, tom())
    clock, email = Clock(), FakeChannel("email", ["transient", "transient", "sent"])
    _dispatch(runtime, clock)
    deliverer = _deliverer(runtime, clock, email=email)

    deliverer.step()
    first_retry = by_channel(runtime.db, "tom")["email"]
    clock.advance(4.9)
    nothing_yet = deliverer.step()
    clock.advance(0.1)
    deliverer.step()
    second_retry = by_channel(runtime.db, "tom")["email"]
    clock.advance(30)
    deliverer.step()

    assert first_retry.next_attempt_at == START + timedelta(seconds=5)
    assert first_retry.reason == "attempt 1 failed, retrying: email: connection refused"
    assert nothing_yet == 0
    assert second_retry.next_attempt_at == START + timedelta(seconds=35)
    done = by_channel(runtime.db, "tom")["email"]
    assert (done.status, done.attempts, len(email.tried)) == ("sent", 3, 3)


def test_a_message_that_keeps_failing_is_failed_after_the_last_attempt_with_the_reason(runtime: Runtime) -> None:
    put(runtime, tom())
    clock, email = Clock(), FakeChannel("email", ["transient"])
    _dispatch(runtime, clock)
    deliverer = _deliverer(runtime, clock, email=email)

    for _ in range(3):
        deliverer.step()
        clock.advance(60)

    row = by_channel(runtime.db, "tom")["email"]
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.reason == "gave up after 3 attempts: email: connection refused"
    with runtime.reader() as uow:
        dead = notifications.list_for(uow, "tom", status="failed", before_seq=0, limit=10)
    assert [n.notification_id for n in dead] == [row.notification_id]


def test_a_permanent_failure_is_failed_at_once_and_never_retried(runtime: Runtime) -> None:
    put(runtime, tom())
    clock, email = Clock(), FakeChannel("email", ["permanent"])
    _dispatch(runtime, clock)
    deliverer = _deliverer(runtime, clock, email=email)

    deliverer.step()
    clock.advance(3600)
    deliverer.step()

    row = by_channel(runtime.db, "tom")["email"]
    assert (row.status, row.reason, len(email.tried)) == (
        "failed",
        "permanent failure: email: 550 5.1.1 no such user",
        1,
    )
    assert ("email", "tom", "failed") in status_events(runtime.db)


def test_a_critical_message_whose_email_is_down_fails_over_to_sms_at_the_first_failure(runtime: Runtime) -> None:
    put(
        runtime,
        Recipient(
            "sofia", emails=("sofia@example.com",), phones=("+4915112345678",), supervises=frozenset({"heating"})
        ),
    )
    with runtime.uow() as uow:
        PreferenceStore(uow.session).put(Preferences("sofia", channels={"sla": ("email",)}), expected_version=0)
        planning.notify(
            uow, as_event(TicketSlaBreached(ticket_id="01a2-t", number="T-000001", team="heating")), now=START
        )
        uow.commit()
    clock, email, sms = Clock(), FakeChannel("email", ["transient"]), FakeChannel("sms")
    deliverer = _deliverer(runtime, clock, email=email, sms=sms)

    deliverer.step()
    deliverer.step()

    channels = by_channel(runtime.db, "sofia")
    assert channels["email"].status == "failed"
    assert channels["email"].reason == "failed over to sms after: email: connection refused"
    assert (channels["sms"].status, channels["sms"].failover_of) == ("sent", channels["email"].notification_id)
    assert [m.address for m in sms.sent] == ["+4915112345678"]
    assert sms.sent[0].subject == email.tried[0].subject


def test_a_channel_that_is_not_configured_fails_the_message_permanently(runtime: Runtime) -> None:
    put(runtime, tom())
    clock = Clock()
    _dispatch(runtime, clock)

    _deliverer(runtime, clock).step()

    assert by_channel(runtime.db, "tom")["email"].reason == "permanent failure: channel email is not configured"


def test_low_priority_messages_wait_for_the_digest_and_go_out_as_one(runtime: Runtime) -> None:
    put(runtime, tom())
    clock, email = Clock(), FakeChannel("email")
    deliverer = _deliverer(runtime, clock, email=email)

    def fyi(subject: str) -> None:
        with runtime.uow() as uow:
            notifications.send(
                uow, recipient_id="tom", category="news", priority="low", channels=["email"], template_key="",
                subject=subject, body="", variables={}, link="", actor="sue", now=clock(),
            )  # fmt: skip
            uow.commit()

    fyi("Van inspection on Friday")
    deliverer.step()  # the first digest goes at once: nothing was held back yet
    fyi("New boiler manual")
    fyi("Canteen closed Monday")
    held = deliverer.step()
    clock.advance(4 * 3600)
    deliverer.step()

    assert held == 0
    first, digest = email.sent
    assert "Van inspection on Friday" in first.body
    assert "New boiler manual" in digest.body and "Canteen closed Monday" in digest.body
    assert {r.status for r in ledger(runtime.db, recipient_id="tom")} == {"sent"}


def test_a_pass_writes_its_outcomes_together_and_one_by_one_when_that_fails(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(runtime, tom(), Recipient("C-1001", kind="customer", name="Li Wei", emails=("li.wei@example.cn",),
                                  phones=("+8613800138000",), consents=frozenset({"email", "sms"})))  # fmt: skip
    clock, email, sms = Clock(), FakeChannel("email"), FakeChannel("sms")
    _dispatch(runtime, clock)  # tom by email; the customer by SMS and email
    deliverer = _deliverer(runtime, clock, email=email, sms=sms)
    transactions: list[Any] = []  # the units of work outcomes were written in (kept, so none is mistaken for another)
    write = Deliverer._write

    def first_transaction_breaks(self: Deliverer, uow: Any, attempt: Any, now: datetime) -> None:
        if not any(uow is seen for seen in transactions):
            transactions.append(uow)
            if len(transactions) == 1:
                raise RuntimeError("the database went away mid-transaction")
        write(self, uow, attempt, now)

    monkeypatch.setattr(Deliverer, "_write", first_transaction_breaks)

    assert deliverer.step() == 3
    assert deliverer.step() == 0

    # The shared transaction failed and rolled back; each outcome was then written in one of its own.
    assert len(transactions) == 1 + 3
    assert len(email.sent) == 2 and len(sms.sent) == 1
    sent = {(r.channel, r.recipient_id, r.status, r.attempts) for r in ledger(runtime.db) if r.channel != "console"}
    assert sent == {
        ("email", "tom", "sent", 1),
        ("email", "C-1001", "sent", 1),
        ("sms", "C-1001", "sent", 1),
    }
    sent_events = [s for s in status_events(runtime.db) if s[2] == "sent" and s[0] != "console"]
    assert sorted(sent_events) == [("email", "C-1001", "sent"), ("email", "tom", "sent"), ("sms", "C-1001", "sent")]


def test_a_pass_on_several_threads_writes_one_transaction_per_thread(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(runtime, tom(), Recipient("C-1001", kind="customer", name="Li Wei", emails=("li.wei@example.cn",),
                                  phones=("+8613800138000",), consents=frozenset({"email", "sms"})))  # fmt: skip
    clock, email, sms = Clock(), FakeChannel("email"), FakeChannel("sms")
    _dispatch(runtime, clock)
    deliverer = _deliverer(runtime, clock, email=email, sms=sms)
    deliverer.threads = 2  # SQLite gets one thread; the dealing is what is tested here
    shares: list[int] = []
    record_all = Deliverer._record_all

    def counted(self: Deliverer, attempts: list[Any]) -> None:
        shares.append(len(attempts))
        record_all(self, attempts)

    monkeypatch.setattr(Deliverer, "_record_all", counted)

    assert deliverer.step() == 3

    assert sorted(shares) == [1, 2]
    assert {r.status for r in ledger(runtime.db) if r.channel != "console"} == {"sent"}
