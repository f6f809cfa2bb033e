"""The deliverer: sends due notifications, retries transient failures, fails critical ones over, and
dead-letters what cannot be sent.

It runs in the relay role (ServiceDefinition.loops). Each pass claims a batch of due notifications in
one short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, so deliverers in several processes share
the work and never take the same row) and splits it among a few threads. Each thread sends its share
outside any transaction, then writes those outcomes together in one transaction, each under the claim:
a deliverer that stalled past its claim cannot overwrite what another did since. One commit per share
rather than per outcome is most of what the deliverer costs the database; should that transaction fail,
the outcomes are written one by one, so one bad row cannot take the others' with it. Should a process
die between the send and the outcome, the claim runs out and the message is sent again with the same
notification id (an email's Message-ID derives from it), so the recipient's side can recognise it.

Messages held for a digest go out together: one message for all of a recipient's held items.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from services.notifications import config as configuration
from services.notifications.channels import build_channels
from services.notifications.channels.base import Channel, Message, PermanentFailure, Receipt, TransientFailure
from services.notifications.domain import preferences as policy
from services.notifications.domain import templates as texts
from services.notifications.domain.delivery import FAILED, QUEUED, SENT, after_failure, retry_delay
from services.notifications.domain.ids import notification_id
from services.notifications.domain.notifications import Notification
from services.notifications.domain.recipients import Recipient, failover_order, reach
from services.notifications.service import signals as wakeups
from services.notifications.service.planning import record
from services.notifications.store.ledger import Feed, Ledger
from services.notifications.store.preferences import PreferenceStore
from services.notifications.store.recipients import RecipientStore
from services.notifications.store.templates import TemplateStore
from switchboard import context, signals
from switchboard.composition import Runtime
from switchboard.db.types import utcnow
from switchboard.db.uow import UnitOfWork
from switchboard.errors import InvalidArgument
from switchboard.ids import new_id

log = structlog.get_logger("notifications.deliverer")

# Looks at the ledger at least this often when nothing wakes it (a lost signal, a deferred item falling due).
IDLE_SECONDS = 5.0


@dataclass(frozen=True)
class Unit:
    """One send: a notification, or a digest of several sent as the first one's message."""

    members: tuple[Notification, ...]
    message: Message
    # The pass that holds the members: their outcome is written only under it.
    claim: str


@dataclass(frozen=True)
class Attempt:
    unit: Unit
    receipt: Receipt | None = None
    error: str = ""
    permanent: bool = False


