"""Email over SMTP with the standard library: a connection kept per sending thread, failures sorted by
SMTP's own rules.

SMTP says itself what is final: a 5yz reply is a permanent negative completion, 4yz a transient one (RFC 5321
§4.2.1). So the reply code decides, with two exceptions where retrying is what mail servers do:
- a refused login (535 and friends) is our configuration, not the recipient's fault; like Postfix's
  ``smtp_sasl_auth_soft_bounce`` (on by default) we treat it as transient so mail flows again once it is fixed;
- a dropped connection, a refused connect, a timeout or a TLS error carry no verdict at all: transient.

Each deliverer thread keeps its connection for the next message (connect, greeting, EHLO, STARTTLS and
login are most of a message's cost, for us and for the server) and checks it with a NOOP before reuse: a
connection the server closed while idle is replaced before anything is sent on it. Any failure closes the
connection, so the next message starts afresh; after MESSAGES_PER_CONNECTION the connection is closed
politely, as servers limit messages per session. A reused connection changes nothing in what is judged
transient or permanent: a message goes out on a connection that answered just now, or not at all.

The Message-ID is derived from the notification id, so a retry of a message the server did accept (the
connection died after DATA) is recognisable as the same mail by the receiving side and by support staff.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
import uuid
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from services.notifications.channels.base import Message, PermanentFailure, Receipt, TransientFailure

_EMAIL_NAMESPACE = uuid.UUID("5b1c9f3e-7d0a-4c51-9a51-3f0e2c7b9d21")
# Messages sent on one connection before it is closed and a new one opened (Exchange allows 100 by default).
MESSAGES_PER_CONNECTION = 100
_QUIT_SECONDS = 2.0


@dataclass
class _Session:
    smtp: smtplib.SMTP
    sent: int = 0


class SmtpChannel:
    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10,
        implicit_tls: bool = False,
        local_hostname: str | None = None,
    ) -> None:
        display, address = parseaddr(sender)
        if "@" not in address:
            raise ValueError(f"SMTP sender {sender!r} has no usable address")
        self.host, self.port = host, port
        self.sender = sender
        self._sender_address = address
        self._domain = address.rsplit("@", 1)[1]
        self._starttls, self._implicit_tls = starttls, implicit_tls
        self._username, self._password = username, password
        self._timeout = timeout
        self._local_hostname = local_hostname
        self._display = display
        self._local = threading.local()  # this thread's _Session, if it has one open
        self._open: set[smtplib.SMTP] = set()  # every thread's, so close() can end them all
        self._lock = threading.Lock()

    def message_id(self, notification_id: str) -> str:
        """``<notification-id@sender-domain>``: the same on every retry of one notification."""
        local = (
            notification_id if _safe_local_part(notification_id) else str(uuid.uuid5(_EMAIL_NAMESPACE, notification_id))
        )
        return f"<{local}@{self._domain}>"

    def compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage()  # policy.default: RFC 2047-encodes a Chinese subject, UTF-8 body
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = self.message_id(message.notification_id)
        # RFC 3834: machine-sent; well-behaved auto-responders (out-of-office) then stay silent.
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.body, charset="utf-8")
        if message.locale:  # after set_content, which replaces every Content-* header
            mail["Content-Language"] = message.locale
        return mail

    def send(self, message: Message) -> Receipt:
        recipient = _recipient(message.address)
        try:
            mail = self.compose(message)
        except (ValueError, TypeError) as exc:  # header injection, malformed address syntax
            raise PermanentFailure(f"cannot compose the email to {message.address!r}: {exc}") from exc
        try:
            refused = self._transmit(mail, recipient)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (550, b"recipient refused"))
            raise _by_code(code, text, f"recipient {recipient} refused") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise TransientFailure(
                f"SMTP login refused ({exc.smtp_code} {_text(exc.smtp_error)}); check the SMTP credentials"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            # The server lacks what this message needs (SMTPUTF8 for a non-ASCII address, STARTTLS): retrying
            # the same server cannot help.
            raise PermanentFailure(f"SMTP server does not support what this message needs: {exc}") from exc
        except smtplib.SMTPResponseException as exc:  # sender refused, DATA refused, 421 closing, ...
            raise _by_code(exc.smtp_code, exc.smtp_error, "SMTP server refused the message") from exc
        except (smtplib.SMTPException, OSError) as exc:  # disconnects, refused connects, timeouts, TLS errors
            raise TransientFailure(
                f"SMTP server {self.host}:{self.port} unreachable: {exc or type(exc).__name__}"
            ) from exc
        if refused:  # only with several recipients; kept for completeness
            code, text = next(iter(refused.values()))
            raise _by_code(code, text, f"recipient {recipient} refused")
        return Receipt("sent", provider_ref=mail["Message-ID"], detail=f"accepted by {self.host}:{self.port}")

    def close(self) -> None:
        """Close every thread's connection (the deliverer stops)."""
        with self._lock:
            sessions, self._open = list(self._open), set()
        for smtp in sessions:
            _quit(smtp)
        self._local.session = None

    def _transmit(self, mail: EmailMessage, recipient: str) -> dict[str, tuple[int, bytes]]:
        session = self._session()
        try:
            refused = session.smtp.send_message(mail, from_addr=self._sender_address, to_addrs=[recipient])
        except BaseException:
            # Whatever went wrong, the next message starts on a fresh connection; this one is not worth a QUIT
            # (after a timeout that would be one more wait).
            self._drop(session, polite=False)
            raise
        session.sent += 1
        if session.sent >= MESSAGES_PER_CONNECTION:
            self._drop(session)
        return refused

    def _session(self) -> _Session:
        """This thread's connection: the open one if the server still answers on it, else a new one."""
        session: _Session | None = getattr(self._local, "session", None)
        if session is not None:
            if _answers(session.smtp):
                return session
            self._drop(session, polite=False)
        smtp = self._connect()
        try:
            if self._starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self._username:
                smtp.login(self._username, self._password or "")
        except BaseException:
            smtp.close()
            raise
        session = _Session(smtp)
        with self._lock:
            self._open.add(smtp)
        self._local.session = session
        return session

    def _drop(self, session: _Session, *, polite: bool = True) -> None:
        with self._lock:
            self._open.discard(session.smtp)
        if getattr(self._local, "session", None) is session:
            self._local.session = None
        if polite:
            _quit(session.smtp)
        else:
            session.smtp.close()

    def _connect(self) -> smtplib.SMTP:
        if self._local_hostname is None:
            # Looked up once: smtplib would ask the resolver for our FQDN on every connection.
            self._local_hostname = socket.getfqdn()
        if self._implicit_tls:
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self._local_hostname,
                timeout=self._timeout,
                context=ssl.create_default_context(),
            )
        return smtplib.SMTP(self.host, self.port, local_hostname=self._local_hostname, timeout=self._timeout)


