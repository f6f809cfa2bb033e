# ruff: noqa: RUF001  (the Chinese test copy uses full-width punctuation)
"""Channel adapters against real servers on loopback: an aiosmtpd SMTP server and an http.server webhook
receiver. What matters is the verdict on failure: transient (retry, fail over) or permanent (never retry)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.notifications.channels import (
    AppriseChannel,
    Message,
    PermanentFailure,
    SmtpChannel,
    TransientFailure,
    build_channels,
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def message(address: str, *, channel: str = "email", subject: str = "Hello", body: str = "Body") -> Message:
    return Message(
        notification_id="0b7e4f7e-2d4c-5d8e-9a51-3f0e2c7b9d21",
        channel=channel,
        address=address,
        subject=subject,
        body=body,
        locale="zh",
    )


# ---- a real SMTP server


@dataclass
class Mailbox:
    """aiosmtpd handler: keeps what it accepts; some recipients are refused the way real servers refuse them."""

    received: list[Envelope] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        if address.startswith("busy@"):
            return "452 4.2.2 Mailbox full, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if any(rcpt.startswith("spam@") for rcpt in envelope.rcpt_tos):
            return "554 5.7.1 Message rejected as spam"
        if any(rcpt.startswith("later@") for rcpt in envelope.rcpt_tos):
            return "421 4.3.2 System not accepting network messages"
        self.received.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def test_a_chinese_email_arrives_in_utf8_with_a_message_id_from_the_notification(
    smtp_server: tuple[Mailbox, int],
) -> None:
    mailbox, port = smtp_server
    email = SmtpChannel("127.0.0.1", port, "Switchboard <noreply@switchboard.example>", timeout=5)
    receipt = email.send(
        message(
            "wang.fang@example.cn",
            subject="您的上门服务已预约",
            body="王芳您好，技术人员将于 2026年11月25日 14:00-16:00 上门。",
        )
    )

    assert receipt.status == "sent"
    assert receipt.provider_ref == "<0b7e4f7e-2d4c-5d8e-9a51-3f0e2c7b9d21@switchboard.example>"
    [envelope] = mailbox.received
    assert envelope.mail_from == "noreply@switchboard.example"
    assert envelope.rcpt_tos == ["wang.fang@example.cn"]
    assert isinstance(envelope.original_content, bytes)
    mail = message_from_bytes(envelope.original_content, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["Subject"] == "您的上门服务已预约"
    assert mail["Message-ID"] == receipt.provider_ref
    assert mail["Content-Language"] == "zh"
    assert mail["Auto-Submitted"] == "auto-generated"
    body = mail.get_body()
    assert body is not None
    assert body.get_content_charset() == "utf-8"
    assert body.get_content().strip() == "王芳您好，技术人员将于 2026年11月25日 14:00-16:00 上门。"


def test_a_retry_carries_the_same_message_id(smtp_server: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp_server
    email = SmtpChannel("127.0.0.1", port, "noreply@switchboard.example", timeout=5)
    first = email.send(message("a@example.com"))
    second = email.send(message("a@example.com"))
    assert first.provider_ref == second.provider_ref
    assert len(mailbox.received) == 2


def test_a_recipient_the_server_refuses_with_5xx_is_a_permanent_failure(smtp_server: tuple[Mailbox, int]) -> None:
    _, port = smtp_server
    email = SmtpChannel("127.0.0.1", port, "noreply@switchboard.example", timeout=5)
    with pytest.raises(PermanentFailure, match="550"):
        email.send(message("nobody@example.com"))


def test_a_recipient_the_server_defers_with_4xx_is_a_transient_failure(smtp_server: tuple[Mailbox, int]) -> None:
    _, port = smtp_server
    email = SmtpChannel("127.0.0.1", port, "noreply@switchboard.example", timeout=5)
    with pytest.raises(TransientFailure, match="452"):
        email.send(message("busy@example.com"))


def test_a_message_refused_after_data_is_judged_by_the_reply_code(smtp_server: tuple[Mailbox, int]) -> None:
    _, port = smtp_server
    email = SmtpChannel("127.0.0.1", port, "noreply@switchboard.example", timeout=5)
    with pytest.raises(PermanentFailure, match="554"):
        email.send(message("spam@example.com"))
    with pytest.raises(TransientFailure, match="421"):
        email.send(message("later@example.com"))


def test_an_address_that_is_no_address_fails_permanently_without_a_connection() -> None:
    email = SmtpChannel("127.0.0.1", free_port(), "noreply@switchboard.example", timeout=1)
    for bad in ("", "not-an-address", "@example.com"):
        with pytest.raises(PermanentFailure):
            email.send(message(bad))


def test_an_smtp_server_that_is_down_is_a_transient_failure() -> None:
    email = SmtpChannel("127.0.0.1", free_port(), "noreply@switchboard.example", timeout=2)
    with pytest.raises(TransientFailure, match="unreachable"):
        email.send(message("a@example.com"))


def test_a_server_that_never_answers_times_out_as_a_transient_failure() -> None:
    with socket.socket() as silent:  # accepts the connection (backlog) and never says hello
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        email = SmtpChannel("127.0.0.1", silent.getsockname()[1], "noreply@switchboard.example", timeout=0.5)
        with pytest.raises(TransientFailure):
            email.send(message("a@example.com"))


# ---- a real webhook receiver


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    payload: dict[str, Any]


class Receiver(BaseHTTPRequestHandler):
    hits: list[Hit]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        payload = json.loads(self.rfile.read(length) or b"{}")
        self.server.hits.append(Hit(self.path, dict(self.headers.items()), payload))  # type: ignore[attr-defined]
        status = int(self.path.strip("/").split("?")[0] or 200)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet


@pytest.fixture
def receiver() -> Iterator[tuple[ThreadingHTTPServer, int]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.hits = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_json_webhook_receives_the_message_and_the_notification_id(receiver: tuple[ThreadingHTTPServer, int]) -> None:
    server, port = receiver
    webhook = AppriseChannel("webhook", "{address}", timeout=5)
    receipt = webhook.send(
        message(f"json://127.0.0.1:{port}/200", channel="webhook", subject="SLA 预警", body="工单 T-1001 即将到期")
    )

    assert receipt.status == "sent"
    [hit] = server.hits  # type: ignore[attr-defined]
    assert hit.payload["title"] == "SLA 预警"
    assert hit.payload["message"] == "工单 T-1001 即将到期"
    assert hit.payload["notification_id"] == "0b7e4f7e-2d4c-5d8e-9a51-3f0e2c7b9d21"
    assert hit.headers["X-Notification-Id"] == "0b7e4f7e-2d4c-5d8e-9a51-3f0e2c7b9d21"


def test_a_plain_http_webhook_address_is_posted_as_json(receiver: tuple[ThreadingHTTPServer, int]) -> None:
    server, port = receiver
    AppriseChannel("webhook", "{address}", timeout=5).send(message(f"http://127.0.0.1:{port}/200", channel="webhook"))
    assert server.hits[0].payload["message"] == "Body"  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [500, 503, 429, 408])
def test_a_receiver_that_fails_or_asks_to_slow_down_is_a_transient_failure(
    receiver: tuple[ThreadingHTTPServer, int], status: int
) -> None:
    _, port = receiver
    with pytest.raises(TransientFailure, match=f"HTTP {status}"):
        AppriseChannel("webhook", "{address}", timeout=5).send(
            message(f"json://127.0.0.1:{port}/{status}", channel="webhook")
        )


@pytest.mark.parametrize("status", [400, 404, 410])
def test_a_receiver_that_refuses_the_request_is_a_permanent_failure(
    receiver: tuple[ThreadingHTTPServer, int], status: int
) -> None:
    _, port = receiver
    with pytest.raises(PermanentFailure, match=f"HTTP {status}"):
        AppriseChannel("webhook", "{address}", timeout=5).send(
            message(f"json://127.0.0.1:{port}/{status}", channel="webhook")
        )


def test_a_webhook_on_a_closed_port_is_a_transient_failure() -> None:
    port = free_port()
    with pytest.raises(TransientFailure):
        AppriseChannel("webhook", "{address}", timeout=2).send(
            message(f"json://127.0.0.1:{port}/200", channel="webhook")
        )


def test_an_address_apprise_cannot_use_is_a_permanent_failure() -> None:
    chat = AppriseChannel("chat", "{address}")
    for bad in ("no-scheme-at-all", "nosuchservice://x", ""):
        with pytest.raises(PermanentFailure):
            chat.send(message(bad, channel="chat"))


def test_an_sms_channel_without_a_provider_fails_permanently_and_says_so() -> None:
    with pytest.raises(PermanentFailure, match="not configured"):
        AppriseChannel("sms", "").send(message("+4915112345678", channel="sms"))


def test_a_number_is_escaped_into_the_provider_url(receiver: tuple[ThreadingHTTPServer, int]) -> None:
    server, port = receiver
    sms = AppriseChannel("sms", f"json://127.0.0.1:{port}/200?:to={{address}}", timeout=5)
    # A "/" or "?" in a number cannot change the provider URL.
    assert sms.url_for(message("+49 151/123?x", channel="sms")).endswith(":to=+49%20151%2F123%3Fx")
    sms.send(message("+4915112345678", channel="sms"))
    assert server.hits[0].payload["to"] == "+4915112345678"  # type: ignore[attr-defined]


# ---- wiring from configuration


def test_build_channels_from_plain_settings() -> None:
    channels = build_channels(smtp_host="127.0.0.1", smtp_port=2525, smtp_sender="noreply@switchboard.example")
    assert set(channels) == {"email", "sms", "chat", "webhook"}
    assert isinstance(channels["email"], SmtpChannel)
    assert channels["email"].port == 2525


def test_build_channels_from_a_config_object_with_keywords_winning() -> None:
    @dataclass
    class Config:
        smtp_host: str = "mail.example"
        smtp_port: int = 587
        smtp_sender: str = "Switchboard <noreply@switchboard.example>"
        sms_url_template: str = "json://sms-gateway.example/send?:to={address}"

    channels = build_channels(Config(), smtp_port=2525)
    assert channels["email"].host == "mail.example"  # type: ignore[attr-defined]
    assert channels["email"].port == 2525  # type: ignore[attr-defined]
    assert channels["sms"].url_template == "json://sms-gateway.example/send?:to={address}"  # type: ignore[attr-defined]


def test_a_bad_channel_setting_fails_at_start_up() -> None:
    with pytest.raises(ValueError, match="scheme"):
        build_channels(sms_url_template="carrierpigeon://{address}")
    with pytest.raises(ValueError, match=r"\{address\}"):
        build_channels(sms_url_template="json://gateway.example/send")
    with pytest.raises(ValueError, match="sender"):
        build_channels(smtp_sender="nobody")
    with pytest.raises(TypeError, match="smtp_hots"):
        build_channels(smtp_hots="typo")
