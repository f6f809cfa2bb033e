"""The SMTP channel keeps a connection per sending thread: many messages, one session, and a connection the
server closed, or one that failed, is replaced before the next message instead of failing it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.notifications.channels import Message, PermanentFailure, SmtpChannel, smtp
from tests.unit.services.notifications.test_channels import free_port, message


@dataclass
class Sessions:
    """Accepts everything except nobody@, and notes the client port each message came in on: one per connection."""

    peers: list[object] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self.lock:
            self.peers.append(session.peer)
        return "250 Message accepted for delivery"

    def connections(self) -> int:
        with self.lock:
            return len(set(self.peers))


def serve(idle_timeout: float = 300) -> Iterator[tuple[Sessions, int]]:
    sessions, port = Sessions(), free_port()
    # timeout: the server closes a connection idle this long, as real servers do (Postfix: 300 s).
    controller = Controller(sessions, hostname="127.0.0.1", port=port, timeout=idle_timeout)
    controller.start()
    try:
        yield sessions, port
    finally:
        controller.stop()


@pytest.fixture
def server() -> Iterator[tuple[Sessions, int]]:
    yield from serve()


@pytest.fixture
def impatient_server() -> Iterator[tuple[Sessions, int]]:
    yield from serve(idle_timeout=0.3)


def email(port: int) -> SmtpChannel:
    return SmtpChannel("127.0.0.1", port, "noreply@switchboard.example", timeout=5)


def numbered(n: int) -> Message:
    return message(f"customer{n}@example.com")


def test_messages_from_one_thread_share_one_connection(server: tuple[Sessions, int]) -> None:
    sessions, port = server
    channel = email(port)

    for n in range(5):
        assert channel.send(numbered(n)).status == "sent"

    assert len(sessions.peers) == 5
    assert sessions.connections() == 1
    channel.close()


def test_a_connection_the_server_closed_while_idle_is_replaced_and_the_message_goes_out(
    impatient_server: tuple[Sessions, int],
) -> None:
    sessions, port = impatient_server
    channel = email(port)
    channel.send(numbered(1))

    time.sleep(0.8)  # the server hangs up on the idle connection
    receipt = channel.send(numbered(2))

    assert receipt.status == "sent"
    assert len(sessions.peers) == 2
    assert sessions.connections() == 2
    channel.close()


def test_after_a_failure_the_next_message_starts_on_a_fresh_connection(server: tuple[Sessions, int]) -> None:
    sessions, port = server
    channel = email(port)
    channel.send(numbered(1))

    with pytest.raises(PermanentFailure, match="550"):
        channel.send(message("nobody@example.com"))
    channel.send(numbered(2))

    assert len(sessions.peers) == 2
    assert sessions.connections() == 2
    channel.close()


def test_a_connection_is_renewed_after_its_share_of_messages(
    server: tuple[Sessions, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions, port = server
    monkeypatch.setattr(smtp, "MESSAGES_PER_CONNECTION", 2)
    channel = email(port)

    for n in range(5):
        channel.send(numbered(n))

    assert sessions.connections() == 3  # 2 + 2 + 1
    channel.close()


def test_each_sending_thread_has_its_own_connection(server: tuple[Sessions, int]) -> None:
    sessions, port = server
    channel = email(port)
    barrier = threading.Barrier(3)

    def send_three(first: int) -> None:
        barrier.wait()
        for n in range(first, first + 3):
            channel.send(numbered(n))

    threads = [threading.Thread(target=send_three, args=(10 * t,)) for t in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(sessions.peers) == 9
    assert sessions.connections() == 3
    channel.close()


def test_a_closed_channel_connects_again_when_used(server: tuple[Sessions, int]) -> None:
    sessions, port = server
    channel = email(port)
    channel.send(numbered(1))

    channel.close()
    channel.send(numbered(2))

    assert sessions.connections() == 2
    channel.close()