def _answers(smtp: smtplib.SMTP) -> bool:
    """A NOOP round trip: the server has not closed this connection while it sat idle."""
    try:
        return smtp.noop()[0] == 250
    except (smtplib.SMTPException, OSError):
        return False


def _quit(smtp: smtplib.SMTP) -> None:
    """QUIT if the server still listens, then close; a connection that is already gone just closes."""
    try:
        if smtp.sock is not None:
            smtp.sock.settimeout(_QUIT_SECONDS)  # a server that does not answer QUIT must not hold us up
            smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


def _recipient(address: str) -> str:
    _, parsed = parseaddr(address)
    if not parsed or "@" not in parsed or parsed.startswith("@") or parsed.endswith("@"):
        raise PermanentFailure(f"not an email address: {address!r}")
    try:
        Address(addr_spec=parsed)
    except (ValueError, IndexError) as exc:
        raise PermanentFailure(f"not an email address: {address!r} ({exc})") from exc
    return parsed


def _by_code(code: int, text: bytes | str, what: str) -> TransientFailure | PermanentFailure:
    detail = f"{what}: {code} {_text(text)}"
    return PermanentFailure(detail) if 500 <= code < 600 else TransientFailure(detail)


def _text(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _safe_local_part(value: str) -> bool:
    return bool(value) and len(value) <= 64 and all(c.isascii() and (c.isalnum() or c in "-._") for c in value)
