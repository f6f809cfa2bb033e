"""SMS, chat apps and webhooks through Apprise, with failures sorted into transient and permanent.

Apprise's ``notify()`` is true or false at heart, but since 2.x it returns an ``AppriseResult`` that keeps, per
attempt, the log lines the plugin wrote. Apprise's HTTP plugins (154 of its 166 that speak HTTP, the JSON,
form and XML webhooks among them) report a refused request in one shape: "Failed to send ...: Bad Request,
error=400." and a network problem as "A Connection error occurred ...". So the channel:
- reads the HTTP status from those lines: 4xx is permanent, except 408 (timeout), 425 (too early) and 429 (rate
  limited), which like 5xx are transient;
- treats a failure without a status (connection refused, DNS, TLS, a plugin that words it differently) and an
  Apprise TIMEOUT as transient: retrying a message that could have gone is cheap, dropping one is not;
- refuses, as permanent, an address that does not make a usable Apprise URL (checked before anything is sent)
  and an SMS channel with no provider configured.
Parsing a log line is a contract with Apprise's wording, not its API; the test suite pins it with a real HTTP
receiver answering 400 and 500, so an Apprise upgrade that changes the wording fails the tests, not production
(and until then degrades safely: everything becomes transient).

Webhook deliveries carry the notification id (JSON field ``notification_id`` and header ``X-Notification-Id``)
so a receiver can drop the duplicate a retry after a lost response produces.
"""

from __future__ import annotations

import re
import threading
import warnings
from urllib.parse import quote

from apprise import Apprise, AppriseResult, AppriseResultStatus, NotifyFormat, NotifyType
from apprise.manager_plugins import NotificationManager

from services.notifications.channels.base import Message, PermanentFailure, Receipt, TransientFailure

ADDRESS = "{address}"
_HTTP_STATUS = re.compile(r"\berror=(\d{3})\b")
_RETRYABLE_4XX = frozenset({408, 425, 429})
# Webhook schemes whose payload and headers Apprise lets us extend (":key=value" payload, "+Header=value").
_WEBHOOK_SCHEMES = frozenset({"json", "jsons", "form", "forms", "xml", "xmls"})
_PLAIN_HTTP = {"http": "json", "https": "jsons"}


class AppriseChannel:
    def __init__(self, name: str, url_template: str, *, timeout: float = 10.0) -> None:
        """``url_template``: an Apprise URL with ``{address}`` for the recipient's number or handle, or just
        ``{address}`` when each recipient's address is a complete Apprise URL (webhooks, chat apps). Empty: the
        channel is not configured and every send fails permanently, saying so."""
        if url_template and ADDRESS not in url_template:
            raise ValueError(f"{name}: the Apprise URL template needs {ADDRESS} for the recipient")
        if url_template and url_template != ADDRESS:
            scheme = _scheme(url_template)
            if scheme not in _plugins():
                raise ValueError(f"{name}: Apprise does not know the URL scheme {scheme!r}")
        self.name = name
        self.url_template = url_template
        self._timeout = timeout

    def url_for(self, message: Message) -> str:
        address = message.address.strip()
        if not address:
            raise PermanentFailure(f"{self.name}: the recipient has no address for this channel")
        if self.url_template == ADDRESS:
            scheme = _scheme(address)
            if scheme in _PLAIN_HTTP:  # a plain https:// webhook is a JSON POST
                address = _PLAIN_HTTP[scheme] + address[len(scheme) :]
            return _with_notification_id(address, message.notification_id)
        # A number or handle goes into the provider's URL: escaped, so a "/" or "?" in it cannot change the URL.
        return self.url_template.replace(ADDRESS, quote(address, safe="+@.-_~"))

    def send(self, message: Message) -> Receipt:
        if not self.url_template:
            raise PermanentFailure(f"{self.name} is not configured on this installation")
        if not message.body.strip():
            raise PermanentFailure(f"{self.name}: nothing to send, the message body is empty")
        url = self.url_for(message)
        _plugins()  # loaded before Apprise looks a scheme up
        service = Apprise.instantiate(url)
        if service is None:
            # Not the address itself: a chat or webhook URL can hold a token, and this goes to the ledger.
            kind = f"a {_scheme(url)}:// URL" if _scheme(url) else "no URL"
            raise PermanentFailure(f"{self.name}: the recipient's address ({kind}) is not a usable Apprise URL")
        service.socket_connect_timeout = self._timeout
        service.socket_read_timeout = self._timeout
        where = str(service.url(privacy=True))  # type: ignore[no-untyped-call]  # secrets masked: goes to the ledger
        sender = Apprise()
        sender.add(service)
        result = sender.notify(
            body=message.body, title=message.subject, notify_type=NotifyType.INFO, body_format=NotifyFormat.TEXT
        )
        with result:
            return _outcome(result, where)


def _outcome(result: AppriseResult, where: str) -> Receipt:
    if result:
        return Receipt("sent", detail=f"accepted by {where}")
    if result.status == AppriseResultStatus.TIMEOUT:
        raise TransientFailure(f"{where} did not answer in time")
    lines = [entry.message for entry in result.logs()]
    statuses = [int(m.group(1)) for line in lines for m in _HTTP_STATUS.finditer(line)]
    said = lines[-1] if lines else "no reason given"
    if statuses:
        status = statuses[-1]
        if 400 <= status < 500 and status not in _RETRYABLE_4XX:
            raise PermanentFailure(f"{where} refused the message (HTTP {status}): {said}")
        raise TransientFailure(f"{where} failed (HTTP {status}): {said}")
    raise TransientFailure(f"{where} failed: {said}")


def _with_notification_id(url: str, notification_id: str) -> str:
    if _scheme(url) not in _WEBHOOK_SCHEMES or not notification_id:
        return url
    separator = "&" if "?" in url else "?"
    value = quote(notification_id, safe="")
    return f"{url}{separator}:notification_id={value}&+X-Notification-Id={value}"


def _plugins() -> NotificationManager:
    """Apprise's plugin registry (a singleton), its plugins loaded once under a lock."""
    with _LOADING:
        manager = NotificationManager()  # type: ignore[no-untyped-call]
        if not _LOADED:
            with warnings.catch_warnings():
                # Apprise's email plugin imports the standard library's imghdr (for pgpy), which warns on Python
                # 3.11-3.12 that it goes away in 3.13; Apprise ships its own shim for then. Not ours to fix, and
                # harmless: silence exactly that warning while the plugins load.
                warnings.filterwarnings("ignore", message="'imghdr' is deprecated", category=DeprecationWarning)
                manager.load_modules()  # type: ignore[no-untyped-call]
            _LOADED.append(True)
        return manager


_LOADING = threading.Lock()
_LOADED: list[bool] = []


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""
