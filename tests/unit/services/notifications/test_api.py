"""Notifications' three gRPC services served in-process on a real port, with the chassis's interceptor:
validation, permissions, idempotent sends, templates refused when stored, and the live feed."""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest

from services.notifications import api
from services.notifications.service import planning
from switchboard.composition import Runtime
from switchboard.context import Caller
from switchboard.notifications.v1 import notifications_pb2 as pb
from switchboard.notifications.v1 import (
    notifications_pb2_grpc,
    preferences_pb2,
    preferences_pb2_grpc,
    templates_pb2,
    templates_pb2_grpc,
)
from switchboard.rpc import auth
from switchboard.rpc.server import build_server
from tests.support import wait_for
from tests.unit.builders import as_event
from tests.unit.services.notifications.support import (
    ledger,
    offer,
)
from tests.unit.services.routing.api_calls import Listening

ALICE = Caller(subject="alice", roles=frozenset({"agent"}))
BOB = Caller(subject="bob", roles=frozenset({"agent"}))
SOFIA = Caller(subject="sofia", roles=frozenset({"supervisor"}))


class Served:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._server = build_server(
            runtime.settings, "notifications", api.bindings(runtime), runtime.settings.port_of(3)
        )
        self._server.start()
        self.channel = grpc.insecure_channel(self._server.address)
        self.notifications = notifications_pb2_grpc.NotificationServiceStub(self.channel)
        self.preferences = preferences_pb2_grpc.PreferenceServiceStub(self.channel)
        self.templates = templates_pb2_grpc.TemplateServiceStub(self.channel)

    def as_(self, caller: Caller) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {auth.issue(self.runtime.settings, caller.subject, caller.roles)}"),)

    def stop(self) -> None:
        self.channel.close()
        self._server.stop()


@pytest.fixture
def served(runtime: Runtime) -> Iterator[Served]:
    server = Served(runtime)
    yield server
    server.stop()


def _put_alice(served: Served) -> preferences_pb2.Recipient:
    request = preferences_pb2.PutRecipientRequest(
        idempotency_key="key-recipient-alice",
        recipient=preferences_pb2.Recipient(
            recipient_id="alice", name="Alice", email="Alice@Example.com", locale="en", time_zone="Europe/Berlin"
        ),
    )
    return served.preferences.PutRecipient(request, metadata=served.as_(SOFIA)).recipient


def test_a_supervisor_puts_a_recipient_and_an_agent_may_not(served: Served) -> None:
    alice = _put_alice(served)

    with pytest.raises(grpc.RpcError) as refused:
        served.preferences.PutRecipient(
            preferences_pb2.PutRecipientRequest(
                idempotency_key="key-recipient-bob", recipient=preferences_pb2.Recipient(recipient_id="bob")
            ),
            metadata=served.as_(BOB),
        )

    assert (alice.email, alice.version, alice.kind) == ("alice@example.com", 1, preferences_pb2.RECIPIENT_KIND_STAFF)
    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED


def test_a_template_with_a_variable_its_event_lacks_is_refused_naming_it(served: Served) -> None:
    bad = templates_pb2.Template(key="ticket.resolved", locale="en", subject="Rate us", body="Hi {{ customer_email }}")

    with pytest.raises(grpc.RpcError) as refused:
        served.templates.PutTemplate(
            templates_pb2.PutTemplateRequest(idempotency_key="key-template-0001", template=bad, expected_version=1),
            metadata=served.as_(SOFIA),
        )

    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "template.body" in (refused.value.details() or "")
    assert "customer_email" in (refused.value.details() or "")


def test_templates_list_with_the_variables_each_key_may_use_and_preview_in_chinese(served: Served) -> None:
    listed = served.templates.ListTemplates(
        templates_pb2.ListTemplatesRequest(key="ticket.resolved"), metadata=served.as_(ALICE)
    )
    preview = served.templates.PreviewTemplate(
        templates_pb2.PreviewTemplateRequest(
            key="ticket.resolved",
            locale="zh-CN",
            context_json='{"number": "T-000001", "link": "https://s.example/t/1"}',
        ),
        metadata=served.as_(ALICE),
    )

    assert sorted(t.locale for t in listed.templates) == ["en", "zh"]
    assert "resolution_code" in listed.variables["ticket.resolved"].names
    assert "T-000001" in preview.subject and "https://s.example/t/1" in preview.body
    assert "评分" in preview.subject


