"""The ledger records notifications several at a time, and one that exists already stays as it was."""

from __future__ import annotations

from datetime import UTC, datetime

from services.notifications.domain.ids import notification_id
from services.notifications.domain.notifications import Notification
from services.notifications.store.ledger import Ledger
from switchboard.composition import Runtime
from tests.unit.services.notifications.support import ledger

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def dispatch(channel: str, subject: str = "Visit booked") -> Notification:
    return Notification(
        notification_id=notification_id("evt-0001", "tom", channel),
        trigger_event_id="evt-0001",
        trigger_event_type="work_order.scheduled",
        recipient_id="tom",
        channel=channel,
        address="tom@example.com" if channel == "email" else "",
        category="dispatch",
        priority="high",
        subject=subject,
        body="Tuesday 08:00-10:00",
        refs={"work_order_id": "WO-000042"},
    )


def test_several_notifications_go_in_at_once_and_existing_ones_are_left_as_they_were(runtime: Runtime) -> None:
    with runtime.uow() as uow:
        first = Ledger(uow.session).add_all([dispatch("console"), dispatch("email")], NOW)
        uow.commit()
    with runtime.uow() as uow:
        again = Ledger(uow.session).add_all([dispatch("email", subject="Changed"), dispatch("sms")], NOW)
        uow.commit()

    assert first == {dispatch("console").notification_id, dispatch("email").notification_id}
    assert again == {dispatch("sms").notification_id}
    rows = {row.channel: row for row in ledger(runtime.db)}
    assert sorted(rows) == ["console", "email", "sms"]
    assert rows["email"].subject == "Visit booked"
    assert rows["email"].refs == {"work_order_id": "WO-000042"}


def test_nothing_to_record_records_nothing(runtime: Runtime) -> None:
    with runtime.uow() as uow:
        assert Ledger(uow.session).add_all([], NOW) == set()
