"""From a triggering event to notifications in the ledger: who gets what, on which channel, when, and
never twice."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from services.notifications.domain.preferences import Cap, Preferences, QuietHours
from services.notifications.domain.templates import Template
from services.notifications.service import customers, planning, templates
from services.notifications.store.preferences import PreferenceStore
from services.notifications.store.recipients import RecipientStore
from switchboard import errors
from switchboard.composition import Runtime
from switchboard.envelope import Event
from switchboard.events.v1.customer_events_pb2 import CustomerErased
from switchboard.events.v1.ticketing_events_pb2 import TicketResolved, TicketSlaBreached
from switchboard.timestamps import timestamp
from tests.unit.builders import as_event
from tests.unit.services.notifications.support import (
    by_channel,
    feed,
    ledger,
    offer,
    profile,
    put,
    scheduled,
    sofia,
    status_events,
    tom,
)

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def _apply(runtime: Runtime, event: Event, now: datetime = NOW) -> None:
    with runtime.uow() as uow:
        if event.type == "customer.profile_changed":
            customers.profile_changed(uow, event)
        elif event.type == "customer.erased":
            customers.erased(uow, event)
        else:
            planning.notify(uow, event, now=now)
        uow.commit()


def _prefer(runtime: Runtime, prefs: Preferences) -> None:
    with runtime.uow() as uow:
        PreferenceStore(uow.session).put(prefs, expected_version=0)
        uow.commit()


def test_an_offer_lands_in_the_agents_console_feed_as_sent(runtime: Runtime) -> None:
    _apply(runtime, as_event(offer("alice")))

    [item] = feed(runtime.db, "alice")
    [row] = ledger(runtime.db)
    assert (row.recipient_id, row.channel, row.status, row.priority) == ("alice", "console", "sent", "critical")
    assert item.notification_id == row.notification_id
    assert item.refs["offer_id"] == "01a2-offer-0001"
    assert "01a2-task-0001" in item.body
    assert status_events(runtime.db) == [("console", "alice", "sent")]


def test_the_same_event_delivered_twice_gives_one_notification_per_recipient_and_channel(runtime: Runtime) -> None:
    put(runtime, tom())
    _apply(runtime, as_event(profile()))
    event = as_event(scheduled())
    _apply(runtime, event)
    first = status_events(runtime.db)

    _apply(runtime, event)
    _apply(runtime, event, NOW + timedelta(hours=1))

    rows = ledger(runtime.db)
    assert sorted((r.recipient_id, r.channel) for r in rows) == [
        ("C-1001", "email"),
        ("C-1001", "sms"),
        ("tom", "console"),
        ("tom", "email"),
    ]
    assert len(feed(runtime.db, "tom")) == 1
    assert status_events(runtime.db) == first  # nothing new announced either


def test_a_dispatch_tells_the_technician_and_the_customer_by_sms_in_their_language_and_zone(runtime: Runtime) -> None:
    put(runtime, tom())
    _apply(runtime, as_event(profile()))

    _apply(runtime, as_event(scheduled()))

    technician, customer = by_channel(runtime.db, "tom"), by_channel(runtime.db, "C-1001")
    assert (technician["console"].status, technician["email"].status) == ("sent", "queued")
    assert technician["email"].address == "tom@example.com"
    assert customer["sms"].address == "+8613800138000"
    assert customer["sms"].status == "queued"
    assert customer["sms"].next_attempt_at == NOW
    # Shanghai is UTC+8: the 08:00-10:00 UTC window reads 16:00-18:00 there.
    assert "16:00" in customer["sms"].body and "18:00" in customer["sms"].body
    assert customer["sms"].subject == "您的上门服务已预约"
    assert customer["sms"].customer_id == "C-1001"


def test_a_customer_who_did_not_agree_to_sms_gets_no_sms_and_the_ledger_says_why(runtime: Runtime) -> None:
    put(runtime, tom())
    _apply(runtime, as_event(profile(consents={"email": True})))

    _apply(runtime, as_event(scheduled()))

    customer = by_channel(runtime.db, "C-1001")
    assert (customer["sms"].status, customer["sms"].reason) == ("suppressed", "no consent to contact by sms")
    assert customer["email"].status == "queued"


def test_an_sla_breach_reaches_the_assignee_and_the_teams_supervisors(runtime: Runtime) -> None:
    put(runtime, sofia())
    breach = TicketSlaBreached(
        ticket_id="01a2-ticket-0001", number="T-000001", customer_id="C-1001", team="heating", assignee="alice",
        due_at=timestamp(NOW - timedelta(minutes=1)), fired_at=timestamp(NOW),
    )  # fmt: skip

    _apply(runtime, as_event(breach))

    assert sorted({r.recipient_id for r in ledger(runtime.db)}) == ["alice", "sofia"]
    assert by_channel(runtime.db, "sofia")["email"].priority == "critical"
    # alice was never described: her console still works, her email is explained.
    assert by_channel(runtime.db, "alice")["email"].reason == "no email address on file"


def test_quiet_hours_defer_to_their_end_across_the_spring_daylight_saving_change(runtime: Runtime) -> None:
    put(runtime, tom())
    _prefer(runtime, Preferences("tom", channels={}, quiet_hours=QuietHours(time(22), time(7), "Europe/Berlin")))
    # 00:30 in Berlin on the night the clocks go from 02:00 CET to 03:00 CEST.
    night = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)

    _apply(runtime, as_event(scheduled()), night)

    email = by_channel(runtime.db, "tom")["email"]
    assert email.status == "queued"
    # 07:00 CEST is 05:00 UTC (it would be 06:00 had the change been ignored).
    assert email.next_attempt_at == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    assert email.reason == "quiet hours until 07:00 Europe/Berlin"


def test_a_critical_message_goes_through_quiet_hours(runtime: Runtime) -> None:
    put(runtime, sofia())
    _prefer(runtime, Preferences("sofia", channels={}, quiet_hours=QuietHours(time(22), time(7), "Asia/Shanghai")))
    night_in_shanghai = datetime(2026, 3, 14, 16, 0, tzinfo=UTC)  # midnight there
    breach = TicketSlaBreached(ticket_id="01a2-ticket-0001", number="T-000001", team="heating")

    _apply(runtime, as_event(breach), night_in_shanghai)

    email = by_channel(runtime.db, "sofia")["email"]
    assert (email.status, email.next_attempt_at) == ("queued", night_in_shanghai)


def test_a_frequency_cap_suppresses_what_goes_beyond_it(runtime: Runtime) -> None:
    _apply(runtime, as_event(profile()))
    _prefer(runtime, Preferences("C-1001", channels={"*": ("email",)}, caps={"*": Cap(max_count=1, per_seconds=86400)}))

    _apply(runtime, as_event(TicketResolved(ticket_id="01a2-ticket-0001", number="T-000001", customer_id="C-1001")))
    _apply(runtime, as_event(TicketResolved(ticket_id="01a2-ticket-0002", number="T-000002", customer_id="C-1001")))

    first, second = ledger(runtime.db, recipient_id="C-1001")
    assert first.status == "queued"
    assert "https://survey.switchboard.invalid/t/01a2-ticket-0001" in first.body
    assert second.status == "suppressed"
    assert second.reason.startswith("cap of 1 per")


def test_an_older_profile_arriving_late_does_not_overwrite_a_newer_one(runtime: Runtime) -> None:
    _apply(runtime, as_event(profile(version=3, emails=["new@example.cn"])))
    _apply(runtime, as_event(profile(version=2, emails=["old@example.cn"])))

    with runtime.reader() as uow:
        stored = RecipientStore(uow.session).get("C-1001")
    assert stored is not None and stored.emails == ("new@example.cn",)


def test_erasure_forgets_the_contact_data_and_what_was_sent_but_not_that_it_was(runtime: Runtime) -> None:
    put(runtime, tom())
    _apply(runtime, as_event(profile()))
    _apply(runtime, as_event(scheduled()))

    _apply(runtime, as_event(CustomerErased(customer_id="C-1001", requested_by="sue")))
    _apply(runtime, as_event(profile(version=4)))  # a replay from before the erasure

    rows = ledger(runtime.db, recipient_id="C-1001")
    assert len(rows) == 2
    assert {(r.address, r.subject, r.body) for r in rows} == {("", "", "")}
    with runtime.reader() as uow:
        stored = RecipientStore(uow.session).get("C-1001")
    assert stored is not None and (stored.emails, stored.phones, stored.consents) == ((), (), frozenset())


def test_a_template_using_a_variable_its_event_does_not_carry_is_refused_when_stored(runtime: Runtime) -> None:
    bad = Template("work_order.scheduled", "en", "Visit", "Your technician {{ technician_name }} comes soon")

    with runtime.uow() as uow, pytest.raises(errors.InvalidArgument) as refused:
        templates.put_template(uow, bad, expected_version=1)

    assert refused.value.violations[0].field == "template.body"
    assert "technician_name" in refused.value.violations[0].description
