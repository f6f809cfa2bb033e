"""Real receivers on loopback for what notifications sends: an SMTP server (aiosmtpd) and an HTTP server
that takes webhook and Apprise json:// posts. The integration tests and the benchmark both use them."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]
    subject: str
    body: str
    message_id: str
    at: float


@dataclass
class Mailbox:
    """What the SMTP server accepted, as the recipients' mail servers would have."""

    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        mail = Mail(
            to=tuple(envelope.rcpt_tos),
            subject=str(parsed["Subject"] or ""),
            body=body.get_content() if body is not None else "",
            message_id=str(parsed["Message-ID"] or ""),
            at=time.monotonic(),
        )
        with self.lock:
            self.mails.append(mail)
        return "250 OK"

    def to(self, address: str) -> list[Mail]:
        with self.lock:
            return [m for m in self.mails if address in m.to]

    def count(self) -> int:
        with self.lock:
            return len(self.mails)


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float


@dataclass
class Inbox:
    posts: list[Post] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, prefix: str) -> list[Post]:
        with self.lock:
            return [p for p in self.posts if p.path.startswith(prefix)]

    def count(self) -> int:
        with self.lock:
            return len(self.posts)


@contextmanager
def http_receiver() -> Iterator[tuple[Inbox, int]]:
    """Answers every POST with 200 and keeps it."""
    inbox = Inbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                body = {"raw": raw.decode(errors="replace")}
            with inbox.lock:
                inbox.posts.append(Post(self.path, dict(self.headers), body, time.monotonic()))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield inbox, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