class Deliverer:
    def __init__(
        self,
        runtime: Runtime,
        *,
        channels: Mapping[str, Channel] | None = None,
        config: configuration.NotificationsConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.runtime = runtime
        self.config = config or configuration.load()
        if channels is None:
            channels = build_channels(self.config)
        self.channels = dict(channels)
        self.clock, self.rand = clock, rand
        self.wake = threading.Event()
        # SQLite serialises writers: more threads would only queue on its lock.
        threads = 1 if runtime.db.is_sqlite else self.config.deliverer_threads
        self.threads = threads
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="notifications-deliver")

    # The loop -----------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        unsubscribe = signals.subscribe(self.runtime.db, wakeups.DUE_CHANNEL, lambda _: self.wake.set())
        log.info("deliverer.started", channels=sorted(self.channels))
        backoff = 0.5
        try:
            while not stop.is_set():
                self.wake.clear()
                try:
                    handled = self.step()
                    backoff = 0.5
                except Exception as exc:
                    log.warning("deliverer.error", error=repr(exc))
                    stop.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if not handled:
                    self.wake.wait(self._idle_seconds())
        finally:
            unsubscribe()
            self.pool.shutdown(wait=True)
            for channel in self.channels.values():
                close = getattr(channel, "close", None)  # a channel that keeps connections open (SMTP)
                if callable(close):
                    close()
            log.info("deliverer.stopped")

    def stop(self) -> None:
        self.wake.set()

    def _idle_seconds(self) -> float:
        with self.runtime.reader() as uow:
            due = Ledger(uow.session).next_due()
        if due is None:
            return IDLE_SECONDS
        return min(IDLE_SECONDS, max(0.01, (due - self.clock()).total_seconds()))

    # One pass -----------------------------------------------------------------------------------

    def step(self) -> int:
        """Claim what is due, send it, write down how it went; returns how many notifications were handled."""
        units = self._claim()
        if not units:
            return 0
        work = context.WorkContext(
            correlation_id=new_id(), causation_id="deliverer", caller=context.SYSTEM, deadline=None
        )

        def attempt_and_record(share: list[Unit]) -> None:
            with context.working(work):
                self._record_all([self._attempt(unit) for unit in share])

        # Dealt round-robin: each thread gets as many sends as the others, and one transaction for them.
        shares = [units[i :: self.threads] for i in range(min(self.threads, len(units)))]
        for future in [self.pool.submit(attempt_and_record, share) for share in shares]:
            future.result()
        return sum(len(u.members) for u in units)

    def _claim(self) -> list[Unit]:
        now, claim = self.clock(), new_id()
        hold = now + timedelta(seconds=self.config.claim_seconds)
        with self.runtime.uow() as uow:
            ledger = Ledger(uow.session)
            claimed = ledger.claim_due(now, limit=self.config.deliverer_batch, claim=claim, hold_until=hold)
            units, digests = [], set()
            for n in claimed:
                if not n.digest:
                    units.append(Unit((n,), _message(n), claim))
                elif (n.recipient_id, n.channel) not in digests:
                    digests.add((n.recipient_id, n.channel))
                    members = ledger.claim_digest(n.recipient_id, n.channel, now, claim=claim, hold_until=hold)
                    units.append(self._digest(uow, members, claim))
            uow.commit()  # the claims only: no events
        return units

    def _digest(self, uow: UnitOfWork, members: list[Notification], claim: str) -> Unit:
        first = members[0]
        recipient = RecipientStore(uow.session).get(first.recipient_id) or Recipient(first.recipient_id)
        template = texts.choose(
            TemplateStore(uow.session).for_key(texts.DIGEST_KEY), texts.DIGEST_KEY, recipient.locale
        )
        items = [
            {"subject": m.subject, "body": m.body, "at": m.created_at, "category": m.category, "priority": m.priority}
            for m in members
        ]
        subject, body = f"{len(members)} updates", "\n".join(f"- {m.subject or m.body}" for m in members)
        if template is not None:
            context = texts.digest_context(items, recipient={"id": recipient.recipient_id, "name": recipient.name})
            try:
                rendered = texts.render(template, context, time_zone=recipient.time_zone or "UTC")
                subject, body = rendered.subject, rendered.body
            except InvalidArgument as problem:
                # The digest still goes out, plainly: the messages in it matter more than its wording.
                log.error("deliverer.digest_template_failed", recipient_id=recipient.recipient_id, error=str(problem))
        return Unit(tuple(members), replace(_message(first), subject=subject, body=body), claim)

    def _attempt(self, unit: Unit) -> Attempt:
        channel_name = unit.message.channel
        if channel_name == "console":
            return Attempt(unit, Receipt("sent", provider_ref="feed"))
        channel = self.channels.get(channel_name)
        if channel is None:
            return Attempt(unit, error=f"channel {channel_name} is not configured", permanent=True)
        try:
            return Attempt(unit, channel.send(unit.message))
        except PermanentFailure as failure:
            return Attempt(unit, error=failure.detail, permanent=True)
        except TransientFailure as failure:
            return Attempt(unit, error=failure.detail)
        except Exception as exc:  # an adapter's bug must not stop the loop; retrying is the safe reading
            log.exception("deliverer.channel_error", channel=channel_name)
            return Attempt(unit, error=f"unexpected error in the {channel_name} channel: {exc!r}")

    def _record_all(self, attempts: list[Attempt]) -> None:
        """The outcomes of one share in one transaction; one by one should that fail."""
        try:
            with self.runtime.uow() as uow:
                for attempt in attempts:
                    self._write(uow, attempt, self.clock())
                uow.commit()
        except Exception as exc:
            if len(attempts) == 1:
                raise
            log.warning("deliverer.batch_record_failed", outcomes=len(attempts), error=repr(exc))
            failure: Exception | None = None
            for attempt in attempts:
                try:
                    self._record(attempt)
                except Exception as one:  # the others still get written; the loop hears of it after
                    failure = failure or one
            if failure is not None:
                raise failure from exc
            return
        for attempt in attempts:
            self._log(attempt)

    def _record(self, attempt: Attempt) -> None:
        with self.runtime.uow() as uow:
            self._write(uow, attempt, self.clock())
            uow.commit()
        self._log(attempt)

    def _write(self, uow: UnitOfWork, attempt: Attempt, now: datetime) -> None:
        """One attempt's outcome, for each notification it sent, under its claim (in the caller's transaction)."""
        claim = attempt.unit.claim
        ledger = Ledger(uow.session)
        for n in attempt.unit.members:
            tried = replace(n, attempts=n.attempts + 1)
            if attempt.receipt is not None:
                status = attempt.receipt.status if attempt.receipt.status in (SENT, "delivered") else SENT
                reason = f"sent in a digest of {len(attempt.unit.members)}" if n.digest else attempt.receipt.detail
                if not ledger.finish(
                    n.notification_id,
                    claim,
                    now,
                    status=status,
                    attempts=tried.attempts,
                    next_attempt_at=None,
                    reason=reason,
                    provider_ref=attempt.receipt.provider_ref,
                ):
                    continue
                if n.channel == "console":
                    Feed(uow.session).add(n, now)
                    wakeups.feed_grew(uow, n.recipient_id)
                wakeups.status_changed(uow, tried, status, now, reason=reason)
            else:
                self._failed(uow, tried, attempt, now, claim)
        first = attempt.unit.members[0]
        if first.digest and attempt.receipt is not None:
            ledger.record_digest(first.recipient_id, "*", now)

    def _log(self, attempt: Attempt) -> None:
        if attempt.receipt is not None:
            log.debug("notification.sent", notification_id=attempt.unit.message.notification_id)
        else:
            log.info(
                "notification.attempt_failed",
                notification_id=attempt.unit.message.notification_id,
                channel=attempt.unit.message.channel,
                error=attempt.error,
                permanent=attempt.permanent,
            )

    def _failed(self, uow: UnitOfWork, n: Notification, attempt: Attempt, now: datetime, claim: str) -> None:
        ledger = Ledger(uow.session)
        target = self._failover_target(uow, n) if n.priority == "critical" else None
        outcome = after_failure(
            error=attempt.error,
            permanent=attempt.permanent,
            attempts=n.attempts,
            max_attempts=self.config.max_attempts,
            priority=n.priority,
            failover_to=target[0] if target else None,
            now=now,
            delay=retry_delay(n.attempts, self.config.retry_schedule, self.config.retry_jitter, self.rand),
        )
        if outcome.action == "retry":
            if ledger.finish(
                n.notification_id,
                claim,
                now,
                attempts=n.attempts,
                next_attempt_at=outcome.retry_at,
                reason=outcome.reason,
            ):
                wakeups.status_changed(uow, n, QUEUED, now, reason=outcome.reason)
            return
        if not ledger.finish(
            n.notification_id,
            claim,
            now,
            status=FAILED,
            attempts=n.attempts,
            next_attempt_at=None,
            reason=outcome.reason,
        ):
            return
        wakeups.status_changed(uow, n, FAILED, now, reason=outcome.reason)
        if target is not None:
            channel, address = target
            record(
                uow,
                replace(
                    n,
                    notification_id=notification_id(n.trigger_event_id, n.recipient_id, channel),
                    channel=channel,
                    address=address,
                    status=SENT if channel == "console" else QUEUED,
                    attempts=0,
                    next_attempt_at=None if channel == "console" else now,
                    reason=f"failover from {n.channel}",
                    failover_of=n.notification_id,
                    digest=False,
                    provider_ref="",
                ),
                now,
            )

    def _failover_target(self, uow: UnitOfWork, n: Notification) -> tuple[str, str] | None:
        """The recipient's next channel that reaches them and this trigger has not used yet."""
        recipient = RecipientStore(uow.session).get(n.recipient_id) or Recipient(n.recipient_id)
        prefs = PreferenceStore(uow.session).get(n.recipient_id)
        used = {m.channel for m in Ledger(uow.session).for_trigger(n.trigger_event_id, n.recipient_id)}
        for channel in failover_order(policy.channels_for(prefs, n.category, ())):
            if channel in used or (channel != "console" and channel not in self.channels):
                continue
            address = reach(recipient, channel).address
            if address:
                return channel, address
        return None


def _message(n: Notification) -> Message:
    return Message(
        notification_id=n.notification_id,
        channel=n.channel,
        address=n.address,
        subject=n.subject,
        body=n.body,
        locale=n.locale,
    )