def test_an_ad_hoc_send_is_idempotent_by_key_and_its_status_can_be_read(served: Served) -> None:
    _put_alice(served)
    request = pb.SendRequest(
        idempotency_key="key-send-00000001", recipient_id="alice", subject="Team meeting", body="At 15:00 in room 2",
        priority=pb.PRIORITY_HIGH,
    )  # fmt: skip

    first = served.notifications.Send(request, metadata=served.as_(SOFIA))
    again = served.notifications.Send(request, metadata=served.as_(SOFIA))
    console = next(n for n in first.notifications if n.channel == "console")
    status = served.notifications.GetStatus(
        pb.GetStatusRequest(notification_id=console.notification_id), metadata=served.as_(ALICE)
    )

    assert [n.notification_id for n in again.notifications] == [n.notification_id for n in first.notifications]
    assert sorted(n.channel for n in first.notifications) == ["console", "email"]
    assert (status.notification.status, status.notification.subject) == (pb.NOTIFICATION_STATUS_SENT, "Team meeting")
    assert len(ledger(served.runtime.db)) == 2


def test_another_agent_may_not_read_alices_notifications(served: Served) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        served.notifications.ListNotifications(
            pb.ListNotificationsRequest(recipient_id="alice"), metadata=served.as_(BOB)
        )

    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED


def test_an_offer_reaches_the_agents_live_feed_within_a_fraction_of_a_second_and_counts_as_delivered(
    served: Served,
) -> None:
    listening: Listening[pb.SubscribeResponse] = Listening(
        served.notifications.Subscribe(pb.SubscribeRequest(), metadata=served.as_(ALICE))
    )
    time.sleep(0.2)  # the stream is listening
    try:
        published = time.monotonic()
        with served.runtime.uow() as uow:
            planning.notify(uow, as_event(offer("alice")))
            uow.commit()
        [response] = listening.wait_for(1)
        latency = listening.arrived[0] - published
        wait_for(lambda: ledger(served.runtime.db)[0].status == "delivered", timeout=2, what="delivered")
    finally:
        listening.close()

    assert response.item.refs["offer_id"] == "01a2-offer-0001"
    assert response.item.priority == pb.PRIORITY_CRITICAL
    assert latency < 0.5


def test_a_console_that_reconnects_gets_what_it_missed_after_its_cursor(served: Served) -> None:
    for number in (1, 2, 3):
        with served.runtime.uow() as uow:
            planning.notify(uow, as_event(offer("alice", offer_id=f"01a2-offer-000{number}")))
            uow.commit()
    listening: Listening[pb.SubscribeResponse] = Listening(
        served.notifications.Subscribe(pb.SubscribeRequest(replay_latest=3), metadata=served.as_(ALICE))
    )
    try:
        first = listening.wait_for(3)
    finally:
        listening.close()
    resumed: Listening[pb.SubscribeResponse] = Listening(
        served.notifications.Subscribe(
            pb.SubscribeRequest(after_cursor=first[0].item.cursor), metadata=served.as_(ALICE)
        )
    )
    try:
        missed = resumed.wait_for(2)
    finally:
        resumed.close()

    assert [r.item.refs["offer_id"] for r in first] == ["01a2-offer-0001", "01a2-offer-0002", "01a2-offer-0003"]
    assert [r.item.refs["offer_id"] for r in missed] == ["01a2-offer-0002", "01a2-offer-0003"]


def test_preferences_are_compare_and_set(served: Served) -> None:
    prefs = preferences_pb2.Preferences(
        channels=[preferences_pb2.CategoryChannels(category="sla", channels=["console", "sms"])],
        quiet_hours=preferences_pb2.QuietHours(start="22:00", end="07:00", time_zone="Europe/Berlin"),
    )
    stored = served.preferences.PutPreferences(
        preferences_pb2.PutPreferencesRequest(idempotency_key="key-prefs-0001", preferences=prefs),
        metadata=served.as_(ALICE),
    ).preferences

    with pytest.raises(grpc.RpcError) as stale:
        served.preferences.PutPreferences(
            preferences_pb2.PutPreferencesRequest(idempotency_key="key-prefs-0002", preferences=prefs),
            metadata=served.as_(ALICE),
        )
    read = served.preferences.GetPreferences(preferences_pb2.GetPreferencesRequest(), metadata=served.as_(ALICE))

    assert (stored.recipient_id, stored.version) == ("alice", 1)
    assert stale.value.code() is grpc.StatusCode.ABORTED
    assert read.preferences.quiet_hours.end == "07:00"


def test_rules_list_the_defaults_and_refuse_an_event_notifications_does_not_consume(served: Served) -> None:
    listed = served.templates.ListRules(
        templates_pb2.ListRulesRequest(event_type="work_order.scheduled"), metadata=served.as_(ALICE)
    )
    with pytest.raises(grpc.RpcError) as refused:
        served.templates.PutRule(
            templates_pb2.PutRuleRequest(
                idempotency_key="key-rule-0001",
                rule=templates_pb2.Rule(
                    rule_id="created", event_type="ticket.created", audiences=["customer"], category="news",
                    priority=pb.PRIORITY_LOW, channels=["email"], enabled=True,
                ),
            ),
            metadata=served.as_(SOFIA),
        )  # fmt: skip

    assert sorted(r.rule_id for r in listed.rules) == ["dispatch-to-technician", "visit-to-customer"]
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "rule.event_type" in (refused.value.details() or "")
